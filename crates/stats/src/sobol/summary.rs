//! The Sobol indices as a summary shows them: per output, per input, first-order and total
//! indices with their 95% intervals.

use super::SobolSums;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One input's indices for one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SobolIndex {
    /// The input (a model input; a vector input's elements together).
    pub input: String,
    /// First-order index: the share of the output's variance the input explains alone.
    pub first: f64,
    /// Its 95% interval.
    pub first_ci95: [f64; 2],
    /// Total index: the share it takes part in, interactions included.
    pub total: f64,
    /// Its 95% interval.
    pub total_ci95: [f64; 2],
}

/// The indices of every output: `"sobol"` in a job summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SobolSummary {
    /// Design rows the indices were estimated from (each `d + 2` model runs).
    pub rows: u64,
    /// Design rows left out because one of their runs failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// Per output (model order), per input (model order).
    pub outputs: SobolOutputs,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Indices per output, serialised as a JSON object in the model's output order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SobolOutputs(pub Vec<(String, Vec<SobolIndex>)>);

impl SobolSummary {
    /// The summary of each output's merged sums (`sums[o]` for `outputs[o]`), over `inputs`.
    pub fn of(inputs: &[String], outputs: &[String], sums: &[SobolSums]) -> SobolSummary {
        let indices = |s: &SobolSums| {
            inputs
                .iter()
                .enumerate()
                .map(|(m, input)| {
                    let (first, total) = (s.first(m), s.total(m));
                    SobolIndex {
                        input: input.clone(),
                        first: first.value,
                        first_ci95: first.ci95(),
                        total: total.value,
                        total_ci95: total.ci95(),
                    }
                })
                .collect()
        };
        SobolSummary {
            rows: sums.first().map_or(0, |s| s.rows),
            skipped: sums.first().map_or(0, |s| s.skipped),
            outputs: SobolOutputs(
                outputs
                    .iter()
                    .cloned()
                    .zip(sums.iter().map(indices))
                    .collect(),
            ),
        }
    }
}

impl Serialize for SobolOutputs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::named::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for SobolOutputs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::named::deserialize(d).map(SobolOutputs)
    }
}
