//! How an output's mean settled as a job ran: the running mean and its 95% interval, taken
//! from the moments merged in batch order, at batch counts fixed by the job's size alone.
//!
//! A point is recorded after batch `b` (counting from 1) of the merge when `b` is a power of
//! two (the early, wide intervals) or a multiple of the stride `⌈batches / 128⌉`, and once at
//! the end: at most about 128 + log₂(stride) + 1 points, whatever the job's size. The moments
//! after a given batch are the same bits whatever ran the job, so the points are too.

use crate::{Moments, Z_975};

/// Points spread evenly over a job, besides the powers of two.
pub const CONVERGENCE_POINTS: u64 = 128;

/// The running mean of one output, sampled as batches merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Convergence {
    stride: u64,
    points: Vec<[f64; 4]>,
}

impl Convergence {
    /// A series for a job of `batches` batches.
    pub fn new(batches: u64) -> Convergence {
        Convergence {
            stride: batches.div_ceil(CONVERGENCE_POINTS).max(1),
            points: Vec::new(),
        }
    }

    /// Records `m`, the moments merged once batch `index` (0-based) has joined them, when the
    /// batch count falls on a recorded point.
    pub fn record(&mut self, index: u64, m: &Moments) {
        let b = index + 1;
        if b.is_power_of_two() || b.is_multiple_of(self.stride) {
            self.push(m);
        }
    }

    /// The points, with the final moments `m` last: `[values, mean, ci low, ci high]`, the
    /// interval `mean ± 1.96 · std / √values` as the summary's `ci95` (equal to it at the end).
    /// Moments of fewer than two values have no interval and give no point.
    pub fn finish(mut self, m: &Moments) -> Vec<[f64; 4]> {
        self.push(m);
        self.points
    }

    fn push(&mut self, m: &Moments) {
        if m.count < 2 || self.points.last().is_some_and(|p| p[0] == m.count as f64) {
            return;
        }
        let half = Z_975 * (m.std() / (m.count as f64).sqrt());
        self.points
            .push([m.count as f64, m.mean, m.mean - half, m.mean + half]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_bounded_and_end_at_the_final_moments() {
        let batches = 10_000u64;
        let mut series = Convergence::new(batches);
        let mut m = Moments::default();
        for i in 0..batches {
            m.merge(&Moments::of([(i as f64).sin(), (i as f64).cos()]));
            series.record(i, &m);
        }
        let points = series.finish(&m);
        // Stride 79: 126 multiples, plus the powers of two 1..8192 not among them, plus the end.
        assert!(points.len() <= 128 + 14 + 1, "{}", points.len());
        assert_eq!(points[0][0], 2.0, "after the first batch");
        assert_eq!(points.last().unwrap()[0], 20_000.0);
        assert!(points.windows(2).all(|w| w[0][0] < w[1][0]));
        let last = points.last().unwrap();
        let stderr = m.std() / 20_000f64.sqrt();
        assert_eq!(last[1], m.mean);
        assert_eq!(
            [last[2], last[3]],
            [m.mean - Z_975 * stderr, m.mean + Z_975 * stderr]
        );
        assert!(points.iter().all(|p| p[2] <= p[1] && p[1] <= p[3]));
    }

    #[test]
    fn single_values_give_no_point() {
        let mut series = Convergence::new(3);
        series.record(0, &Moments::of([1.0]));
        assert!(series.finish(&Moments::of([1.0])).is_empty());
    }
}
