//! Count, mean, squared deviations, min and max, with the pairwise merge of Chan et al.

use serde::{Deserialize, Serialize};

/// Streaming moments of a set of values.
///
/// `push` is Welford's update; `merge` is the pairwise combination of Chan, Golub and LeVeque.
/// Floating-point results depend on the order of pushes and merges, so callers fix that order:
/// values in scenario order within a batch, batches in batch order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Mean of the values (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Smallest value (+∞ when empty).
    pub min: f64,
    /// Largest value (−∞ when empty).
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Moments of a slice, in slice order.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Moments {
        let mut m = Moments::default();
        for x in values {
            m.push(x);
        }
        m
    }

    /// Moments of a slice by two passes (sum, then squared deviations from the mean), each
    /// accumulated in four interleaved lanes that are added at the end: vectorisable, more
    /// accurate than one value at a time, and a fixed function of the slice.
    pub fn of_slice(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::default();
        }
        let n = values.len() as f64;
        let (mut sum, mut min, mut max) = ([0.0; 4], [f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
        let mut quads = values.chunks_exact(4);
        for q in &mut quads {
            for l in 0..4 {
                sum[l] += q[l];
                min[l] = if q[l] < min[l] { q[l] } else { min[l] };
                max[l] = if q[l] > max[l] { q[l] } else { max[l] };
            }
        }
        for (l, &x) in quads.remainder().iter().enumerate() {
            sum[l] += x;
            min[l] = min[l].min(x);
            max[l] = max[l].max(x);
        }
        let mean = ((sum[0] + sum[1]) + (sum[2] + sum[3])) / n;
        let mut m2 = [0.0; 4];
        let mut quads = values.chunks_exact(4);
        for q in &mut quads {
            for l in 0..4 {
                m2[l] += (q[l] - mean) * (q[l] - mean);
            }
        }
        for (l, &x) in quads.remainder().iter().enumerate() {
            m2[l] += (x - mean) * (x - mean);
        }
        Moments {
            count: values.len() as u64,
            mean,
            m2: (m2[0] + m2[1]) + (m2[2] + m2[3]),
            min: min.into_iter().fold(f64::INFINITY, f64::min),
            max: max.into_iter().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// Folds `other` in, as if its values had been pushed after these.
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n = self.count + other.count;
        let delta = other.mean - self.mean;
        let (na, nb) = (self.count as f64, other.count as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += other.m2 + delta * delta * na * nb / n as f64;
        self.count = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Sample variance (n − 1 denominator); NaN for fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// Sample standard deviation.
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::Moments;

    #[test]
    fn merge_matches_a_single_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0)
            .collect();
        let whole = Moments::of(xs.iter().copied());
        let mut merged = Moments::of(xs[..313].iter().copied());
        merged.merge(&Moments::of(xs[313..].iter().copied()));
        assert_eq!(merged.count, whole.count);
        assert!((merged.mean - whole.mean).abs() < 1e-12 * whole.mean.abs());
        assert!((merged.variance() - whole.variance()).abs() < 1e-10 * whole.variance());
        assert_eq!((merged.min, merged.max), (whole.min, whole.max));
    }

    #[test]
    fn two_pass_matches_welford() {
        let xs: Vec<f64> = (0..777)
            .map(|i| (i as f64 * 0.37).sin() * 1e3 + 5e3)
            .collect();
        let a = Moments::of(xs.iter().copied());
        let b = Moments::of_slice(&xs);
        assert_eq!((a.count, a.min, a.max), (b.count, b.min, b.max));
        assert!((a.mean - b.mean).abs() < 1e-9);
        assert!((a.m2 - b.m2).abs() < 1e-6 * a.m2);
        assert_eq!(Moments::of_slice(&[]), Moments::default());
    }

    #[test]
    fn known_values() {
        let m = Moments::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m.mean, 5.0);
        assert_eq!(m.m2, 32.0);
        assert!((m.variance() - 32.0 / 7.0).abs() < 1e-15);
    }

    #[test]
    fn empty_merges_are_identities() {
        let mut a = Moments::default();
        let b = Moments::of([1.0, 3.0]);
        a.merge(&b);
        assert_eq!(a, b);
        a.merge(&Moments::default());
        assert_eq!(a, b);
        assert!(Moments::default().variance().is_nan());
    }
}
