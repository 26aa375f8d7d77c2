//! A fitted distribution as statrs sees it: its log-density (or log-probability) and CDF,
//! built from the spec's [`Distribution`] so that what is scored is exactly what the line
//! for `vars.toml` will sample.

use mcp_spec::Distribution;
use statrs::distribution::{
    self as sd, Continuous as _, ContinuousCDF, Discrete as _, DiscreteCDF,
};
use statrs::statistics::{Max, Min, Mode as _};

/// A distribution with statrs' density and CDF.
#[derive(Debug, Clone)]
pub(crate) enum Model {
    Normal(sd::Normal),
    Lognormal(sd::LogNormal),
    Exponential(sd::Exp),
    Gamma(sd::Gamma),
    Weibull(sd::Weibull),
    Beta(sd::Beta),
    Uniform(sd::Uniform),
    Triangular(sd::Triangular),
    /// `min + range · Beta(alpha, beta)`.
    Pert {
        min: f64,
        range: f64,
        beta: sd::Beta,
    },
    Poisson(sd::Poisson),
    Binomial(sd::Binomial),
    Bernoulli(sd::Bernoulli),
}

impl Model {
    /// The model of `dist`; `None` for distributions the fit does not produce, or parameters
    /// statrs refuses.
    pub(crate) fn new(dist: &Distribution) -> Option<Model> {
        use Distribution as D;
        Some(match *dist {
            D::Normal { mean, std } => Model::Normal(sd::Normal::new(mean, std).ok()?),
            D::Lognormal { mu, sigma } => Model::Lognormal(sd::LogNormal::new(mu, sigma).ok()?),
            D::Exponential { rate } => Model::Exponential(sd::Exp::new(rate).ok()?),
            D::Gamma { shape, scale } => Model::Gamma(sd::Gamma::new(shape, 1.0 / scale).ok()?),
            D::Weibull { shape, scale } => Model::Weibull(sd::Weibull::new(shape, scale).ok()?),
            D::Beta { alpha, beta } => Model::Beta(sd::Beta::new(alpha, beta).ok()?),
            D::Uniform { min, max } => Model::Uniform(sd::Uniform::new(min, max).ok()?),
            D::Triangular { min, mode, max } => {
                Model::Triangular(sd::Triangular::new(min, max, mode).ok()?)
            }
            D::Pert { min, mode, max } => {
                let (alpha, beta) = mcp_sampling::pert_shape(min, mode, max);
                Model::Pert {
                    min,
                    range: max - min,
                    beta: sd::Beta::new(alpha, beta).ok()?,
                }
            }
            D::Poisson { lambda } => Model::Poisson(sd::Poisson::new(lambda).ok()?),
            D::Binomial { n, p } => Model::Binomial(sd::Binomial::new(p, n).ok()?),
            D::Bernoulli { p } => Model::Bernoulli(sd::Bernoulli::new(p).ok()?),
            _ => return None,
        })
    }

    /// Whether it takes whole values only.
    pub(crate) fn is_discrete(&self) -> bool {
        matches!(
            self,
            Model::Poisson(_) | Model::Binomial(_) | Model::Bernoulli(_)
        )
    }

    /// The log of the density at `x` (of the probability of `x`, for a discrete one).
    pub(crate) fn ln_density(&self, x: f64) -> f64 {
        match self {
            Model::Normal(d) => d.ln_pdf(x),
            Model::Lognormal(d) => d.ln_pdf(x),
            Model::Exponential(d) => d.ln_pdf(x),
            Model::Gamma(d) => d.ln_pdf(x),
            Model::Weibull(d) => d.ln_pdf(x),
            Model::Beta(d) => d.ln_pdf(x),
            Model::Uniform(d) => d.ln_pdf(x),
            // statrs divides 0 by 0 at a mode that is also the minimum; the density there is
            // the peak's, 2/(max − min).
            Model::Triangular(d) if x == d.mode().unwrap_or(f64::NAN) => {
                (2.0 / (d.max() - d.min())).ln()
            }
            Model::Triangular(d) => d.ln_pdf(x),
            Model::Pert { min, range, beta } => beta.ln_pdf((x - min) / range) - range.ln(),
            Model::Poisson(d) => count(x).map_or(f64::NEG_INFINITY, |k| d.ln_pmf(k)),
            Model::Binomial(d) => count(x).map_or(f64::NEG_INFINITY, |k| d.ln_pmf(k)),
            Model::Bernoulli(d) => count(x).map_or(f64::NEG_INFINITY, |k| d.ln_pmf(k)),
        }
    }

    /// The density at `x` (the probability of `x`, for a discrete one).
    pub(crate) fn density(&self, x: f64) -> f64 {
        self.ln_density(x).exp()
    }
}

/// `x` as a count, when it is a whole number of 0 or more.
fn count(x: f64) -> Option<u64> {
    (x >= 0.0 && x.fract() == 0.0 && x < u64::MAX as f64).then_some(x as u64)
}

impl ContinuousCDF<f64, f64> for Model {
    /// `P(X ≤ x)`; for a discrete one, of the whole numbers up to `x`.
    fn cdf(&self, x: f64) -> f64 {
        self.tail(x, false)
    }

    /// `P(X > x)`, from statrs' survival functions, which keep their precision where the CDF
    /// rounds to 1.
    fn sf(&self, x: f64) -> f64 {
        self.tail(x, true)
    }
}

impl Model {
    /// The CDF at `x`, or the survival function when `upper`.
    fn tail(&self, x: f64, upper: bool) -> f64 {
        fn pick<D: ContinuousCDF<f64, f64>>(d: &D, x: f64, upper: bool) -> f64 {
            if upper { d.sf(x) } else { d.cdf(x) }
        }
        let discrete = |cdf: &dyn Fn(u64) -> f64, sf: &dyn Fn(u64) -> f64| {
            if x < 0.0 {
                if upper { 1.0 } else { 0.0 }
            } else {
                let k = x.floor().min(u64::MAX as f64) as u64;
                if upper { sf(k) } else { cdf(k) }
            }
        };
        match self {
            Model::Normal(d) => pick(d, x, upper),
            Model::Lognormal(d) => pick(d, x, upper),
            Model::Exponential(d) => pick(d, x, upper),
            Model::Gamma(d) => pick(d, x, upper),
            Model::Weibull(d) => pick(d, x, upper),
            Model::Beta(d) => pick(d, x, upper),
            Model::Uniform(d) => pick(d, x, upper),
            Model::Triangular(d) => pick(d, x, upper),
            Model::Pert { min, range, beta } => pick(beta, (x - min) / range, upper),
            Model::Poisson(d) => discrete(&|k| d.cdf(k), &|k| d.sf(k)),
            Model::Binomial(d) => discrete(&|k| d.cdf(k), &|k| d.sf(k)),
            Model::Bernoulli(d) => discrete(&|k| d.cdf(k), &|k| d.sf(k)),
        }
    }
}

/// statrs' tests need the support's ends only to invert the CDF, which they never do here.
impl Min<f64> for Model {
    fn min(&self) -> f64 {
        f64::NEG_INFINITY
    }
}

impl Max<f64> for Model {
    fn max(&self) -> f64 {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_and_cdfs_are_statrs_ones_in_the_spec_parametrisation() {
        // Gamma: the spec's scale is statrs' 1/rate. Shape 2, scale 3 has density
        // x e^(−x/3) / 9 and mean 6.
        let gamma = Model::new(&Distribution::Gamma {
            shape: 2.0,
            scale: 3.0,
        })
        .unwrap();
        let x: f64 = 4.0;
        assert!((gamma.density(x) - x * (-x / 3.0).exp() / 9.0).abs() < 1e-15);
        // PERT on [0, 6] with mode 3 is Beta(3, 3) scaled by 6: density at 3 is
        // (3/6)²(3/6)² / B(3, 3) / 6 = (1/16) · 30 / 6.
        let pert = Model::new(&Distribution::Pert {
            min: 0.0,
            mode: 3.0,
            max: 6.0,
        })
        .unwrap();
        assert!((pert.density(3.0) - 30.0 / 16.0 / 6.0).abs() < 1e-12);
        assert!((pert.cdf(3.0) - 0.5).abs() < 1e-12);
        // Poisson(2): P(1) = 2e⁻², P(X ≤ 1) = 3e⁻², nothing at 1.5 or below 0.
        let poisson = Model::new(&Distribution::Poisson { lambda: 2.0 }).unwrap();
        let e2 = (-2.0f64).exp();
        assert!((poisson.density(1.0) - 2.0 * e2).abs() < 1e-15);
        assert!((poisson.cdf(1.5) - 3.0 * e2).abs() < 1e-15);
        assert_eq!(poisson.density(1.5), 0.0);
        assert_eq!(poisson.cdf(-0.5), 0.0);
        assert!((poisson.sf(1.5) - (1.0 - 3.0 * e2)).abs() < 1e-15);
        // Far in a tail the CDF rounds to 1, the survival function does not: P(Z > 10) of a
        // standard normal is 7.6e-24.
        let normal = Model::new(&Distribution::Normal {
            mean: 0.0,
            std: 1.0,
        })
        .unwrap();
        assert_eq!(normal.cdf(10.0), 1.0);
        assert!((normal.sf(10.0) / 7.619853e-24 - 1.0).abs() < 1e-6);
        assert!(poisson.is_discrete() && !pert.is_discrete());
        // A triangular whose mode is its minimum peaks there at 2/(max − min).
        let right = Model::new(&Distribution::Triangular {
            min: 1.0,
            mode: 1.0,
            max: 5.0,
        })
        .unwrap();
        assert_eq!(right.density(1.0), 0.5);
        assert!((right.density(3.0) - 0.25).abs() < 1e-15);
        assert!(Model::new(&Distribution::StudentT { df: 3.0 }).is_none());
    }
}
