//! `[outputs.NAME]`: the risk statistics a spec asks of one model output (exceedance
//! thresholds, Value-at-Risk levels), and the check that each table names an output the model
//! has.

use crate::{Diagnostic, Spec, SpecError};
use serde::{Deserialize, Serialize};

/// Most thresholds, and most levels, one output's table may list: each costs a count per batch
/// or a few selected ranks at the end, and a summary line a reader can take in.
pub const MAX_RISK_POINTS: usize = 16;

/// One `[outputs.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputRisk {
    /// `thresholds = [..]`: report `P(output > t)` for each, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<f64>,
    /// `var = [..]`: levels in (0, 1) at which to report Value-at-Risk and CVaR, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub var: Vec<f64>,
}

impl Spec {
    /// The `[outputs.NAME]` table of output `name`, if the spec has one.
    pub fn output_risk(&self, name: &str) -> Option<&OutputRisk> {
        self.outputs.get(name)
    }

    /// Checks that every `[outputs.NAME]` table, and `[stop]`'s output, names one of the
    /// outputs of model `model`, and that what `simulation.keep` asks fits its rows.
    pub fn check_outputs(&self, model: &str, outputs: &[String]) -> Result<(), SpecError> {
        let src = &self.source;
        let errors: Vec<Diagnostic> = self
            .outputs
            .keys()
            .filter(|name| !outputs.contains(name))
            .map(|name| {
                Diagnostic::at(
                    src,
                    src.outputs.get(name).cloned(),
                    &format!("outputs.{name}"),
                    format!(
                        "model `{model}` has no output `{name}` (its outputs are: {}); remove \
                         the table [outputs.{name}] or fix its name",
                        outputs.join(", ")
                    ),
                )
            })
            .chain(self.check_stop_output(model, outputs))
            .chain(self.check_keep_at(outputs.len()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SpecError::new(errors))
        }
    }
}
