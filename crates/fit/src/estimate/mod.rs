//! The candidate families and their maximum likelihood estimates: closed forms where they
//! exist (`closed.rs`, `counts.rs`), a root of the shape equation for gamma and Weibull
//! (`shape.rs`), a minimum of the negative log-likelihood for beta (`beta.rs`) and for the
//! families bounded by parameters, triangular and PERT (`bounded.rs`).

mod beta;
mod bounded;
mod closed;
mod counts;
mod shape;

use crate::Sample;
use mcp_spec::Distribution;
use serde::Serialize;

/// A distribution family `mcp fit` tries, named as in `vars.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Normal,
    Lognormal,
    Exponential,
    Gamma,
    Weibull,
    Beta,
    Uniform,
    Triangular,
    Pert,
    Poisson,
    Binomial,
    Bernoulli,
}

/// Whether the data are measurements or counts, which decides the families tried: a
/// likelihood of densities and one of probabilities cannot be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Any real values: the continuous families.
    Continuous,
    /// Whole numbers of 0 or more: the discrete families.
    Discrete,
}

impl Family {
    /// The families of a kind, in the order the table lists ties.
    pub fn of(kind: Kind) -> &'static [Family] {
        use Family as F;
        match kind {
            Kind::Continuous => &[
                F::Normal,
                F::Lognormal,
                F::Exponential,
                F::Gamma,
                F::Weibull,
                F::Beta,
                F::Uniform,
                F::Triangular,
                F::Pert,
            ],
            Kind::Discrete => &[F::Poisson, F::Binomial, F::Bernoulli],
        }
    }

    /// Its name in `vars.toml`.
    pub fn name(self) -> &'static str {
        use Family as F;
        match self {
            F::Normal => "normal",
            F::Lognormal => "lognormal",
            F::Exponential => "exponential",
            F::Gamma => "gamma",
            F::Weibull => "weibull",
            F::Beta => "beta",
            F::Uniform => "uniform",
            F::Triangular => "triangular",
            F::Pert => "pert",
            F::Poisson => "poisson",
            F::Binomial => "binomial",
            F::Bernoulli => "bernoulli",
        }
    }

    /// How many parameters it estimates (the `k` of AIC and BIC): those the spec lists.
    pub fn parameters(self) -> usize {
        mcp_spec::DISTRIBUTIONS
            .iter()
            .find(|(name, _)| *name == self.name())
            .map_or(0, |(_, params)| params.len())
    }

    /// The maximum likelihood estimate from `s`, or why this family does not apply to it
    /// (its support excludes some values, or no estimate exists).
    pub fn estimate(self, s: &Sample) -> Result<Distribution, String> {
        use Family as F;
        match self {
            F::Normal => Ok(closed::normal(s)),
            F::Lognormal => {
                above_zero(s)?;
                Ok(closed::lognormal(s))
            }
            F::Exponential => {
                if s.min() < 0.0 {
                    return Err(format!(
                        "needs values of 0 or more; the smallest is {}",
                        s.min()
                    ));
                }
                Ok(closed::exponential(s))
            }
            F::Gamma => {
                above_zero(s)?;
                shape::gamma(s)
            }
            F::Weibull => {
                above_zero(s)?;
                shape::weibull(s)
            }
            F::Beta => {
                if !(s.min() > 0.0 && s.max() < 1.0) {
                    return Err(format!(
                        "needs values strictly between 0 and 1; they range from {} to {}",
                        s.min(),
                        s.max()
                    ));
                }
                beta::beta(s)
            }
            F::Uniform => Ok(closed::uniform(s)),
            F::Triangular => bounded::triangular(s),
            F::Pert => bounded::pert(s),
            F::Poisson => Ok(counts::poisson(s)),
            F::Binomial => counts::binomial(s),
            F::Bernoulli => counts::bernoulli(s),
        }
    }
}

fn above_zero(s: &Sample) -> Result<(), String> {
    if s.min() > 0.0 {
        Ok(())
    } else {
        Err(format!("needs values above 0; the smallest is {}", s.min()))
    }
}
