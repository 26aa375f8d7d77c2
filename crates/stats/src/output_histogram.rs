//! The histogram a job's summary keeps of each output: equal bins over a range chosen from
//! the values, counted exactly from every value (or from a [`Sketch`] past the exact limit).
//!
//! The range is `[min, max]`, except that a tail reaching further beyond the 0.5th (or 99.5th)
//! percentile than [`TAIL_REACH`] times the width between those two percentiles is cut there
//! (its values counted in `below` or `above`): one payoff of a thousand times the typical one
//! would otherwise squeeze every other value into the first bin. The bin count is `⌈√n⌉`
//! between 10 and [`MAX_BINS`]. Everything here is a function of the set of values, never of
//! the order they arrived in, so the histogram is the same bits for any consumer count.

use crate::Moments;
use crate::percentiles::{BucketCounts, select_by_buckets};
use crate::sketch::Sketch;
use serde::{Deserialize, Serialize};

/// Most bins of an [`OutputHistogram`].
pub const MAX_BINS: usize = 50;
/// Fewest bins of an [`OutputHistogram`] (of at least one value).
const MIN_BINS: usize = 10;
/// How far past the central 99% a tail may reach, relative to the central 99%'s width, before
/// the range is cut at the percentile.
pub const TAIL_REACH: f64 = 0.5;
/// The share of values in each tail beyond the percentiles that may bound the range.
const TAIL_SHARE: f64 = 0.005;

/// Counts of an output's values in equal bins: bin `i` holds the values in
/// `[edges[i], edges[i + 1])`, the last bin also its right edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputHistogram {
    /// Bin edges, ascending: one more than the bins (two equal edges when every value is equal).
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
    /// Values below the first edge (a long left tail cut off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub below: u64,
    /// Values above the last edge (a long right tail cut off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub above: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl OutputHistogram {
    /// The histogram of every value in `chunks` (any split, any order), whose bucket counts and
    /// moments are `counts` and `m`; `None` when there are no values.
    pub fn of_values<C: AsRef<[f64]>>(
        chunks: &[C],
        counts: &BucketCounts,
        m: &Moments,
    ) -> Option<OutputHistogram> {
        let n = m.count;
        let (lo_rank, hi_rank) = tail_ranks(n)?;
        let bounds = select_by_buckets(chunks, counts, &ranks(lo_rank, hi_rank));
        let mut h = OutputHistogram::empty(n, range(m, bounds[0], bounds[bounds.len() - 1]));
        h.count(chunks.iter().flat_map(|c| c.as_ref()).map(|&x| (x, 1)));
        Some(h)
    }

    /// The histogram of the values `sketch` counted, whose moments are `m`: each of the
    /// sketch's buckets (2⁻¹⁰ of its value wide) goes whole to the bin of its middle, so a
    /// value may be counted one bin off when it lies within that much of an edge.
    pub fn of_sketch(sketch: &Sketch, m: &Moments) -> Option<OutputHistogram> {
        let n = m.count;
        let (lo_rank, hi_rank) = tail_ranks(n)?;
        let bounds = sketch.ranked(&ranks(lo_rank, hi_rank));
        let mut h = OutputHistogram::empty(n, range(m, bounds[0], bounds[bounds.len() - 1]));
        h.count(
            sketch
                .buckets()
                .map(|(count, min, max)| (min + (max - min) / 2.0, count)),
        );
        Some(h)
    }

    /// No values counted yet, in the bins of `n` values over `[lo, hi]`.
    fn empty(n: u64, (lo, hi): (f64, f64)) -> OutputHistogram {
        let bins = if lo == hi {
            1
        } else {
            ((n as f64).sqrt().ceil() as usize).clamp(MIN_BINS, MAX_BINS)
        };
        let mut edges: Vec<f64> = (0..bins)
            .map(|i| lo + (hi - lo) * (i as f64 / bins as f64))
            .collect();
        edges.push(hi);
        OutputHistogram {
            edges,
            counts: vec![0; bins],
            below: 0,
            above: 0,
        }
    }

    /// Counts each `(x, k)`: `k` values equal to `x`.
    fn count(&mut self, values: impl Iterator<Item = (f64, u64)>) {
        let (lo, hi) = (self.edges[0], self.edges[self.edges.len() - 1]);
        let bins = self.counts.len();
        // Bins per unit of value: a first guess of x's bin by one multiplication (this loop
        // sees every value of a job), corrected against the edges below.
        let per_unit = if hi > lo {
            bins as f64 / (hi - lo)
        } else {
            0.0
        };
        for (x, k) in values {
            if x < lo {
                self.below += k;
            } else if x > hi {
                self.above += k;
            } else {
                // The edge just at or below x, found by position and corrected for rounding
                // so that the bins agree with the edges written out.
                let mut i = (((x - lo) * per_unit) as usize).min(bins - 1);
                while i > 0 && x < self.edges[i] {
                    i -= 1;
                }
                while i + 1 < bins && x >= self.edges[i + 1] {
                    i += 1;
                }
                self.counts[i] += k;
            }
        }
    }

    /// Values counted in the bins and outside them: the output's count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.below + self.above
    }
}

/// The ranks of the values that may bound the range: `⌊(n − 1) 0.005⌋` and `⌈(n − 1) 0.995⌉`.
fn tail_ranks(n: u64) -> Option<(usize, usize)> {
    if n == 0 {
        return None;
    }
    let last = (n - 1) as f64;
    let lo = (last * TAIL_SHARE).floor() as usize;
    let hi = ((last * (1.0 - TAIL_SHARE)).ceil() as usize).max(lo);
    Some((lo, hi))
}

/// The distinct ranks of `lo ≤ hi`, ascending, as selection wants them.
fn ranks(lo: usize, hi: usize) -> Vec<usize> {
    if lo == hi { vec![lo] } else { vec![lo, hi] }
}

/// The histogram's range from the values' extremes and their 0.5th and 99.5th percentiles.
fn range(m: &Moments, p_lo: f64, p_hi: f64) -> (f64, f64) {
    let central = p_hi - p_lo;
    if central <= 0.0 {
        // Most values are one value: only the extremes show the rest.
        return (m.min, m.max);
    }
    let reach = TAIL_REACH * central;
    let lo = if p_lo - m.min <= reach { m.min } else { p_lo };
    let hi = if m.max - p_hi <= reach { m.max } else { p_hi };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &[f64]) -> OutputHistogram {
        let mut counts = BucketCounts::default();
        counts.add(values);
        OutputHistogram::of_values(&[values], &counts, &Moments::of(values.iter().copied()))
            .unwrap()
    }

    #[test]
    fn bins_cover_min_to_max_and_count_every_value_once() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i) / 10.0).collect();
        let h = exact(&values);
        assert_eq!(h.counts.len(), 32, "⌈√1000⌉ bins");
        assert_eq!((h.edges[0], h.edges[32]), (0.0, 99.9));
        assert_eq!(h.total(), 1000);
        assert_eq!((h.below, h.above), (0, 0));
        // Each value is in the bin whose edges enclose it.
        let mut by_hand = vec![0u64; 32];
        for &x in &values {
            let i = h.edges[1..].iter().position(|&e| x < e).unwrap_or(31);
            by_hand[i] += 1;
        }
        assert_eq!(h.counts, by_hand);
    }

    #[test]
    fn a_far_tail_is_cut_at_its_percentile_and_counted_apart() {
        let mut values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 100)).collect();
        values[17] = 1e9;
        let h = exact(&values);
        assert_eq!(h.counts.len(), MAX_BINS);
        assert_eq!(
            h.edges[0], 0.0,
            "the left tail is short: the range starts at min"
        );
        assert_eq!(
            *h.edges.last().unwrap(),
            99.0,
            "cut at the 99.5th percentile"
        );
        assert_eq!(h.above, 1);
        assert_eq!(h.total(), 10_000);
    }

    #[test]
    fn one_repeated_value_has_one_bin_and_a_pile_of_zeros_keeps_its_tail() {
        let h = exact(&[2.5; 7]);
        assert_eq!(
            (h.edges.clone(), h.counts.clone()),
            (vec![2.5, 2.5], vec![7])
        );
        // The 99.5th percentile is 0 too: the range is the extremes'.
        let mut payoffs = vec![0.0; 996];
        payoffs.extend([1.0, 2.0, 3.0, 50.0]);
        let h = exact(&payoffs);
        assert_eq!((h.edges[0], *h.edges.last().unwrap()), (0.0, 50.0));
        assert_eq!(h.counts[0], 997, "the zeros and the 1");
        assert_eq!(h.total(), 1000);
    }

    #[test]
    fn the_split_and_order_of_values_do_not_change_the_bits() {
        let values: Vec<f64> = (0..5000)
            .map(|i| (f64::from(i) * 0.37).sin() * 3.0)
            .collect();
        let whole = exact(&values);
        let mut counts = BucketCounts::default();
        let chunks: Vec<&[f64]> = values.rchunks(333).collect();
        for c in &chunks {
            counts.add(c);
        }
        let m = Moments::of(values.iter().copied());
        assert_eq!(
            OutputHistogram::of_values(&chunks, &counts, &m),
            Some(whole.clone())
        );
        // From a sketch: the same range within the sketch's error, the same total.
        let mut sketch = Sketch::default();
        for c in &chunks {
            sketch.add(c);
        }
        let sketched = OutputHistogram::of_sketch(&sketch, &m).unwrap();
        assert_eq!(sketched.total(), 5000);
        assert_eq!(sketched.counts.len(), whole.counts.len());
        let width = whole.edges[1] - whole.edges[0];
        for (a, b) in sketched.edges.iter().zip(&whole.edges) {
            assert!((a - b).abs() <= crate::SKETCH_RELATIVE_ERROR * b.abs().max(width));
        }
        assert!(OutputHistogram::of_sketch(&Sketch::default(), &Moments::default()).is_none());
    }
}
