//! The job summary: what `mcp submit --json` prints and the API returns.

use mcp_stats::OutputSummary;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The model a job ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// `sha256:<hex>` of the Wasm bytes.
    pub digest: String,
}

/// Summaries per output, serialised as a JSON object in the model's output order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputSummaries(pub Vec<(String, OutputSummary)>);

impl Serialize for OutputSummaries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        mcp_stats::named::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for OutputSummaries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        mcp_stats::named::deserialize(d).map(OutputSummaries)
    }
}

/// The summary of a job: the `--json` output of `mcp submit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The model that ran.
    pub model: ModelRef,
    /// The job's seed.
    pub seed: u64,
    /// Scenarios evaluated (succeeded or failed).
    pub scenarios: u64,
    /// Scenarios that failed.
    pub failed: u64,
    /// Wall-clock duration of the job, in seconds.
    pub elapsed_s: f64,
    /// Per output, in model order.
    pub outputs: OutputSummaries,
    /// What the result depends on: model and spec digests, seed, mcp and protocol versions
    /// (absent from summaries recorded before mcp kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::Provenance>,
    /// Why the job's `[stop]` rule ended it before its last scenario (`precision` or
    /// `max_scenarios`); absent when it ran every scenario, or has no rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<mcp_spec::StopReason>,
    /// First-order and total Sobol indices per output and input, when the spec asks for them
    /// (`[sensitivity] method = "sobol"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sobol: Option<mcp_stats::SobolSummary>,
    /// Per output, each input's Spearman rank correlation with it and share of its variance,
    /// inputs by decreasing |ρ|; absent when no batch had enough successful scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tornado: Option<mcp_stats::Tornado>,
}
