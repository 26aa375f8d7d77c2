//! Paired outputs: the moments of two runs' values of one output, scenario by scenario, and of
//! their difference; and what they say about the difference of the means.
//!
//! When both runs draw scenario `i` from the same random numbers (common random numbers), the
//! difference `D = B − A` varies far less than `A` and `B` do, and the interval of its mean is
//! correspondingly narrower than the one two independent runs would give.

use crate::{Moments, Z_975};
use serde::{Deserialize, Serialize};

/// Moments of the paired values of one output in runs A and B, and of `B − A`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedMoments {
    /// Run A's values.
    pub a: Moments,
    /// Run B's values.
    pub b: Moments,
    /// The differences `B − A`, scenario by scenario.
    pub diff: Moments,
}

impl PairedMoments {
    /// Moments of the pairs `(a[i], b[i])`, each column summarised by [`Moments::of_slice`].
    ///
    /// # Panics
    /// When the slices differ in length: pairs come from the same scenarios.
    pub fn of_slices(a: &[f64], b: &[f64]) -> PairedMoments {
        assert_eq!(a.len(), b.len(), "paired values come in pairs");
        let diff: Vec<f64> = a.iter().zip(b).map(|(a, b)| b - a).collect();
        PairedMoments {
            a: Moments::of_slice(a),
            b: Moments::of_slice(b),
            diff: Moments::of_slice(&diff),
        }
    }

    /// Folds `other` in, as if its pairs came after these (Chan's merge, column by column).
    pub fn merge(&mut self, other: &PairedMoments) {
        self.a.merge(&other.a);
        self.b.merge(&other.b);
        self.diff.merge(&other.diff);
    }

    /// What the pairs say about `mean B − mean A`.
    pub fn comparison(&self) -> Comparison {
        let n = self.diff.count as f64;
        let paired = Z_975 * self.diff.std() / n.sqrt();
        let independent = Z_975 * (self.a.variance() / n + self.b.variance() / n).sqrt();
        let mean_diff = self.diff.mean;
        Comparison {
            pairs: self.diff.count,
            mean_a: self.a.mean,
            mean_b: self.b.mean,
            mean_diff,
            std_diff: self.diff.std(),
            ci95: [mean_diff - paired, mean_diff + paired],
            half_width_paired: paired,
            half_width_independent: independent,
            narrowing: (paired > 0.0 && independent.is_finite()).then(|| independent / paired),
        }
    }
}

/// The difference of one output's means between runs A and B, from paired scenarios.
///
/// Intervals are normal (`z` = 1.96), like the job summary's: with the thousands of scenarios a
/// comparison runs, Student's `t` differs from it in the third digit at most.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Scenarios that succeeded in both runs.
    pub pairs: u64,
    /// Mean of A over the pairs.
    pub mean_a: f64,
    /// Mean of B over the pairs.
    pub mean_b: f64,
    /// Mean of the differences `B − A`.
    pub mean_diff: f64,
    /// Standard deviation of the differences (n − 1 denominator).
    pub std_diff: f64,
    /// 95% confidence interval of the mean difference, from the paired differences:
    /// `mean_diff ± 1.96 · std_diff / √pairs`.
    pub ci95: [f64; 2],
    /// Half-width of `ci95`.
    pub half_width_paired: f64,
    /// Half-width the interval would have if A and B had been run on independent draws:
    /// `1.96 · √(s_A² / n + s_B² / n)`.
    pub half_width_independent: f64,
    /// `half_width_independent / half_width_paired`: how many times narrower pairing makes the
    /// interval. `None` when the paired interval has no width (the difference is the same in
    /// every scenario) or there are fewer than two pairs.
    pub narrowing: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: usize) -> (Vec<f64>, Vec<f64>) {
        let a: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 10.0).collect();
        let b = a
            .iter()
            .enumerate()
            .map(|(i, x)| 1.1 * x + 3.0 + (i % 7) as f64 * 0.01)
            .collect();
        (a, b)
    }

    #[test]
    fn merging_batches_matches_one_pass() {
        let (a, b) = pairs(1000);
        let whole = PairedMoments::of_slices(&a, &b);
        let mut merged = PairedMoments::of_slices(&a[..300], &b[..300]);
        merged.merge(&PairedMoments::of_slices(&a[300..], &b[300..]));
        assert_eq!(merged.diff.count, 1000);
        for (m, w) in [
            (merged.a, whole.a),
            (merged.b, whole.b),
            (merged.diff, whole.diff),
        ] {
            assert!((m.mean - w.mean).abs() < 1e-12 * w.mean.abs());
            assert!((m.m2 - w.m2).abs() < 1e-10 * w.m2);
        }
    }

    #[test]
    fn the_comparison_follows_its_formulas() {
        let (a, b) = pairs(1000);
        let c = PairedMoments::of_slices(&a, &b).comparison();
        let (ma, mb) = (Moments::of_slice(&a), Moments::of_slice(&b));
        let d: Vec<f64> = a.iter().zip(&b).map(|(a, b)| b - a).collect();
        let md = Moments::of_slice(&d);
        assert_eq!(c.pairs, 1000);
        assert_eq!(
            (c.mean_a, c.mean_b, c.mean_diff),
            (ma.mean, mb.mean, md.mean)
        );
        let paired = Z_975 * md.std() / 1000f64.sqrt();
        let independent = Z_975 * ((ma.variance() + mb.variance()) / 1000.0).sqrt();
        assert_eq!(c.half_width_paired, paired);
        assert_eq!(c.ci95, [md.mean - paired, md.mean + paired]);
        assert_eq!(c.half_width_independent, independent);
        assert_eq!(c.narrowing, Some(independent / paired));
        // B is nearly a linear function of A, so the differences vary far less than either.
        assert!(c.narrowing.unwrap() > 10.0);
    }

    #[test]
    fn a_constant_difference_has_no_narrowing_ratio() {
        let a = [1.0, 2.0, 4.0];
        let b = [3.0, 4.0, 6.0];
        let c = PairedMoments::of_slices(&a, &b).comparison();
        assert_eq!(
            (c.mean_diff, c.std_diff, c.half_width_paired),
            (2.0, 0.0, 0.0)
        );
        assert!(c.half_width_independent > 0.0);
        assert_eq!(c.narrowing, None);
        let empty = PairedMoments::default().comparison();
        assert_eq!((empty.pairs, empty.narrowing), (0, None));
    }
}
