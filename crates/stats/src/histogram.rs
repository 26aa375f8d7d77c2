//! A histogram of fixed bin count whose range grows to fit the values: for live views.

use serde::Serialize;

/// Bins of a [`Histogram`].
pub const BINS: usize = 64;

/// Counts of values in [`BINS`] equal bins over `[lo, lo + BINS · width)`. The range starts at
/// the first values' span and doubles (merging neighbouring bins, so no count moves) whenever a
/// value falls outside, so memory is constant and counts stay exact; only the bin edges depend
/// on the order values arrived in. Non-finite values are counted apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lo: f64,
    /// Width of each bin.
    pub width: f64,
    /// Values per bin.
    pub bins: Vec<u64>,
    /// NaN and infinite values, which have no bin.
    pub nonfinite: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            lo: 0.0,
            width: 0.0,
            bins: vec![0; BINS],
            nonfinite: 0,
        }
    }
}

impl Histogram {
    /// Values counted in bins.
    pub fn count(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// Adds a batch of values.
    pub fn add(&mut self, values: &[f64]) {
        self.add_counted(values.iter().map(|&v| (v, 1)));
    }

    /// Adds a batch sketched by a consumer: each bucket's smallest and largest value, and the
    /// rest of its values at its middle (within one bucket, 2⁻¹⁰ of the value, of where they
    /// are: far less than a bin).
    pub fn add_part(&mut self, part: &crate::SketchPart) {
        self.add_counted(part.buckets().iter().flat_map(|b| {
            let middle = b.min + (b.max - b.min) / 2.0;
            [
                (b.min, 1),
                (b.max, b.count.min(2) - 1),
                (middle, b.count.saturating_sub(2)),
            ]
        }));
    }

    /// Adds `count` copies of each value.
    fn add_counted<I: Iterator<Item = (f64, u64)> + Clone>(&mut self, values: I) {
        let finite = values
            .clone()
            .filter(|&(v, n)| n > 0 && v.is_finite())
            .map(|(v, _)| v);
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if self.width == 0.0 {
            // The first values fix the starting range.
            if lo.is_finite() {
                let span = if hi > lo {
                    hi - lo
                } else {
                    lo.abs().max(1.0) * 1e-6
                };
                self.lo = lo;
                // A little room on the right, so that the largest value has a bin.
                self.width = span * (1.0 + 1e-9) / BINS as f64;
            }
        }
        // The batch's extremes decide the range, once, not each value.
        if lo.is_finite() {
            self.grow_to(lo);
            self.grow_to(hi);
        }
        for (v, n) in values {
            if !v.is_finite() {
                self.nonfinite += n;
                continue;
            }
            let i = ((v - self.lo) / self.width) as usize;
            self.bins[i.min(BINS - 1)] += n;
        }
    }

    fn hi(&self) -> f64 {
        self.lo + self.width * BINS as f64
    }

    /// Doubles the range (towards `v`) until it holds `v`.
    fn grow_to(&mut self, v: f64) {
        while v < self.lo || v >= self.hi() {
            if !(self.width * 2.0).is_finite() {
                return;
            }
            let merged: Vec<u64> = self.bins.chunks(2).map(|p| p[0] + p[1]).collect();
            self.bins.fill(0);
            if v < self.lo {
                // The old range becomes the right half.
                self.lo -= self.width * BINS as f64;
                self.bins[BINS / 2..].copy_from_slice(&merged);
            } else {
                self.bins[..BINS / 2].copy_from_slice(&merged);
            }
            self.width *= 2.0;
        }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), interpolated within its bin: an estimate, within one bin
    /// width of the exact value.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * n as f64;
        let mut below = 0u64;
        for (i, &c) in self.bins.iter().enumerate() {
            if c > 0 && (below + c) as f64 >= target {
                let within = (target - below as f64) / c as f64;
                return Some(self.lo + self.width * (i as f64 + within));
            }
            below += c;
        }
        Some(self.hi())
    }

    /// The mean of the values above the `q`-quantile, each bin's values taken as spread evenly
    /// over it (as [`Histogram::quantile`] takes them): an estimate, within one bin width of
    /// the mean of the same share of the largest values.
    pub fn tail_mean(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * n as f64;
        let (mut below, mut sum, mut tail) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &c) in self.bins.iter().enumerate() {
            let c = c as f64;
            // The share of this bin above the target rank, and where that share's middle lies.
            let within = ((target - below) / c).clamp(0.0, 1.0);
            if c > 0.0 && within < 1.0 {
                let share = (1.0 - within) * c;
                sum += share * (self.lo + self.width * (i as f64 + (within + 1.0) / 2.0));
                tail += share;
            }
            below += c;
        }
        Some(if tail > 0.0 { sum / tail } else { self.hi() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sketched_batch_fills_the_bins_its_values_would() {
        let values: Vec<f64> = (0..5000)
            .map(|i| match i % 4 {
                0 => 0.0,
                _ => ((i as f64) * 0.618).fract() * 40.0 + 1.0,
            })
            .collect();
        let part = crate::SketchParts::default().of(&values);
        let (mut from_values, mut from_part) = (Histogram::default(), Histogram::default());
        from_values.add(&values);
        from_part.add_part(&part);
        assert_eq!(from_part.count(), 5000);
        assert_eq!(
            (from_part.lo, from_part.width),
            (from_values.lo, from_values.width)
        );
        // A bucket is 2⁻¹⁰ of its value wide, a bin 1/64 of the range: a few values near
        // edges move to a neighbouring bin, no further.
        let moved: u64 = (from_values.bins.iter().zip(&from_part.bins))
            .map(|(a, b)| a.abs_diff(*b))
            .sum();
        assert!(moved <= 200, "{moved} of 5000 moved");
        assert_eq!(from_values.bins[0], from_part.bins[0]);
    }

    #[test]
    fn counts_survive_any_growth_and_quantiles_stay_within_a_bin() {
        let mut h = Histogram::default();
        h.add(&[10.0, 10.5, 11.0]);
        let values: Vec<f64> = (0..10_000)
            .map(|i| (i as f64 * 0.37).sin() * 100.0)
            .collect();
        h.add(&values);
        h.add(&[f64::NAN, f64::INFINITY, 1e6]);
        assert_eq!(h.count(), 10_004);
        assert_eq!(h.nonfinite, 2);
        assert!(
            h.lo <= -100.0 && h.lo + h.width * BINS as f64 > 1e6,
            "{h:?}"
        );

        let mut sorted = values.clone();
        sorted.extend([10.0, 10.5, 11.0, 1e6]);
        sorted.sort_by(f64::total_cmp);
        let exact = sorted[sorted.len() / 2];
        let estimate = h.quantile(0.5).unwrap();
        assert!((estimate - exact).abs() <= h.width, "{estimate} vs {exact}");
    }

    #[test]
    fn the_tail_mean_is_within_a_bin_of_the_exact_one() {
        let values: Vec<f64> = (0..10_000)
            .map(|i| (i as f64 * 0.37).sin() * 100.0)
            .collect();
        let mut h = Histogram::default();
        h.add(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let top = &sorted[9_500..];
        let exact = top.iter().sum::<f64>() / top.len() as f64;
        let estimate = h.tail_mean(0.95).unwrap();
        assert!((estimate - exact).abs() <= h.width, "{estimate} vs {exact}");
    }

    #[test]
    fn one_repeated_value_has_a_bin() {
        let mut h = Histogram::default();
        h.add(&[0.0; 5]);
        h.add(&[0.0, 1.0]);
        assert_eq!(h.count(), 7);
        assert!(h.quantile(0.0).unwrap() <= 0.0 + h.width);
        assert!(Histogram::default().quantile(0.5).is_none());
    }
}
