//! The consumer role: evaluates scenario batches of the current model in the sandbox.
//!
//! A consumer takes the current model when a job's first batch arrives, compiles it once (the
//! sandbox caches by digest), then for each batch generates the scenarios' inputs from the spec,
//! runs them in one [`ModelRunner`](mcp_sandbox::ModelRunner) ([`Evaluator`]), summarises each
//! output's values into moments and their rank correlations with the inputs (the tornado's
//! per-batch share, since only the consumer sees the inputs), publishes the result and only then acknowledges the batch, so a
//! consumer that dies mid-batch loses nothing ([`consume`]). A [`ConsumerProcess`] runs several
//! such threads, obeys the operator's commands, sends a [`Heartbeat`] every second and carries on
//! across reconnections, counting what it does in [`ConsumerMetrics`] for Prometheus. It knows no transport beyond the link traits of `mcp-broker`.
//! [`PairedEvaluator`] evaluates the same batch in two runs and pairs their outputs scenario by
//! scenario, for `mcp compare`.

mod consume;
mod evaluator;
pub mod heartbeat;
mod metrics;
mod paired;
mod process;
mod tornado;

pub use consume::{Admission, ConsumerStats, consume};
pub use evaluator::Evaluator;
pub use heartbeat::Heartbeat;
pub use metrics::ConsumerMetrics;
pub use paired::{MatchedOutputs, PairedBatch, PairedEvaluator};
pub use process::{ConsumerProcess, SessionEnd, Stopper};

/// One worker per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
