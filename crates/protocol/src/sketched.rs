//! Sketch mode on the wire: a consumer sends each batch's outputs as [`SketchPart`]s and counts
//! above the outputs' thresholds instead of the values, when the job's percentiles come from a
//! sketch anyway. The coordinator then merges a bucket where it would add a value, and the
//! summary is the same, bit for bit, whichever form each batch came in.

use crate::ResultBatch;
use mcp_spec::{PercentileMode, Spec};
use mcp_stats::{EXACT_PERCENTILE_VALUES, ExceedanceCounts, SketchPart, SketchParts};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whether a job's percentiles come from a sketch: when its spec asks (`percentiles =
/// "sketch"`), or when it has more than [`EXACT_PERCENTILE_VALUES`] output values. Decided from
/// the spec alone, so every role and every run of the job agree.
pub fn sketched(spec: &Spec, outputs: usize) -> bool {
    spec.simulation.percentiles == PercentileMode::Sketch
        || spec.simulation.scenarios.saturating_mul(outputs as u64) > EXACT_PERCENTILE_VALUES
}

/// One output of a sketched batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SketchedColumn {
    /// The buckets of the output's successful values.
    #[serde(with = "part_bytes")]
    pub part: SketchPart,
    /// How many of them lie above each threshold of the output's `[outputs.NAME]` table, in
    /// its order (counted from the values: a bucket may straddle a threshold).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub above: Vec<u64>,
}

/// Sketches a consumer's batches for one job.
#[derive(Debug)]
pub struct Sketcher {
    /// Per output, its thresholds.
    thresholds: Vec<Vec<f64>>,
    parts: SketchParts,
}

impl Sketcher {
    /// A sketcher for a job of `spec` with these `outputs`, when its percentiles come from a
    /// sketch ([`sketched`]); `None` when they are exact and the values must travel.
    pub fn of(spec: &Spec, outputs: &[String]) -> Option<Sketcher> {
        sketched(spec, outputs.len()).then(|| Sketcher {
            thresholds: outputs
                .iter()
                .map(|name| {
                    spec.output_risk(name)
                        .map_or_else(Vec::new, |r| r.thresholds.clone())
                })
                .collect(),
            parts: SketchParts::default(),
        })
    }

    /// Replaces `result`'s values with their sketch, unless the sketch would take more bytes
    /// than the values (every value in a bucket of its own takes 9 bytes against 8): then the
    /// values travel, and the message stays within what admission allowed for.
    pub fn sketch(&mut self, result: &mut ResultBatch) {
        if result.values.is_empty() {
            return;
        }
        let columns: Vec<SketchedColumn> = (result.values.iter().zip(&self.thresholds))
            .map(|(values, thresholds)| {
                let mut above = ExceedanceCounts::new(thresholds);
                above.add(values);
                SketchedColumn {
                    part: self.parts.of(values),
                    above: above.above().to_vec(),
                }
            })
            .collect();
        let sketched: usize = columns.iter().map(|c| c.part.wire_len()).sum();
        let raw: usize = result.values.iter().map(|c| c.len() * 8).sum();
        if sketched <= raw {
            result.values = Vec::new();
            result.sketches = columns;
        }
    }
}

mod part_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(part: &SketchPart, s: S) -> Result<S::Ok, S::Error> {
        serde_bytes::Bytes::new(&part.to_bytes()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SketchPart, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        SketchPart::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
