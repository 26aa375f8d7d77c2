//! The data to fit: checked once (enough values, not all equal, finite), sorted, with the
//! sums every estimator starts from.

use crate::FitError;

/// Fewest values a fit accepts: below this, the statistics of the table mean little.
pub const MIN_VALUES: usize = 8;

/// Checked, sorted data.
#[derive(Debug, Clone)]
pub struct Sample {
    sorted: Vec<f64>,
    mean: f64,
}

impl Sample {
    /// Checks `values` of the column `name`: at least [`MIN_VALUES`], all finite, not all
    /// equal. The error names the column and says what to do.
    pub fn new(name: &str, mut values: Vec<f64>) -> Result<Sample, FitError> {
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(FitError(format!(
                "column `{name}`: {v} is not a finite number; remove it"
            )));
        }
        if values.len() < MIN_VALUES {
            return Err(FitError(format!(
                "column `{name}` has {} value{}; a fit needs at least {MIN_VALUES} (and is \
                 better with hundreds)",
                values.len(),
                if values.len() == 1 { "" } else { "s" }
            )));
        }
        values.sort_by(f64::total_cmp);
        let (first, last) = (values[0], values[values.len() - 1]);
        if first == last {
            return Err(FitError(format!(
                "column `{name}`: every value is {first}, so there is no distribution to fit; \
                 use `{{ dist = \"constant\", value = {first:?} }}`"
            )));
        }
        let mean = mean(&values);
        Ok(Sample {
            sorted: values,
            mean,
        })
    }

    /// The values, in increasing order.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Never: a sample has at least [`MIN_VALUES`].
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The smallest value.
    pub fn min(&self) -> f64 {
        self.sorted[0]
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The maximum likelihood variance (divided by n, not n − 1).
    pub fn variance(&self) -> f64 {
        variance(&self.sorted, self.mean)
    }

    /// Whether every value is a whole number of 0 or more: counts.
    pub fn is_counts(&self) -> bool {
        self.min() >= 0.0 && self.sorted.iter().all(|v| v.fract() == 0.0)
    }

    /// The mean and the maximum likelihood variance of `f` of the values.
    pub fn moments_of(&self, f: impl Fn(f64) -> f64) -> (f64, f64) {
        let mapped: Vec<f64> = self.sorted.iter().map(|&x| f(x)).collect();
        let m = mean(&mapped);
        (m, variance(&mapped, m))
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn variance(values: &[f64], mean: f64) -> f64 {
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_equal_or_infinite_values_are_refused_with_the_fix() {
        let err = Sample::new("loss", vec![1.0, 2.0, 3.0]).unwrap_err().0;
        assert_eq!(
            err,
            "column `loss` has 3 values; a fit needs at least 8 (and is better with hundreds)"
        );
        let err = Sample::new("loss", vec![2.5; 10]).unwrap_err().0;
        assert_eq!(
            err,
            "column `loss`: every value is 2.5, so there is no distribution to fit; use \
             `{ dist = \"constant\", value = 2.5 }`"
        );
        let mut values = vec![1.0; 9];
        values.push(f64::INFINITY);
        let err = Sample::new("loss", values).unwrap_err().0;
        assert!(err.contains("inf is not a finite number"), "{err}");
    }

    #[test]
    fn the_moments_are_those_of_the_values() {
        let s = Sample::new("x", vec![4.0, 1.0, 3.0, 2.0, 5.0, 6.0, 8.0, 7.0]).unwrap();
        assert_eq!(s.sorted(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(s.mean(), 4.5);
        // Σ (x − 4.5)² = 2 (0.25 + 2.25 + 6.25 + 12.25) = 42, over n = 8.
        assert_eq!(s.variance(), 42.0 / 8.0);
        assert!(s.is_counts());
        let (m, v) = s.moments_of(|x| 2.0 * x);
        assert_eq!((m, v), (9.0, 4.0 * 42.0 / 8.0));
    }
}
