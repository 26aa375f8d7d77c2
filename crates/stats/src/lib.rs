//! Mergeable statistics of model outputs, and the summary users read.
//!
//! Consumers summarise each result batch into [`Moments`] (count, mean, sum of squared
//! deviations, min, max, folded in scenario order); the coordinator merges batch moments in batch
//! order and selects exact [`Percentiles`] from every output value. Neither step depends on how
//! many workers ran or in which order batches arrived, so a job's summary is the same to the last
//! bit however it was run. This crate does no I/O.

mod histogram;
mod moments;
mod percentiles;

pub use histogram::Histogram;
pub use moments::Moments;
pub use percentiles::{BucketCounts, PERCENTILES, Percentiles, percentile_sorted};

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
}

/// Builds a summary from merged moments and all the values, in chunks of any size and order,
/// whose bucket counts were kept as they arrived.
pub fn summarize<C: AsRef<[f64]>>(
    m: &Moments,
    values: &[C],
    counts: &BucketCounts,
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
        percentiles: Percentiles::of_counted_chunks(values, counts),
    }
}
