//! Scenarios a job keeps whole (`simulation.keep`): the row of inputs the model was given and
//! its outputs, or its failure. Consumers attach them to the result batch that evaluated them;
//! the coordinator keeps them, in scenario order, for export.

use crate::ScenarioFailure;
use serde::{Deserialize, Serialize};

/// One kept scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptScenario {
    /// The scenario's index in the job.
    pub scenario: u64,
    /// Its inputs, row-major as the model received them (a vector input's elements in order).
    pub inputs: Vec<f64>,
    /// Its outputs, in model order; empty when it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<f64>,
    /// How it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ScenarioFailure>,
}

/// The most a kept scenario of `row_values` values (inputs and outputs) adds to a result
/// message: 9 bytes a MessagePack float, its index, and a clipped failure message.
pub(crate) fn kept_bytes(row_values: u64) -> u64 {
    row_values * 9 + 64 + crate::size::FAILURE_BYTES
}
