//! Path inputs: a stochastic process over `steps` time steps, given to the model as one vector
//! input of `steps` values.
//!
//! A process variable is a vector of independent standard normal increments (its `dist` is
//! normal(0, 1) and its `size` the step count, so every sampling plan and the common random
//! numbers apply to each step as to any variable); the process turns them into the path, step
//! by step (`mcp-sampling` does that).

use serde::{Deserialize, Serialize};

/// A process and its parameters (the step count is the variable's `size`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case")]
pub enum Process {
    /// Geometric Brownian motion sampled exactly at steps of `dt`:
    /// `S_k = S_{k-1} · exp((mu − sigma²/2) dt + sigma √dt Z_k)`, from `S_0 = s0`.
    Gbm {
        /// Value at time 0 (not part of the path), > 0.
        s0: f64,
        /// Drift per unit of time.
        mu: f64,
        /// Volatility per square root of time, > 0.
        sigma: f64,
        /// Length of one step, > 0.
        dt: f64,
    },
    /// First-order autoregression, mean-reverting when |phi| < 1:
    /// `X_k = mean + phi (X_{k-1} − mean) + sigma Z_k`, from `X_0 = x0`.
    Ar1 {
        /// Value at step 0 (not part of the path).
        x0: f64,
        /// The level it reverts to.
        mean: f64,
        /// How much of the distance to `mean` is kept each step, in [-1, 1].
        phi: f64,
        /// Standard deviation of one step's shock, > 0.
        sigma: f64,
    },
}

/// Every process name and its parameters (besides `steps`), as a spec writes them.
pub const PROCESSES: &[(&str, &[&str])] = &[
    ("gbm", &["s0", "mu", "sigma", "dt"]),
    ("ar1", &["x0", "mean", "phi", "sigma"]),
];

/// The parameters of process `name`, or `None` if there is no such process.
pub(crate) fn parameters(name: &str) -> Option<&'static [&'static str]> {
    PROCESSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, params)| *params)
}

impl Process {
    /// Builds process `name` from its parameters and checks their rules; the error names the
    /// parameter.
    pub(crate) fn build(
        name: &str,
        get: impl Fn(&str) -> f64,
    ) -> Result<Process, (&'static str, String)> {
        let positive = |param: &'static str| {
            let v = get(param);
            if v > 0.0 && v.is_finite() {
                Ok(v)
            } else {
                Err((param, format!("must be a finite number above 0 (got {v})")))
            }
        };
        let finite = |param: &'static str| {
            let v = get(param);
            if v.is_finite() {
                Ok(v)
            } else {
                Err((param, format!("must be a finite number (got {v})")))
            }
        };
        Ok(match name {
            "gbm" => Process::Gbm {
                s0: positive("s0")?,
                mu: finite("mu")?,
                sigma: positive("sigma")?,
                dt: positive("dt")?,
            },
            "ar1" => {
                let phi = finite("phi")?;
                if !(-1.0..=1.0).contains(&phi) {
                    return Err((
                        "phi",
                        format!(
                            "must lie in [-1, 1] (got {phi}): beyond that the path explodes; \
                             |phi| < 1 reverts to `mean`, phi = 1 is a random walk"
                        ),
                    ));
                }
                Process::Ar1 {
                    x0: finite("x0")?,
                    mean: finite("mean")?,
                    phi,
                    sigma: positive("sigma")?,
                }
            }
            other => unreachable!("unknown process `{other}` passed the parser"),
        })
    }

    /// Checks the parameters of a process that did not come from the parser.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let (name, values): (_, &[(&str, f64)]) = match *self {
            Process::Gbm { s0, mu, sigma, dt } => (
                "gbm",
                &[("s0", s0), ("mu", mu), ("sigma", sigma), ("dt", dt)],
            ),
            Process::Ar1 {
                x0,
                mean,
                phi,
                sigma,
            } => (
                "ar1",
                &[("x0", x0), ("mean", mean), ("phi", phi), ("sigma", sigma)],
            ),
        };
        let get = |p: &str| {
            values
                .iter()
                .find(|(n, _)| *n == p)
                .map_or(f64::NAN, |v| v.1)
        };
        Process::build(name, get).map(|_| ())
    }

    /// The process's name as written in a spec.
    pub fn name(&self) -> &'static str {
        match self {
            Process::Gbm { .. } => "gbm",
            Process::Ar1 { .. } => "ar1",
        }
    }

    /// The mean and variance of step `k` (1-based) of the path: the analytic moments the
    /// tests check the generator against.
    pub fn moments(&self, k: u32) -> (f64, f64) {
        let k = f64::from(k);
        match *self {
            Process::Gbm { s0, mu, sigma, dt } => {
                let t = k * dt;
                let mean = s0 * (mu * t).exp();
                (mean, mean * mean * ((sigma * sigma * t).exp() - 1.0))
            }
            Process::Ar1 {
                x0,
                mean,
                phi,
                sigma,
            } => {
                let kept = phi.powf(k);
                // Σ_{j<k} phi^{2j}: k when |phi| = 1.
                let sum = if (phi * phi - 1.0).abs() < 1e-12 {
                    k
                } else {
                    (1.0 - kept * kept) / (1.0 - phi * phi)
                };
                (mean + kept * (x0 - mean), sigma * sigma * sum)
            }
        }
    }
}
