//! Analytic mean and variance of each distribution, from statrs where it has them.

use crate::pert_shape;
use mcp_spec::Distribution;
use statrs::distribution as sd;
use statrs::distribution::{Continuous, ContinuousCDF};

/// The mean and variance of `dist`, or `None` where they do not exist (Student's t with df ≤ 2).
pub fn analytic_moments(dist: &Distribution) -> Option<(f64, f64)> {
    use Distribution as D;
    fn of<T: statrs::statistics::Distribution<f64>>(d: T) -> Option<(f64, f64)> {
        Some((d.mean()?, d.variance()?))
    }
    match dist {
        D::Constant { value } => Some((*value, 0.0)),
        D::Normal { mean, std } => of(sd::Normal::new(*mean, *std).ok()?),
        D::Uniform { min, max } => of(sd::Uniform::new(*min, *max).ok()?),
        D::Exponential { rate } => of(sd::Exp::new(*rate).ok()?),
        D::Lognormal { mu, sigma } => of(sd::LogNormal::new(*mu, *sigma).ok()?),
        D::Triangular { min, mode, max } => of(sd::Triangular::new(*min, *max, *mode).ok()?),
        D::Binomial { n, p } => of(sd::Binomial::new(*p, *n).ok()?),
        D::Poisson { lambda } => of(sd::Poisson::new(*lambda).ok()?),
        D::Bernoulli { p } => of(sd::Bernoulli::new(*p).ok()?),
        D::Beta { alpha, beta } => of(sd::Beta::new(*alpha, *beta).ok()?),
        D::Gamma { shape, scale } => of(sd::Gamma::new(*shape, 1.0 / scale).ok()?),
        D::Weibull { shape, scale } => of(sd::Weibull::new(*shape, *scale).ok()?),
        D::Pert { min, mode, max } => {
            let (a, b) = pert_shape(*min, *mode, *max);
            let (m, v) = of(sd::Beta::new(a, b).ok()?)?;
            let range = max - min;
            Some((min + range * m, range * range * v))
        }
        D::StudentT { df } => {
            if *df <= 2.0 {
                None
            } else {
                of(sd::StudentsT::new(0.0, 1.0, *df).ok()?)
            }
        }
        D::TruncatedNormal {
            mean,
            std,
            min,
            max,
        } => {
            let unit = sd::Normal::standard();
            let (a, b) = ((min - mean) / std, (max - mean) / std);
            let z = unit.cdf(b) - unit.cdf(a);
            let (pa, pb) = (unit.pdf(a), unit.pdf(b));
            let m = mean + std * (pa - pb) / z;
            let v = std * std * (1.0 + (a * pa - b * pb) / z - ((pa - pb) / z).powi(2));
            Some((m, v))
        }
        D::Discrete { values, weights } => {
            let total: f64 = weights.iter().sum();
            let m = values.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>() / total;
            let v = values
                .iter()
                .zip(weights)
                .map(|(x, w)| w * (x - m) * (x - m))
                .sum::<f64>()
                / total;
            Some((m, v))
        }
    }
}
