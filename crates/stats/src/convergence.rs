//! How an output's mean settled as a job ran: the running mean and its 95% interval, taken
//! from the moments merged in batch order, at batch counts that depend on nothing but how many
//! batches have merged.
//!
//! After batch `b` (counting from 1) merges, a point is kept when `b` is a power of two (the
//! early, wide intervals) or a multiple of the stride `s`, the smallest power of two with
//! `b / s ≤` [`CONVERGENCE_POINTS`]; when `s` doubles, the points that are neither are dropped.
//! The end adds the final moments. A job holds at most about 128 + 64 + 1 points, evenly spread
//! over it, whatever its size; and since neither the job's size nor its end decide which
//! points exist, a job stopped after `k` batches (a `[stop]` rule) has the points of a job of
//! `k` batches. The moments after a given batch are the same bits whatever ran the job, so the
//! points are too.

use crate::{Moments, Z_975};

/// Most points spread evenly over a job, besides the powers of two and the end.
pub const CONVERGENCE_POINTS: u64 = 128;

/// The running mean of one output, sampled as batches merge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Convergence {
    stride: u64,
    /// The batch count and the point recorded after it, oldest first.
    points: Vec<(u64, [f64; 4])>,
}

impl Convergence {
    /// Records `m`, the moments merged once batch `index` (0-based) has joined them, when the
    /// batch count falls on a kept point.
    pub fn record(&mut self, index: u64, m: &Moments) {
        let b = index + 1;
        let stride = self.stride.max(1);
        if b.is_power_of_two() || b.is_multiple_of(stride) {
            self.push(b, m);
        }
        let mut stride = stride;
        while b / stride > CONVERGENCE_POINTS {
            stride *= 2;
        }
        if stride != self.stride {
            self.stride = stride;
            self.points
                .retain(|(b, _)| b.is_power_of_two() || b.is_multiple_of(stride));
        }
    }

    /// The points, with the final moments `m` last: `[values, mean, ci low, ci high]`, the
    /// interval `mean ± 1.96 · std / √values` as the summary's `ci95` (equal to it at the end).
    /// Moments of fewer than two values have no interval and give no point.
    pub fn finish(mut self, m: &Moments) -> Vec<[f64; 4]> {
        self.push(u64::MAX, m);
        self.points.into_iter().map(|(_, p)| p).collect()
    }

    fn push(&mut self, b: u64, m: &Moments) {
        let last = self.points.last().map(|(_, p)| p[0]);
        if m.count < 2 || last == Some(m.count as f64) {
            return;
        }
        let half = Z_975 * (m.std() / (m.count as f64).sqrt());
        self.points
            .push((b, [m.count as f64, m.mean, m.mean - half, m.mean + half]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(batches: u64) -> (Vec<[f64; 4]>, Moments) {
        let mut series = Convergence::default();
        let mut m = Moments::default();
        for i in 0..batches {
            m.merge(&Moments::of([(i as f64).sin(), (i as f64).cos()]));
            series.record(i, &m);
        }
        (series.finish(&m), m)
    }

    #[test]
    fn points_are_bounded_evenly_spread_and_end_at_the_final_moments() {
        let (points, m) = run(10_000);
        // Stride 128: 78 multiples, the powers of two 1 to 64 besides, and the end.
        assert_eq!(points.len(), 78 + 7 + 1);
        assert_eq!(points[0][0], 2.0, "after the first batch");
        assert!(points.windows(2).all(|w| w[0][0] < w[1][0]));
        let last = points.last().unwrap();
        assert_eq!(last[0], 20_000.0);
        let stderr = m.std() / 20_000f64.sqrt();
        assert_eq!(last[1], m.mean);
        assert_eq!(
            [last[2], last[3]],
            [m.mean - Z_975 * stderr, m.mean + Z_975 * stderr]
        );
        assert!(points.iter().all(|p| p[2] <= p[1] && p[1] <= p[3]));
        // A hundred times longer: still about as many points.
        assert!(run(1_000_000).0.len() <= 128 + 20 + 1);
    }

    #[test]
    fn single_values_give_no_point() {
        let mut series = Convergence::default();
        series.record(0, &Moments::of([1.0]));
        assert!(series.finish(&Moments::of([1.0])).is_empty());
    }
}
