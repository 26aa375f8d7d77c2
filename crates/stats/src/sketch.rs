//! Percentiles in bounded memory, for jobs too large to keep every value.

use crate::percentiles::{interpolated, order_key, rank_of, wanted_ranks};
use crate::{Moments, OutputSummary, Percentiles, RiskAsk};

/// Bits of the mantissa that pick a value's bucket within its power of two.
const SUB_BITS: u32 = 10;
const SUBS: usize = 1 << SUB_BITS;
/// Buckets of the 12 highest bits of the order key: sign and exponent.
const BINADES: usize = 1 << 12;

/// Bound on the relative error of a percentile from a [`Sketch`]: a bucket spans 2⁻¹⁰ of its
/// power of two, and every estimate lies between the smallest and largest value of its bucket.
pub const SKETCH_RELATIVE_ERROR: f64 = 1.0 / SUBS as f64;

/// Counts of values per bucket of 2⁻¹⁰ relative width, with each bucket's smallest and largest
/// value. Memory grows with the range of the values (24 KiB per power of two they span, at most
/// 96 MiB for values across the whole f64 range), never with their number. Adding is
/// commutative, so sketches built from the same values in any order or split are identical.
#[derive(Clone, Default)]
pub struct Sketch {
    pub(crate) binades: Vec<Option<Box<Binade>>>,
    pub(crate) count: u64,
}

#[derive(Clone)]
pub(crate) struct Binade {
    pub(crate) counts: [u64; SUBS],
    pub(crate) min: [f64; SUBS],
    pub(crate) max: [f64; SUBS],
}

/// The bucket of `x`: its binade (the 12 highest bits of its order key) and its place in it.
#[inline]
pub(crate) fn bucket_of(x: f64) -> (usize, usize) {
    let key = order_key(x);
    (
        (key >> 52) as usize,
        ((key >> (52 - SUB_BITS)) as usize) & (SUBS - 1),
    )
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketch")
            .field("count", &self.count)
            .field("binades", &self.binades.iter().flatten().count())
            .finish()
    }
}

impl Sketch {
    /// Counts `values` (finite, as model outputs are).
    pub fn add(&mut self, values: &[f64]) {
        for &x in values {
            self.insert(x, x, 1);
        }
    }

    /// Counts `count` values from `min` to `max`, all in `min`'s bucket; the bucket, as
    /// (binade, place in it).
    #[inline]
    pub(crate) fn insert(&mut self, min: f64, max: f64, count: u64) -> (usize, usize) {
        if self.binades.is_empty() {
            self.binades.resize_with(BINADES, || None);
        }
        let (b, s) = bucket_of(min);
        let binade = self.binades[b].get_or_insert_with(|| {
            Box::new(Binade {
                counts: [0; SUBS],
                min: [0.0; SUBS],
                max: [0.0; SUBS],
            })
        });
        if binade.counts[s] == 0 {
            binade.min[s] = min;
            binade.max[s] = max;
        } else {
            binade.min[s] = binade.min[s].min(min);
            binade.max[s] = binade.max[s].max(max);
        }
        binade.counts[s] += count;
        self.count += count;
        (b, s)
    }

    /// Counts the values a consumer sketched batch by batch: the same sketch, bit for bit, as
    /// adding the values themselves, in any order of batches.
    pub fn merge(&mut self, part: &crate::SketchPart) {
        for b in part.buckets() {
            self.insert(b.min, b.max, b.count);
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Powers of two (with sign) that hold values: what the memory grows with.
    pub fn binades(&self) -> usize {
        self.binades.iter().flatten().count()
    }

    /// Estimates of the values of ascending `ranks` (0-based, ascending order): within a bucket
    /// of `c` values from `min` to `max`, the rank `i`-th is `min + (max - min) (i + ½) / c`,
    /// exact when the bucket holds one distinct value.
    pub(crate) fn ranked(&self, ranks: &[usize]) -> Vec<f64> {
        let mut found = Vec::with_capacity(ranks.len());
        let mut wanted = ranks.iter().peekable();
        let mut before = 0u64;
        for binade in self.binades.iter().flatten() {
            for s in 0..SUBS {
                let c = binade.counts[s];
                while let Some(&&r) = wanted.peek() {
                    let r = r as u64;
                    if r >= before + c {
                        break;
                    }
                    let (lo, hi) = (binade.min[s], binade.max[s]);
                    found.push(if lo == hi {
                        lo
                    } else {
                        let at = ((r - before) as f64 + 0.5) / c as f64;
                        (lo + (hi - lo) * at).clamp(lo, hi)
                    });
                    wanted.next();
                }
                before += c;
            }
        }
        found
    }

    /// Each bucket that holds values, ascending: its count, smallest and largest value.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (u64, f64, f64)> + '_ {
        self.binades.iter().flatten().flat_map(|b| {
            (0..SUBS)
                .filter(|&s| b.counts[s] > 0)
                .map(|s| (b.counts[s], b.min[s], b.max[s]))
        })
    }

    /// The sum of the estimates [`Sketch::ranked`] gives ranks `k..count`, bucket by bucket in
    /// ascending order: within a bucket of `c` values from `lo` to `hi`, ranks `i₀..c` sum to
    /// `(c − i₀) lo + (hi − lo) (c² − i₀²) / (2c)`. Each estimate lies in the bucket of the
    /// value it stands for, so the sum is within [`SKETCH_RELATIVE_ERROR`] of the exact one,
    /// relative to the sum of the values' magnitudes.
    pub(crate) fn sum_from_rank(&self, k: u64) -> f64 {
        let mut sum = 0.0;
        let mut before = 0u64;
        for binade in self.binades.iter().flatten() {
            for s in 0..SUBS {
                let c = binade.counts[s];
                if c == 0 || before + c <= k {
                    before += c;
                    continue;
                }
                let first = k.saturating_sub(before) as f64;
                let (lo, hi, c_f) = (binade.min[s], binade.max[s], c as f64);
                sum += (c_f - first) * lo + (hi - lo) * (c_f * c_f - first * first) / (2.0 * c_f);
                before += c;
            }
        }
        sum
    }

    /// The percentiles, interpolated between closest ranks as [`crate::percentile_sorted`]
    /// does on sorted values, with each rank's value estimated from its bucket.
    pub fn percentiles(&self) -> Percentiles {
        let n = self.count as usize;
        if n == 0 {
            return Percentiles::from_fn(|_| f64::NAN);
        }
        let ranks = wanted_ranks(n);
        let found = self.ranked(&ranks);
        let at = |r: usize| found[ranks.binary_search(&r).expect("rank was estimated")];
        Percentiles::from_fn(|q| interpolated(n, q, at))
    }
}

impl Sketch {
    /// The `q`-th percentile (0 < q < 100) and its 95% order-statistic interval, each from the
    /// sketch (within [`SKETCH_RELATIVE_ERROR`] of the exact one; the interval widened by as
    /// much): `(estimate, low, high)`, or `None` for an empty sketch. What a `[stop]` rule on a
    /// percentile judges, cheaply, at every checkpoint of a job's prefix.
    pub fn percentile_interval(&self, q: f64) -> Option<(f64, f64, f64)> {
        let n = self.count;
        if n == 0 {
            return None;
        }
        let (lo, hi) = crate::order_ci_ranks(n, q / 100.0);
        let (r0, r1, _) = rank_of(n as usize, q);
        let mut ranks = vec![lo as usize, hi as usize, r0, r1];
        ranks.sort_unstable();
        ranks.dedup();
        let found = self.ranked(&ranks);
        let at = |r: usize| found[ranks.binary_search(&r).expect("rank was estimated")];
        let e = SKETCH_RELATIVE_ERROR;
        let (a, b) = (at(lo as usize), at(hi as usize));
        Some((
            interpolated(n as usize, q, at),
            a - e * a.abs(),
            b + e * b.abs(),
        ))
    }
}

/// A summary from merged moments and a sketch of the values: everything exact but the
/// percentiles, their intervals, VaR, CVaR and the histogram's bins, which are within [`SKETCH_RELATIVE_ERROR`] of the
/// exact ones (exceedance counts are exact: they were counted before the values were sketched).
pub fn summarize_sketch(m: &Moments, sketch: &Sketch, ask: RiskAsk<'_>) -> OutputSummary {
    let mut s = crate::summary_of(m, sketch.percentiles(), SKETCH_RELATIVE_ERROR);
    (s.percentile_ci95, s.var) = crate::tails_of_sketch(sketch, ask.levels);
    s.histogram = crate::OutputHistogram::of_sketch(sketch, m);
    s.exceedance = ask
        .exceedance
        .map_or_else(Vec::new, |e| e.exceedances(m.count));
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::percentile_sorted;

    pub(crate) fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn a_percentile_interval_brackets_the_exact_order_statistics_within_the_error() {
        let mut u = lcg(11);
        let values: Vec<f64> = (0..100_000).map(|_| (3.0 * u()).exp()).collect();
        let mut sketch = Sketch::default();
        sketch.add(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [1.0, 50.0, 99.0, 99.9] {
            let (estimate, lo, hi) = sketch.percentile_interval(q).unwrap();
            let (l, h) = crate::order_ci_ranks(values.len() as u64, q / 100.0);
            let (exact_lo, exact_hi) = (sorted[l as usize], sorted[h as usize]);
            let e = 2.0 * SKETCH_RELATIVE_ERROR;
            assert!(
                lo <= exact_lo && exact_lo - lo <= e * exact_lo,
                "p{q}: {lo} vs {exact_lo}"
            );
            assert!(
                hi >= exact_hi && hi - exact_hi <= e * exact_hi,
                "p{q}: {hi} vs {exact_hi}"
            );
            let exact = percentile_sorted(&sorted, q);
            assert!(
                (estimate - exact).abs() <= e * exact,
                "p{q}: {estimate} vs {exact}"
            );
        }
        assert_eq!(Sketch::default().percentile_interval(50.0), None);
    }

    #[test]
    fn percentiles_are_within_the_stated_error_of_the_exact_ones() {
        let mut u = lcg(7);
        // Lognormal-ish payoffs with a pile of exact zeros and some losses.
        let values: Vec<f64> = (0..200_000)
            .map(|i| match i % 10 {
                0 | 2 | 3 => 0.0,
                1 => -(1.0 + 50.0 * u()),
                _ => (4.0 * u() - 2.0).exp() * 100.0,
            })
            .collect();
        let mut sketch = Sketch::default();
        for chunk in values.chunks(1000) {
            sketch.add(chunk);
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let exact = Percentiles::of_sorted(&sorted);
        for ((name, e), (_, s)) in exact
            .labelled()
            .into_iter()
            .zip(sketch.percentiles().labelled())
        {
            assert!(
                (s - e).abs() <= SKETCH_RELATIVE_ERROR * e.abs(),
                "{name}: sketch {s} exact {e}"
            );
        }
        // Ranks 10% to 40% are exact zeros: a bucket of one distinct value is reported exactly.
        assert_eq!(percentile_sorted(&sorted, 25.0), 0.0);
        assert_eq!(sketch.percentiles().p25.to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn the_order_and_split_of_values_do_not_change_the_result() {
        let mut u = lcg(3);
        let values: Vec<f64> = (0..50_000).map(|_| u() * 1e6 - 3e5).collect();
        let mut forward = Sketch::default();
        forward.add(&values);
        let mut backward = Sketch::default();
        for chunk in values.rchunks(777) {
            backward.add(chunk);
        }
        assert_eq!(forward.percentiles(), backward.percentiles());
    }

    #[test]
    fn memory_follows_the_range_of_values_not_their_number() {
        let mut sketch = Sketch::default();
        let mut u = lcg(11);
        for _ in 0..100 {
            let chunk: Vec<f64> = (0..100_000).map(|_| 1.0 + 1000.0 * u()).collect();
            sketch.add(&chunk);
        }
        assert_eq!(sketch.count(), 10_000_000);
        // 1 to 1001 spans ten powers of two.
        assert_eq!(sketch.binades(), 10);
    }

    #[test]
    fn tiny_inputs() {
        let mut sketch = Sketch::default();
        assert!(sketch.percentiles().p50.is_nan());
        sketch.add(&[42.5]);
        assert_eq!(sketch.percentiles(), Percentiles::from_fn(|_| 42.5));
    }
}
