//! Exact percentiles of sorted values.

use serde::{Deserialize, Serialize};

/// The percentiles every summary reports.
pub const PERCENTILES: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

/// Percentiles of one output, in the order of [`PERCENTILES`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p1: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Percentiles {
    /// Percentiles of ascending `sorted` values (all NaN when empty).
    pub fn of_sorted(sorted: &[f64]) -> Percentiles {
        let p = |q| percentile_sorted(sorted, q);
        Percentiles {
            p1: p(1.0),
            p5: p(5.0),
            p25: p(25.0),
            p50: p(50.0),
            p75: p(75.0),
            p95: p(95.0),
            p99: p(99.0),
        }
    }

    /// The values with their labels, e.g. `("p50", 6.0)`.
    pub fn labelled(&self) -> [(&'static str, f64); 7] {
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

/// Percentile `q` (0–100) of ascending values, interpolating linearly between closest ranks
/// (Hyndman and Fan's type 7, numpy's and R's default); NaN when empty.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q / 100.0;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = h - lo as f64;
            if frac == 0.0 {
                sorted[lo]
            } else {
                sorted[lo] + frac * (sorted[hi] - sorted[lo])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [1, 25, 50, 99]) == [1.04, 2.0, 3.0, 9.76]
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(percentile_sorted(&v, 1.0), 1.04));
        assert!(close(percentile_sorted(&v, 25.0), 2.0));
        assert!(close(percentile_sorted(&v, 50.0), 3.0));
        assert!(close(percentile_sorted(&v, 99.0), 9.76));
        assert_eq!(percentile_sorted(&v, 100.0), 10.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
    }

    #[test]
    fn edge_cases() {
        assert!(percentile_sorted(&[], 50.0).is_nan());
        assert_eq!(percentile_sorted(&[4.0], 99.0), 4.0);
    }
}
