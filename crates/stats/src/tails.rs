//! Value-at-Risk, CVaR and the confidence intervals of quantiles, from every value (exact) or
//! from a [`Sketch`] (within its error).
//!
//! Conventions, for `n` values `x₍₀₎ ≤ … ≤ x₍ₙ₋₁₎` (0-based ranks) and a level `α`, losses
//! counted as positive values (the upper tail is the bad one):
//!
//! - `VaR_α` is the `α`-quantile interpolated as the percentiles are (type 7): with
//!   `h = (n − 1) α`, `x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)`.
//! - `CVaR_α` is the mean of the values of ranks `⌈h⌉` to `n − 1`: every value above `VaR_α`,
//!   and values equal to it by rank. Its `n − ⌈h⌉` values each lie at or above `VaR_α`.
//!   Exactly, it is summed in scenario order (compensated), so the bits do not depend on how
//!   the values were split or delivered.
//! - A quantile's 95% interval is `[x₍ₗ₎, x₍ᵤ₎]`, the ranks from [`order_ci_ranks`].

use crate::order_ci::order_ci_ranks;
use crate::percentiles::{order_key, select_by_buckets};
use crate::sketch::Sketch;
use crate::{BucketCounts, PERCENTILES, SKETCH_RELATIVE_ERROR, TailRisk};
use serde::{Deserialize, Serialize};

/// The 95% order-statistic interval of each reported percentile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PercentileIntervals {
    pub p1: [f64; 2],
    pub p5: [f64; 2],
    pub p25: [f64; 2],
    pub p50: [f64; 2],
    pub p75: [f64; 2],
    pub p95: [f64; 2],
    pub p99: [f64; 2],
}

impl PercentileIntervals {
    fn from_slice(v: &[[f64; 2]]) -> PercentileIntervals {
        PercentileIntervals {
            p1: v[0],
            p5: v[1],
            p25: v[2],
            p50: v[3],
            p75: v[4],
            p95: v[5],
            p99: v[6],
        }
    }

    /// The intervals with their labels, e.g. `("p50", [5.9, 6.1])`.
    pub fn labelled(&self) -> [(&'static str, [f64; 2]); 7] {
        [
            ("p1", self.p1),
            ("p5", self.p5),
            ("p25", self.p25),
            ("p50", self.p50),
            ("p75", self.p75),
            ("p95", self.p95),
            ("p99", self.p99),
        ]
    }
}

/// What [`tails`] needs of the values: the values of given ranks, and the sum of the values
/// of ranks `k..n` given the value of rank `k`.
trait Ranked {
    fn count(&self) -> u64;
    fn values_at(&self, ranks: &[u64]) -> Vec<f64>;
    fn tail_sum(&self, k: u64, at_k: f64) -> f64;
    /// Bound on the error of a value or a tail mean, relative to its magnitude.
    fn error(&self) -> f64;
}

/// Percentile intervals and tail risks at `levels`, from every value.
///
/// `ordered` are the values in scenario order (their split does not matter, their order
/// does: CVaR sums in it); `counts` their bucket counts.
pub fn tails_of_values<C: AsRef<[f64]>>(
    ordered: &[C],
    counts: &BucketCounts,
    levels: &[f64],
) -> (Option<PercentileIntervals>, Vec<TailRisk>) {
    tails(&Exact { ordered, counts }, levels)
}

/// Percentile intervals and tail risks at `levels`, from a sketch: each value within
/// [`SKETCH_RELATIVE_ERROR`] of the exact one, relative to it; intervals widened by as much.
pub fn tails_of_sketch(
    sketch: &Sketch,
    levels: &[f64],
) -> (Option<PercentileIntervals>, Vec<TailRisk>) {
    tails(sketch, levels)
}

fn tails(values: &impl Ranked, levels: &[f64]) -> (Option<PercentileIntervals>, Vec<TailRisk>) {
    let n = values.count();
    if n == 0 {
        return (None, Vec::new());
    }
    let ci: Vec<(u64, u64)> = PERCENTILES
        .iter()
        .map(|q| order_ci_ranks(n, q / 100.0))
        .collect();
    let at_level: Vec<LevelRanks> = levels.iter().map(|&a| LevelRanks::new(n, a)).collect();
    let mut ranks: Vec<u64> = ci.iter().flat_map(|&(l, u)| [l, u]).collect();
    for r in &at_level {
        ranks.extend([r.lo, r.lo + u64::from(r.frac > 0.0), r.ci.0, r.ci.1, r.k]);
    }
    ranks.sort_unstable();
    ranks.dedup();
    // Selection gathers at most 254 buckets; the spec allows 16 levels (94 ranks at most).
    assert!(ranks.len() < 255, "too many levels: {}", levels.len());
    let found = values.values_at(&ranks);
    let at = |r: u64| found[ranks.binary_search(&r).expect("rank was selected")];
    let widen = values.error();
    let interval = |(l, u): (u64, u64)| {
        let (a, b) = (at(l), at(u));
        [a - widen * a.abs(), b + widen * b.abs()]
    };
    let intervals: Vec<[f64; 2]> = ci.iter().map(|&r| interval(r)).collect();
    let risks = levels
        .iter()
        .zip(&at_level)
        .map(|(&level, r)| {
            let var = if r.frac == 0.0 {
                at(r.lo)
            } else {
                let (a, b) = (at(r.lo), at(r.lo + 1));
                a + r.frac * (b - a)
            };
            let tail = n - r.k;
            TailRisk {
                level,
                var,
                var_ci95: interval(r.ci),
                cvar: values.tail_sum(r.k, at(r.k)) / tail as f64,
                tail,
            }
        })
        .collect();
    (Some(PercentileIntervals::from_slice(&intervals)), risks)
}

/// The ranks one level needs: VaR's two closest ranks and the weight of the upper one, its
/// interval's ranks, and the first rank of the CVaR tail.
struct LevelRanks {
    lo: u64,
    frac: f64,
    ci: (u64, u64),
    k: u64,
}

impl LevelRanks {
    fn new(n: u64, level: f64) -> LevelRanks {
        let h = (n - 1) as f64 * level;
        let lo = h.floor() as u64;
        LevelRanks {
            lo,
            frac: h - lo as f64,
            ci: order_ci_ranks(n, level),
            k: (h.ceil() as u64).min(n - 1),
        }
    }
}

struct Exact<'a, C> {
    ordered: &'a [C],
    counts: &'a BucketCounts,
}

impl<C: AsRef<[f64]>> Ranked for Exact<'_, C> {
    fn count(&self) -> u64 {
        self.ordered.iter().map(|c| c.as_ref().len() as u64).sum()
    }

    fn values_at(&self, ranks: &[u64]) -> Vec<f64> {
        let ranks: Vec<usize> = ranks.iter().map(|&r| r as usize).collect();
        select_by_buckets(self.ordered, self.counts, &ranks)
    }

    /// The values above `at_k` summed in scenario order, plus as many copies of `at_k` as the
    /// tail has ranks left: Neumaier's compensated sum, so the bits depend on the values and
    /// their order only.
    fn tail_sum(&self, k: u64, at_k: f64) -> f64 {
        let n = self.count();
        let key = order_key(at_k);
        let (mut sum, mut carry, mut above) = (0.0f64, 0.0f64, 0u64);
        let mut add = |x: f64| {
            let t = sum + x;
            carry += if sum.abs() >= x.abs() {
                (sum - t) + x
            } else {
                (x - t) + sum
            };
            sum = t;
        };
        for &x in self.ordered.iter().flat_map(|c| c.as_ref()) {
            if order_key(x) > key {
                add(x);
                above += 1;
            }
        }
        add((n - k - above) as f64 * at_k);
        sum + carry
    }

    fn error(&self) -> f64 {
        0.0
    }
}

impl Ranked for Sketch {
    fn count(&self) -> u64 {
        Sketch::count(self)
    }

    fn values_at(&self, ranks: &[u64]) -> Vec<f64> {
        let ranks: Vec<usize> = ranks.iter().map(|&r| r as usize).collect();
        self.ranked(&ranks)
    }

    fn tail_sum(&self, k: u64, _at_k: f64) -> f64 {
        self.sum_from_rank(k)
    }

    fn error(&self) -> f64 {
        SKETCH_RELATIVE_ERROR
    }
}
