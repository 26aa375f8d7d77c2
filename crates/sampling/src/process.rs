//! Path inputs: a process walked over its drawn standard normal steps, in place.
//!
//! A path's steps are ordinary columns of the row (each with its own stream and its part of the
//! sampling plan); once a row is drawn, [`Path::walk`] turns the `steps` normals `Z_1..Z_n` at
//! the path's columns into the values of the process at steps `1..n`.

use mcp_spec::Process;

/// One path input of a row.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    process: Process,
    /// The column of its first step.
    start: usize,
    /// How many steps.
    steps: usize,
}

impl Path {
    pub(crate) fn new(process: Process, start: usize, steps: u32) -> Path {
        Path {
            process,
            start,
            steps: steps as usize,
        }
    }

    /// Turns the path's normals in `row` into the path.
    pub(crate) fn walk(&self, row: &mut [f64]) {
        let steps = &mut row[self.start..self.start + self.steps];
        match self.process {
            // Exact in distribution at every step: the log of a GBM is a Brownian motion with
            // drift, summed in the log and exponentiated.
            Process::Gbm { s0, mu, sigma, dt } => {
                let drift = (mu - 0.5 * sigma * sigma) * dt;
                let vol = sigma * dt.sqrt();
                let mut log = s0.ln();
                for z in steps {
                    log += drift + vol * *z;
                    *z = log.exp();
                }
            }
            Process::Ar1 {
                x0,
                mean,
                phi,
                sigma,
            } => {
                let mut x = x0;
                for z in steps {
                    x = mean + phi * (x - mean) + sigma * *z;
                    *z = x;
                }
            }
        }
    }
}
