//! Exceedance probabilities: counts of values above thresholds, kept per batch and added
//! (integers, so in any order), and their Wilson score intervals.

use crate::Z_975;
use serde::{Deserialize, Serialize};

/// `P(output > threshold)` over a job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exceedance {
    /// The threshold `t`, as the spec gives it.
    pub threshold: f64,
    /// Values strictly above `t`.
    pub count: u64,
    /// `count / n`, `n` the output's count.
    pub probability: f64,
    /// Wilson score 95% interval of the probability.
    pub ci95: [f64; 2],
}

/// Value-at-Risk and CVaR of an output at one level, losses counted as positive values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailRisk {
    /// The level `α`, as the spec gives it.
    pub level: f64,
    /// The `α`-quantile of the output, interpolated as the percentiles are.
    pub var: f64,
    /// The order-statistic (distribution-free) 95% interval of the `α`-quantile.
    pub var_ci95: [f64; 2],
    /// The mean of the `tail` largest values: those ranked at or above `VaR`.
    pub cvar: f64,
    /// How many values `cvar` averages: `n − ⌈(n − 1) α⌉`.
    pub tail: u64,
}

/// Counts of values above each threshold, for one output. Counting a batch adds integers, so
/// the counts are the same whatever the order and split of the batches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceedanceCounts {
    thresholds: Vec<f64>,
    above: Vec<u64>,
}

impl ExceedanceCounts {
    /// Counts for these thresholds (finite).
    pub fn new(thresholds: &[f64]) -> ExceedanceCounts {
        ExceedanceCounts {
            thresholds: thresholds.to_vec(),
            above: vec![0; thresholds.len()],
        }
    }

    /// Counts one batch's values.
    pub fn add(&mut self, values: &[f64]) {
        for (t, above) in self.thresholds.iter().zip(&mut self.above) {
            *above += values.iter().filter(|&&x| x > *t).count() as u64;
        }
    }

    /// The counts above each threshold, in threshold order: what a consumer sends instead of
    /// the values in sketch mode.
    pub fn above(&self) -> &[u64] {
        &self.above
    }

    /// Adds counts made by [`above`](ExceedanceCounts::above) of the same thresholds: the same
    /// as adding their values.
    pub fn merge(&mut self, above: &[u64]) {
        for (total, n) in self.above.iter_mut().zip(above) {
            *total += n;
        }
    }

    /// The probabilities and their intervals, out of `n` values.
    pub fn exceedances(&self, n: u64) -> Vec<Exceedance> {
        self.thresholds
            .iter()
            .zip(&self.above)
            .map(|(&threshold, &count)| Exceedance {
                threshold,
                count,
                probability: if n == 0 {
                    f64::NAN
                } else {
                    count as f64 / n as f64
                },
                ci95: wilson(count, n),
            })
            .collect()
    }
}

/// The Wilson score 95% interval of a proportion of `k` out of `n`: the `p` for which `k` is
/// within 1.96 standard errors `√(p(1 − p)/n)`. Unlike `p̂ ± 1.96·√(p̂(1 − p̂)/n)` it keeps its
/// coverage near 0 and 1 (no exceedance in `n` gives `[0, 3.84/(n + 3.84)]`, not `[0, 0]`).
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [f64::NAN, f64::NAN];
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = Z_975 * Z_975;
    let scale = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / scale;
    let half = Z_975 / scale * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At k = 0 (k = n) the lower (upper) end is 0 (1) exactly; rounding would leave a crumb.
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let hi = if k as f64 == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    [lo, hi]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_its_closed_form_at_the_ends_and_the_middle() {
        // k = 0: [0, z²/(n + z²)].
        let [lo, hi] = wilson(0, 100);
        assert_eq!(lo, 0.0);
        let z2 = Z_975 * Z_975;
        assert!((hi - z2 / (100.0 + z2)).abs() < 1e-12);
        // k = n mirrors k = 0.
        let [lo, hi] = wilson(100, 100);
        assert!((lo - 100.0 / (100.0 + z2)).abs() < 1e-12 && hi == 1.0);
        // Large n: close to p̂ ± 1.96 √(p̂(1 − p̂)/n); Wilson's centre sits z²(1 − 2p̂)/(2n)
        // ≈ 1.7·10⁻⁵ higher.
        let [lo, hi] = wilson(5_000, 100_000);
        let half = Z_975 * (0.05f64 * 0.95 / 1e5).sqrt();
        assert!((lo - (0.05 - half)).abs() < 3e-5 && (hi - (0.05 + half)).abs() < 3e-5);
    }

    #[test]
    fn counts_add_up_in_any_split() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 10.0).collect();
        let mut whole = ExceedanceCounts::new(&[0.0, 5.0, 9.99]);
        whole.add(&values);
        let mut split = ExceedanceCounts::new(&[0.0, 5.0, 9.99]);
        for chunk in values.rchunks(37) {
            split.add(chunk);
        }
        assert_eq!(whole, split);
        let e = whole.exceedances(1000);
        let direct = values.iter().filter(|&&x| x > 5.0).count() as u64;
        assert_eq!(e[1].count, direct);
        assert_eq!(e[1].probability, direct as f64 / 1000.0);
        assert!(e[1].ci95[0] < e[1].probability && e[1].probability < e[1].ci95[1]);
    }
}
