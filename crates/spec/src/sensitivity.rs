//! `[sensitivity]`: variance-based (Sobol) indices of every input, asked as `method = "sobol"`,
//! and the rules that make a job's scenarios a Saltelli design.
//!
//! The design has `N` rows of `d + 2` scenarios each, `d` the number of input groups (one per
//! variable: a vector input's elements move together), so `simulation.scenarios` must be a
//! multiple of `d + 2`, and so must `simulation.batch`, so that every batch holds whole rows and
//! its sums can be taken where it was evaluated. The estimators assume independent inputs, so
//! a spec with `[[correlation]]` groups is refused; and the two base samples are plain Monte
//! Carlo draws, so `simulation.sampling` must be `"mc"`.

use crate::{Sampling, Spec};
use serde::{Deserialize, Serialize};

/// How a job measures sensitivity: the `[sensitivity]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// The method: `"sobol"`, the only one so far.
    pub method: SensitivityMethod,
}

/// `method = "sobol"`: Saltelli's design with first-order and total indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitivityMethod {
    /// First-order (Saltelli 2010) and total (Jansen 1999) Sobol indices.
    Sobol,
}

impl Spec {
    /// Model runs per row of the Saltelli design (`d + 2`, `d` the spec's variables), when the
    /// spec asks for Sobol indices.
    pub fn saltelli_runs(&self) -> Option<u64> {
        self.sensitivity.map(|_| self.variables.len() as u64 + 2)
    }

    /// The rules a Saltelli design imposes on the rest of the spec, each broken one as
    /// (field, message saying the fix); empty when the spec asks for no indices.
    pub fn check_sensitivity(&self) -> Vec<(&'static str, String)> {
        let Some(runs) = self.saltelli_runs() else {
            return Vec::new();
        };
        let d = runs - 2;
        let sim = &self.simulation;
        let mut faults = Vec::new();
        if let Some(message) = design_count(sim.scenarios, runs, d) {
            faults.push(("simulation.scenarios", message));
        }
        let batch = u64::from(sim.batch);
        if !batch.is_multiple_of(runs) {
            let fix = nearest(batch, runs);
            faults.push((
                "simulation.batch",
                format!(
                    "must be a multiple of {runs} (the {d} inputs + 2 runs of one row of the \
                     Saltelli design) so that every batch holds whole rows (got {batch}); use \
                     {fix}"
                ),
            ));
        }
        if !self.correlations.is_empty() {
            faults.push((
                "correlation",
                "Sobol indices need independent inputs: with correlated inputs the first-order \
                 and total indices these estimators compute no longer split the variance; \
                 remove the [[correlation]] groups or the [sensitivity] table"
                    .to_string(),
            ));
        }
        if sim.sampling != Sampling::Mc {
            faults.push((
                "simulation.sampling",
                "the Saltelli design draws its two base samples by plain Monte Carlo; remove \
                 `sampling` or set it to \"mc\""
                    .to_string(),
            ));
        }
        faults
    }
}

/// Why `scenarios` is not a Saltelli design of rows of `runs`, naming the two nearest counts
/// that are; `None` when it is one.
pub(crate) fn design_count(scenarios: u64, runs: u64, d: u64) -> Option<String> {
    if scenarios.is_multiple_of(runs) {
        return None;
    }
    let below = scenarios / runs * runs;
    let above = below + runs;
    let choice = if below == 0 {
        format!("{above}")
    } else {
        format!("{below} or {above}")
    };
    Some(format!(
        "must be a multiple of {runs} for a Saltelli design (N rows of {d} inputs + 2 runs) \
         (got {scenarios}); use {choice}"
    ))
}

/// The multiple of `runs` nearest to `n`, at least `runs`.
fn nearest(n: u64, runs: u64) -> u64 {
    let below = n / runs * runs;
    if below == 0 || n - below > below + runs - n {
        below + runs
    } else {
        below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_rounded_to_whole_rows() {
        assert_eq!(nearest(1000, 5), 1000);
        assert_eq!(nearest(1024, 5), 1025);
        assert_eq!(nearest(1022, 5), 1020);
        assert_eq!(nearest(3, 5), 5);
        assert_eq!(design_count(10, 5, 3), None);
        assert_eq!(
            design_count(12, 5, 3).unwrap(),
            "must be a multiple of 5 for a Saltelli design (N rows of 3 inputs + 2 runs) (got \
             12); use 10 or 15"
        );
        assert!(design_count(3, 5, 3).unwrap().ends_with("use 5"));
    }

    /// Two variables: rows of 4 runs.
    fn spec() -> Spec {
        let text = "[simulation]\nscenarios = 400\nseed = 1\nbatch = 40\n[variables]\n\
                    x = { dist = \"uniform\", min = 0.0, max = 1.0 }\n\
                    y = { dist = \"uniform\", min = 0.0, max = 1.0 }\n\
                    [sensitivity]\nmethod = \"sobol\"\n";
        Spec::parse(text, "vars.toml").unwrap()
    }

    #[test]
    fn a_spec_changed_after_parsing_is_checked_too() {
        let s = spec();
        assert_eq!(s.saltelli_runs(), Some(4));
        assert_eq!(s.validate(), Ok(()));
        let mut odd_batch = s.clone();
        odd_batch.simulation.batch = 42;
        assert_eq!(
            odd_batch.validate().unwrap_err(),
            "simulation.batch: must be a multiple of 4 (the 2 inputs + 2 runs of one row of the \
             Saltelli design) so that every batch holds whole rows (got 42); use 40"
        );
        let mut lhs = s.clone();
        lhs.simulation.sampling = Sampling::Lhs;
        assert!(
            lhs.validate()
                .unwrap_err()
                .starts_with("simulation.sampling: ")
        );
        let overrides = crate::Overrides {
            scenarios: Some(402),
            seed: None,
        };
        assert_eq!(
            overrides.apply(&mut s.clone(), "--").unwrap_err(),
            "--scenarios must be a multiple of 4 for a Saltelli design (N rows of 2 inputs + 2 \
             runs) (got 402); use 400 or 404"
        );
        let mut no_indices = s.clone();
        no_indices.sensitivity = None;
        assert_eq!(no_indices.check_sensitivity(), Vec::new());
    }
}
