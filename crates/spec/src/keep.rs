//! `keep` in `[simulation]`: which scenarios a job keeps whole (their inputs, and their outputs
//! or failure) for export, and the bound on how much that may be.
//!
//! A summary says what the outputs did; a kept scenario says what the model was given and what
//! it answered, row by row, so that an analyst can export it or replay it. Which scenarios are
//! kept is a function of the spec and the scenario's index (and, for `"failed"`, of whether it
//! failed, which is deterministic too), never of which consumer ran it.

use crate::{Diagnostic, Simulation, Spec};
use serde::{Deserialize, Serialize};

/// Most values (inputs and outputs, vector elements counted one by one) the kept scenarios of
/// one job may hold: 2²⁵, 256 MiB of `f64`s, like the values kept for exact percentiles.
pub const MAX_KEPT_VALUES: u64 = 1 << 25;
/// Most failed scenarios `keep = "failed"` keeps: those of lowest index (fewer when a row is
/// wide, so that they stay within [`MAX_KEPT_VALUES`]).
pub const MAX_KEPT_FAILED: u64 = 1 << 16;

/// What `keep = ...` asks: `"all"`, `"failed"`, or `N` (scenarios `0..N`); nothing by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Keep no scenario (no `keep` field).
    #[default]
    Nothing,
    /// Keep every scenario.
    All,
    /// Keep the failed scenarios of lowest index, up to [`Simulation::kept_rows`].
    Failed,
    /// Keep scenarios `0..N`.
    First(u64),
}

impl Keep {
    /// Whether nothing is kept.
    pub fn is_nothing(&self) -> bool {
        *self == Keep::Nothing
    }

    /// Whether scenario `index` is kept, given whether it failed. For `"failed"` every failed
    /// scenario qualifies here; the coordinator keeps those of lowest index up to the bound.
    pub fn keeps(&self, index: u64, failed: bool) -> bool {
        match *self {
            Keep::Nothing => false,
            Keep::All => true,
            Keep::Failed => failed,
            Keep::First(n) => index < n,
        }
    }
}

impl Simulation {
    /// Most scenarios the job keeps, for rows of `row_values` values (inputs and outputs).
    pub fn kept_rows(&self, row_values: u64) -> u64 {
        match self.keep {
            Keep::Nothing => 0,
            Keep::All => self.scenarios,
            Keep::First(n) => n.min(self.scenarios),
            Keep::Failed => MAX_KEPT_FAILED
                .min(MAX_KEPT_VALUES / row_values.max(1))
                .min(self.scenarios),
        }
    }
}

impl Spec {
    /// How many values one kept row holds for a model of `outputs` outputs: every input value
    /// (a vector input's elements one by one) and every output.
    pub fn kept_row_values(&self, outputs: usize) -> u64 {
        let inputs: u64 = self
            .variables
            .iter()
            .map(|v| u64::from(v.size.max(1)))
            .sum();
        inputs + outputs as u64
    }

    /// Checks that what `simulation.keep` asks of a model of `outputs` outputs stays within
    /// [`MAX_KEPT_VALUES`]; the error says which `keep = N` fits.
    pub fn check_keep(&self, outputs: usize) -> Result<(), String> {
        let sim = &self.simulation;
        let row = self.kept_row_values(outputs);
        let rows = sim.kept_rows(row);
        if sim.keep == Keep::Failed || rows.saturating_mul(row) <= MAX_KEPT_VALUES {
            return Ok(());
        }
        Err(format!(
            "simulation.keep: keeping {rows} scenarios of {row} values each (inputs and \
             outputs) is more than the {MAX_KEPT_VALUES} values a job may keep; keep the first \
             ones with `keep = {}`, or only the failed ones with `keep = \"failed\"`",
            MAX_KEPT_VALUES / row
        ))
    }

    /// [`check_keep`](Spec::check_keep) as a diagnostic at the `keep` field.
    pub(crate) fn check_keep_at(&self, outputs: usize) -> Option<Diagnostic> {
        let message = self.check_keep(outputs).err()?;
        let src = &self.source;
        let message = message
            .strip_prefix("simulation.keep: ")
            .unwrap_or(&message)
            .to_string();
        Some(Diagnostic::at(
            src,
            src.keep.clone(),
            "simulation.keep",
            message,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(keep: &str, scenarios: u64) -> Spec {
        Spec::parse(
            &format!(
                "[simulation]\nscenarios = {scenarios}\nseed = 1\nkeep = {keep}\n\
                 [variables]\nx = {{ dist = \"constant\", value = 1.0 }}\n\
                 p = {{ dist = \"normal\", mean = 0.0, std = 1.0, size = 3 }}\n"
            ),
            "vars.toml",
        )
        .unwrap()
    }

    #[test]
    fn each_form_keeps_its_scenarios() {
        assert_eq!(spec("\"all\"", 10).simulation.keep, Keep::All);
        assert_eq!(spec("\"failed\"", 10).simulation.keep, Keep::Failed);
        assert_eq!(spec("4", 10).simulation.keep, Keep::First(4));
        assert!(Keep::First(4).keeps(3, false) && !Keep::First(4).keeps(4, true));
        assert!(Keep::Failed.keeps(9, true) && !Keep::Failed.keeps(0, false));
        assert!(Keep::All.keeps(9, false) && !Keep::Nothing.keeps(0, true));
        // Rows hold the vector's elements one by one: 1 + 3 inputs, 2 outputs.
        let s = spec("4", 10);
        assert_eq!(s.kept_row_values(2), 6);
        assert_eq!(s.simulation.kept_rows(6), 4);
        assert_eq!(spec("40", 10).simulation.kept_rows(6), 10);
        assert_eq!(
            spec("\"failed\"", 1 << 40).simulation.kept_rows(6),
            MAX_KEPT_FAILED
        );
        assert_eq!(
            spec("\"failed\"", 1 << 40).simulation.kept_rows(1 << 12),
            MAX_KEPT_VALUES >> 12
        );
    }

    #[test]
    fn keeping_more_than_the_bound_is_refused_with_the_n_that_fits() {
        assert_eq!(spec("\"all\"", 1 << 22).check_keep(2), Ok(()));
        let s = spec("\"all\"", 1 << 24);
        let err = s.check_outputs("m", &["a".into(), "b".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "vars.toml:4:8: simulation.keep: keeping 16777216 scenarios of 6 values each \
             (inputs and outputs) is more than the 33554432 values a job may keep; keep the \
             first ones with `keep = 5592405`, or only the failed ones with `keep = \"failed\"`"
        );
        let fits = spec("5592405", 1 << 24);
        assert_eq!(fits.check_keep(2), Ok(()));
        assert!(spec("5592406", 1 << 24).check_keep(2).is_err());
        assert_eq!(spec("\"failed\"", 1 << 40).check_keep(2), Ok(()));
    }
}
