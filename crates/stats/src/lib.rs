//! Mergeable statistics of model outputs, and the summary users read.
//!
//! Consumers summarise each result batch into [`Moments`] (count, mean, sum of squared
//! deviations, min, max, folded in scenario order); the coordinator merges batch moments in batch
//! order and selects exact [`Percentiles`] from every output value. Neither step depends on how
//! many workers ran or in which order batches arrived, so a job's summary is the same to the last
//! bit however it was run. [`PairedMoments`] does the same for two runs compared scenario by
//! scenario (`mcp compare`), and its [`Comparison`] gives the interval of the difference of their
//! means. Per output, a spec may also ask for exceedance probabilities ([`ExceedanceCounts`],
//! counted per batch and added) and Value-at-Risk and CVaR ([`TailRisk`], selected from the
//! values at the end); every percentile comes with its order-statistic 95% interval
//! ([`PercentileIntervals`]). For people who would rather look, each summary also keeps an
//! [`OutputHistogram`] of the values and the [`Convergence`] of the running mean.
//! [`SobolSums`] are the mergeable sums of a Saltelli design's rows, from which
//! [`SobolSummary`] gives first-order and total Sobol indices with their intervals. The
//! tornado's rank correlations are computed per batch ([`BatchRanker`], by the consumer) and
//! weighed and added in batch order ([`TornadoSums`]). This crate does no I/O.

mod convergence;
mod histogram;
mod moments;
pub mod named;
mod order_ci;
mod output_histogram;
mod paired;
mod percentiles;
mod ranks;
mod risk;
mod sketch;
mod sketch_part;
pub mod sobol;
mod tails;
mod tornado;

pub use convergence::{CONVERGENCE_POINTS, Convergence};
pub use histogram::Histogram;
pub use moments::Moments;
pub use order_ci::order_ci_ranks;
pub use output_histogram::{MAX_BINS, OutputHistogram, TAIL_REACH};
pub use paired::{Comparison, PairedMoments};
pub use percentiles::{BucketCounts, PERCENTILES, Percentiles, percentile_sorted};
pub use ranks::{
    BatchRanker, TORNADO_EVERY, TORNADO_FIRST_BATCHES, TORNADO_MIN_SCENARIOS, TornadoBatch,
    tornado_ranks,
};
pub use risk::{Exceedance, ExceedanceCounts, TailRisk, wilson};
pub use sketch::{SKETCH_RELATIVE_ERROR, Sketch, summarize_sketch};
pub use sketch_part::{PartBucket, SketchPart, SketchParts};
pub use sobol::{SobolIndex, SobolSummary, SobolSums};
pub use tails::{PercentileIntervals, tails_of_sketch, tails_of_values};
pub use tornado::{Tornado, TornadoRow, TornadoSums};

use serde::{Deserialize, Serialize};

/// The two-sided 97.5% quantile of the standard normal, for 95% confidence intervals.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// The summary of one model output over a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSummary {
    /// Scenarios that produced this output.
    pub count: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator).
    pub std: f64,
    /// Standard error of the mean, `std / √count`.
    pub stderr: f64,
    /// 95% confidence interval of the mean, `mean ± 1.96 · stderr`.
    pub ci95: [f64; 2],
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Percentiles p1, p5, p25, p50, p75, p95, p99 (linear interpolation, as numpy's default).
    pub percentiles: Percentiles,
    /// Bound on the relative error of `percentiles`: 0 when they are exact, as they are for
    /// jobs of up to [`EXACT_PERCENTILE_VALUES`] values; [`SKETCH_RELATIVE_ERROR`] past that.
    #[serde(default)]
    pub percentile_error: f64,
    /// The order-statistic (distribution-free) 95% interval of each percentile; widened by
    /// `percentile_error` when the percentiles come from a sketch. Absent in summaries of older
    /// versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile_ci95: Option<PercentileIntervals>,
    /// `P(output > t)` for each threshold of the spec's `[outputs.NAME]`, exact counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceedance: Vec<Exceedance>,
    /// VaR and CVaR at each level of the spec's `[outputs.NAME]`; within `percentile_error`
    /// of the exact ones, relative to their value, when sketched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub var: Vec<TailRisk>,
    /// Counts of the values in equal bins (see [`OutputHistogram`] for the range); absent in
    /// summaries of older versions and of outputs without values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<OutputHistogram>,
    /// The running mean and its 95% interval as batches merged in batch order:
    /// `[values, mean, ci low, ci high]` (see [`Convergence`] for which points).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub convergence: Vec<[f64; 4]>,
}

/// What the spec asks of one output beyond the standard summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct RiskAsk<'a> {
    /// VaR and CVaR levels, in (0, 1).
    pub levels: &'a [f64],
    /// The exceedance counts kept while the values arrived.
    pub exceedance: Option<&'a ExceedanceCounts>,
}

/// Most output values (scenarios × outputs) a job may have for its percentiles to be exact:
/// 2²⁵ values, 256 MiB of them, kept until the job ends. Larger jobs summarise each output in a
/// [`Sketch`], whose memory does not grow with the number of scenarios.
pub const EXACT_PERCENTILE_VALUES: u64 = 1 << 25;

/// Builds a summary from merged moments and all the values, in chunks of any size, in
/// scenario order (CVaR sums in that order), whose bucket counts were kept as they arrived.
pub fn summarize<C: AsRef<[f64]>>(
    m: &Moments,
    values: &[C],
    counts: &BucketCounts,
    ask: RiskAsk<'_>,
) -> OutputSummary {
    let mut s = summary_of(m, Percentiles::of_counted_chunks(values, counts), 0.0);
    (s.percentile_ci95, s.var) = tails_of_values(values, counts, ask.levels);
    s.histogram = OutputHistogram::of_values(values, counts, m);
    s.exceedance = ask
        .exceedance
        .map_or_else(Vec::new, |e| e.exceedances(m.count));
    s
}

/// A summary from merged moments and percentiles found some other way.
pub(crate) fn summary_of(
    m: &Moments,
    percentiles: Percentiles,
    percentile_error: f64,
) -> OutputSummary {
    let std = m.std();
    let stderr = if m.count > 0 {
        std / (m.count as f64).sqrt()
    } else {
        f64::NAN
    };
    OutputSummary {
        count: m.count,
        mean: m.mean,
        std,
        stderr,
        ci95: [m.mean - Z_975 * stderr, m.mean + Z_975 * stderr],
        min: m.min,
        max: m.max,
        percentiles,
        percentile_error,
        percentile_ci95: None,
        exceedance: Vec::new(),
        var: Vec::new(),
        histogram: None,
        convergence: Vec::new(),
    }
}
