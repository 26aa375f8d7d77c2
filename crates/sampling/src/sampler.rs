//! Samplers of one distribution: statrs' objects built once per job, drawn from a scenario's
//! stream, or inverted at a uniform (truncation, copulas, sampling plans).

use mcp_spec::Distribution;
use rand::distr::Distribution as _;
use rand_pcg::Mcg128Xsl64;
use statrs::distribution as sd;
use statrs::distribution::ContinuousCDF;

/// A sampler for one distribution, with its statrs object built once.
#[derive(Debug, Clone)]
pub enum Sampler {
    /// Always the same value: draws nothing.
    Constant(f64),
    /// Normal.
    Normal(sd::Normal),
    /// Binomial.
    Binomial(sd::Binomial),
    /// Poisson.
    Poisson(sd::Poisson),
    /// Bernoulli.
    Bernoulli(sd::Bernoulli),
    /// A continuous distribution drawn by statrs (and truncated by its CDF).
    Continuous(Continuous),
    /// Truncated normal by inversion: `mean + sign * std * Φ⁻¹(U(lo, hi))`.
    ///
    /// The truncation interval is mirrored into the lower half when it lies above the mean, so
    /// the inversion works where Φ has its precision.
    TruncatedNormal {
        mean: f64,
        std: f64,
        sign: f64,
        lo: f64,
        hi: f64,
    },
    /// Discrete: an index drawn by weight, mapped to its value.
    Discrete {
        values: Vec<f64>,
        index: sd::Categorical,
    },
    /// A continuous distribution conditioned on an interval, by inversion: `F⁻¹(U(lo, hi))`
    /// with `[lo, hi]` the interval's image under the CDF `F`.
    Truncated {
        dist: Continuous,
        lo: f64,
        hi: f64,
        min: f64,
        max: f64,
    },
}

/// A continuous distribution's CDF and its inverse: what truncation by inversion needs.
#[derive(Debug, Clone)]
pub enum Continuous {
    /// Uniform.
    Uniform(sd::Uniform),
    /// Exponential.
    Exponential(sd::Exp),
    /// Log-normal.
    Lognormal(sd::LogNormal),
    /// Triangular.
    Triangular(sd::Triangular),
    /// Beta.
    Beta(sd::Beta),
    /// Gamma.
    Gamma(sd::Gamma),
    /// Weibull.
    Weibull(sd::Weibull),
    /// PERT: `min + range * Beta`.
    Pert {
        min: f64,
        range: f64,
        beta: sd::Beta,
    },
    /// Student's t.
    StudentT(sd::StudentsT),
}

impl Continuous {
    /// Draws one value with statrs' own sampler.
    #[inline]
    fn sample(&self, rng: &mut Mcg128Xsl64) -> f64 {
        match self {
            Continuous::Uniform(d) => d.sample(rng),
            Continuous::Exponential(d) => d.sample(rng),
            Continuous::Lognormal(d) => d.sample(rng),
            Continuous::Triangular(d) => d.sample(rng),
            Continuous::Beta(d) => d.sample(rng),
            Continuous::Gamma(d) => d.sample(rng),
            Continuous::Weibull(d) => d.sample(rng),
            Continuous::Pert { min, range, beta } => {
                let x: f64 = beta.sample(rng);
                min + range * x
            }
            Continuous::StudentT(d) => d.sample(rng),
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        match self {
            Continuous::Uniform(d) => d.cdf(x),
            Continuous::Exponential(d) => d.cdf(x),
            Continuous::Lognormal(d) => d.cdf(x),
            Continuous::Triangular(d) => d.cdf(x),
            Continuous::Beta(d) => d.cdf(x),
            Continuous::Gamma(d) => d.cdf(x),
            Continuous::Weibull(d) => d.cdf(x),
            Continuous::Pert { min, range, beta } => beta.cdf((x - min) / range),
            Continuous::StudentT(d) => d.cdf(x),
        }
    }

    fn inverse_cdf(&self, p: f64) -> f64 {
        match self {
            Continuous::Uniform(d) => d.inverse_cdf(p),
            Continuous::Exponential(d) => d.inverse_cdf(p),
            Continuous::Lognormal(d) => d.inverse_cdf(p),
            Continuous::Triangular(d) => d.inverse_cdf(p),
            Continuous::Beta(d) => d.inverse_cdf(p),
            Continuous::Gamma(d) => d.inverse_cdf(p),
            Continuous::Weibull(d) => d.inverse_cdf(p),
            Continuous::Pert { min, range, beta } => min + range * beta.inverse_cdf(p),
            Continuous::StudentT(d) => d.inverse_cdf(p),
        }
    }
}

/// Why a distribution cannot be sampled although its parameters passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplerError(pub String);

impl std::fmt::Display for SamplerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SamplerError {}

fn statrs_err(e: impl std::fmt::Display) -> SamplerError {
    SamplerError(format!("statrs rejected the parameters: {e}"))
}

impl Sampler {
    /// Builds the sampler of a validated distribution.
    pub fn new(dist: &Distribution) -> Result<Sampler, SamplerError> {
        use Distribution as D;
        Ok(match dist {
            D::Constant { value } => Sampler::Constant(*value),
            D::Normal { mean, std } => {
                Sampler::Normal(sd::Normal::new(*mean, *std).map_err(statrs_err)?)
            }
            D::Uniform { min, max } => Sampler::Continuous(Continuous::Uniform(
                sd::Uniform::new(*min, *max).map_err(statrs_err)?,
            )),
            D::Exponential { rate } => Sampler::Continuous(Continuous::Exponential(
                sd::Exp::new(*rate).map_err(statrs_err)?,
            )),
            D::Lognormal { mu, sigma } => Sampler::Continuous(Continuous::Lognormal(
                sd::LogNormal::new(*mu, *sigma).map_err(statrs_err)?,
            )),
            D::Triangular { min, mode, max } => Sampler::Continuous(Continuous::Triangular(
                sd::Triangular::new(*min, *max, *mode).map_err(statrs_err)?,
            )),
            D::Binomial { n, p } => {
                Sampler::Binomial(sd::Binomial::new(*p, *n).map_err(statrs_err)?)
            }
            D::Poisson { lambda } => {
                Sampler::Poisson(sd::Poisson::new(*lambda).map_err(statrs_err)?)
            }
            D::Bernoulli { p } => Sampler::Bernoulli(sd::Bernoulli::new(*p).map_err(statrs_err)?),
            D::Beta { alpha, beta } => Sampler::Continuous(Continuous::Beta(
                sd::Beta::new(*alpha, *beta).map_err(statrs_err)?,
            )),
            D::Gamma { shape, scale } => Sampler::Continuous(Continuous::Gamma(
                sd::Gamma::new(*shape, 1.0 / *scale).map_err(statrs_err)?,
            )),
            D::Weibull { shape, scale } => Sampler::Continuous(Continuous::Weibull(
                sd::Weibull::new(*shape, *scale).map_err(statrs_err)?,
            )),
            D::Pert { min, mode, max } => {
                let (alpha, beta) = pert_shape(*min, *mode, *max);
                Sampler::Continuous(Continuous::Pert {
                    min: *min,
                    range: max - min,
                    beta: sd::Beta::new(alpha, beta).map_err(statrs_err)?,
                })
            }
            D::StudentT { df } => Sampler::Continuous(Continuous::StudentT(
                sd::StudentsT::new(0.0, 1.0, *df).map_err(statrs_err)?,
            )),
            D::TruncatedNormal {
                mean,
                std,
                min,
                max,
            } => truncated_normal(*mean, *std, *min, *max)?,
            D::Discrete { values, weights } => Sampler::Discrete {
                values: values.clone(),
                index: sd::Categorical::new(weights).map_err(statrs_err)?,
            },
        })
    }

    /// The sampler of `dist` conditioned on `truncate = [min, max]` when given (the spec
    /// checked that `dist` is continuous and the bounds ordered).
    pub fn truncated(
        dist: &Distribution,
        truncate: Option<[f64; 2]>,
    ) -> Result<Sampler, SamplerError> {
        let Some([min, max]) = truncate else {
            return Sampler::new(dist);
        };
        match dist {
            Distribution::Normal { mean, std } => return truncated_normal(*mean, *std, min, max),
            Distribution::TruncatedNormal {
                mean,
                std,
                min: a,
                max: b,
            } => return truncated_normal(*mean, *std, a.max(min), b.min(max)),
            _ => {}
        }
        let continuous = match Sampler::new(dist)? {
            Sampler::Continuous(c) => c,
            _ => {
                return Err(SamplerError(format!(
                    "truncate applies to continuous distributions; {} is not one",
                    dist.name()
                )));
            }
        };
        let (lo, hi) = (continuous.cdf(min), continuous.cdf(max));
        if hi - lo <= 0.0 || (hi - lo).is_nan() {
            return Err(SamplerError(format!(
                "truncate = [{min}, {max}] holds no probability of this {}: move the interval \
                 to where the distribution has its values",
                dist.name()
            )));
        }
        Ok(Sampler::Truncated {
            dist: continuous,
            lo,
            hi,
            min,
            max,
        })
    }
}

/// Normal(mean, std) conditioned on `[min, max]`, by inversion.
fn truncated_normal(mean: f64, std: f64, min: f64, max: f64) -> Result<Sampler, SamplerError> {
    let (a, b) = ((min - mean) / std, (max - mean) / std);
    // Mirror an interval above the mean so that both ends have small CDF values.
    let (sign, a, b) = if a > 0.0 { (-1.0, -b, -a) } else { (1.0, a, b) };
    let unit = sd::Normal::standard();
    let (lo, hi) = (unit.cdf(a), unit.cdf(b));
    if hi - lo <= 0.0 || !(hi - lo).is_finite() {
        return Err(SamplerError(format!(
            "[min, max] = [{min}, {max}] lies so far in the tail of normal(mean = {mean}, std = \
             {std}) that it holds no probability; move it closer to the mean or widen std"
        )));
    }
    Ok(Sampler::TruncatedNormal {
        mean,
        std,
        sign,
        lo,
        hi,
    })
}

impl Sampler {
    /// Whether it has a quantile function a copula can use (everything but a constant).
    pub fn has_quantile(&self) -> bool {
        !matches!(self, Sampler::Constant(_))
    }

    /// The value at probability `u` in (0, 1): the inverse of the distribution's CDF (for a
    /// discrete one, the least value whose CDF reaches `u`).
    pub fn quantile(&self, u: f64) -> f64 {
        use statrs::distribution::DiscreteCDF;
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Normal(d) => d.inverse_cdf(u),
            Sampler::Binomial(d) => d.inverse_cdf(u) as f64,
            Sampler::Poisson(d) => d.inverse_cdf(u) as f64,
            Sampler::Bernoulli(d) => {
                if u > 1.0 - d.p() {
                    1.0
                } else {
                    0.0
                }
            }
            Sampler::Continuous(d) => d.inverse_cdf(u),
            Sampler::TruncatedNormal {
                mean,
                std,
                sign,
                lo,
                hi,
            } => mean + sign * std * sd::Normal::standard().inverse_cdf(lo + u * (hi - lo)),
            Sampler::Discrete { values, index } => {
                let i = index.inverse_cdf(u) as usize;
                values[i.min(values.len() - 1)]
            }
            Sampler::Truncated {
                dist,
                lo,
                hi,
                min,
                max,
            } => dist.inverse_cdf(lo + u * (hi - lo)).clamp(*min, *max),
        }
    }

    /// Draws one value from `rng`.
    #[inline]
    pub fn sample(&self, rng: &mut Mcg128Xsl64) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Normal(d) => d.sample(rng),
            Sampler::Binomial(d) => {
                let k: u64 = d.sample(rng);
                k as f64
            }
            Sampler::Poisson(d) => {
                let k: u64 = d.sample(rng);
                k as f64
            }
            Sampler::Bernoulli(d) => {
                let b: bool = d.sample(rng);
                if b { 1.0 } else { 0.0 }
            }
            Sampler::Continuous(d) => d.sample(rng),
            // Both truncations draw one uniform and invert between the interval's ends.
            Sampler::TruncatedNormal { .. } | Sampler::Truncated { .. } => {
                let u: f64 = rand::RngExt::random(rng);
                self.quantile(u)
            }
            Sampler::Discrete { values, index } => {
                let i: usize = index.sample(rng);
                values[i]
            }
        }
    }
}

/// Beta shape parameters of a PERT distribution (the classic λ = 4 weighting of the mode).
pub fn pert_shape(min: f64, mode: f64, max: f64) -> (f64, f64) {
    let range = max - min;
    (
        1.0 + 4.0 * (mode - min) / range,
        1.0 + 4.0 * (max - mode) / range,
    )
}
