//! Deterministic scenario inputs: scenario `i` of a job is a pure function of (spec, seed, i).
//!
//! A [`ScenarioGenerator`] turns a validated spec into rows of model inputs, in the model's input
//! order. Every (variable, scenario) pair draws from its own PCG stream whose 128-bit state is a
//! hash of the job seed, the variable's name and the scenario index, so a scenario's values do not
//! depend on batch size, worker count or the order batches run in, and changing one variable's
//! distribution leaves the draws of every other variable untouched (common random numbers).
//! Distributions come from statrs wherever it has them. This crate does no I/O.

mod archimedean;
mod copula;
mod lhs;
mod moments;
mod process;
mod sobol;

pub use moments::analytic_moments;

use mcp_spec::{Distribution, Sampling, Spec};
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

/// One model input: its sampler and the key of its random streams.
#[derive(Debug, Clone)]
struct Column {
    stream_key: u64,
    sampler: Sampler,
    /// Drawn by a correlation group, not on its own.
    grouped: bool,
    /// How the sampling plan places the variable's uniforms.
    plan: Plan,
}

/// A variable's part of the job's sampling plan.
#[derive(Debug, Clone)]
enum Plan {
    /// Independent draws from the variable's stream.
    Mc,
    /// Latin hypercube: the variable's strata.
    Lhs(lhs::Strata),
    /// Scrambled Sobol: the variable's dimension.
    Sobol(sobol::Dimension),
}

impl Column {
    /// The variable's uniform in (0, 1) for scenario `index`, placed by the plan.
    fn uniform(&self, index: u64) -> f64 {
        let v = open_uniform(&mut scenario_rng(self.stream_key, index));
        match &self.plan {
            Plan::Mc => v,
            Plan::Lhs(strata) => strata.uniform(index, v),
            Plan::Sobol(dimension) => dimension.uniform(index, v),
        }
    }

    /// The variable's value in scenario `index`.
    fn value(&self, index: u64) -> f64 {
        match self.plan {
            Plan::Mc => self
                .sampler
                .sample(&mut scenario_rng(self.stream_key, index)),
            _ => self.sampler.quantile(self.uniform(index)),
        }
    }
}

/// Generates the inputs of any scenario of a job, in the model's input order.
#[derive(Debug, Clone)]
pub struct ScenarioGenerator {
    columns: Vec<Column>,
    /// The correlated groups; their members' columns are drawn by the group.
    groups: Vec<copula::Group>,
    /// The path inputs, walked from their drawn steps.
    paths: Vec<process::Path>,
}

/// A variable that cannot be generated: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorError {
    /// The variable (model input) at fault.
    pub variable: String,
    /// What is wrong, and the fix.
    pub message: String,
}

impl std::fmt::Display for GeneratorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "variables.{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for GeneratorError {}

impl ScenarioGenerator {
    /// A generator for `inputs` (the model's input names, in its order), drawing from `spec`.
    ///
    /// A vector input of `size` values is `size` columns in a row, element `k` drawing from
    /// the stream of `name[k]`; a path input is the columns of its standard normal steps,
    /// walked into the path once they are drawn.
    pub fn new(spec: &Spec, inputs: &[String]) -> Result<ScenarioGenerator, GeneratorError> {
        let seed = spec.simulation.seed;
        let scenarios = spec.simulation.scenarios;
        let variables = spec.variables_by_name();
        // A variable's first Sobol dimension: the values of the variables before it, in the
        // spec's (name) order.
        let mut dimensions = std::collections::HashMap::with_capacity(spec.variables.len());
        let mut next = 0u64;
        for var in &spec.variables {
            dimensions.insert(var.name.as_str(), next);
            next += u64::from(var.size);
        }
        let mut columns = Vec::new();
        let mut starts = Vec::with_capacity(inputs.len());
        let mut paths = Vec::new();
        for name in inputs {
            let var = variables.get(name.as_str()).ok_or_else(|| GeneratorError {
                variable: name.clone(),
                message: "the model needs this input but the spec has no distribution for it"
                    .to_string(),
            })?;
            let sampler =
                Sampler::truncated(&var.dist, var.truncate).map_err(|e| GeneratorError {
                    variable: name.clone(),
                    message: format!("{}: {e}", var.dist.name()),
                })?;
            starts.push(columns.len());
            if let Some(process) = var.process {
                paths.push(process::Path::new(process, columns.len(), var.size));
            }
            for k in 0..var.size {
                let key = if var.size == 1 {
                    stream_key(seed, name)
                } else {
                    stream_key(seed, &format!("{name}[{k}]"))
                };
                let plan = match spec.simulation.sampling {
                    Sampling::Mc => Plan::Mc,
                    Sampling::Lhs => Plan::Lhs(lhs::Strata::new(scenarios, key ^ STRATA)),
                    Sampling::Sobol => Plan::Sobol(sobol::Dimension::new(
                        seed,
                        dimensions[name.as_str()] + u64::from(k),
                    )),
                };
                columns.push(Column {
                    stream_key: key,
                    sampler: sampler.clone(),
                    grouped: false,
                    plan,
                });
            }
        }
        let groups = spec
            .correlations
            .iter()
            .map(|c| copula::Group::new(seed, c, inputs, &starts, &columns))
            .collect::<Result<Vec<_>, _>>()?;
        for group in &groups {
            for &p in &group.positions {
                columns[p].grouped = true;
            }
        }
        Ok(ScenarioGenerator {
            columns,
            groups,
            paths,
        })
    }

    /// How many values one scenario's row holds.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Writes scenarios `start .. start + count` row-major into `out` (cleared first).
    pub fn fill(&self, start: u64, count: usize, out: &mut Vec<f64>) {
        let width = self.columns.len();
        out.clear();
        out.resize(count * width, 0.0);
        for (j, column) in self.columns.iter().enumerate() {
            if column.grouped {
                continue;
            }
            if let Sampler::Constant(v) = column.sampler {
                for row in 0..count {
                    out[row * width + j] = v;
                }
                continue;
            }
            for row in 0..count {
                out[row * width + j] = column.value(start + row as u64);
            }
        }
        let mut z = Vec::new();
        for group in &self.groups {
            for row in 0..count {
                let values = &mut out[row * width..(row + 1) * width];
                group.fill(start + row as u64, values, &mut z);
            }
        }
        for path in &self.paths {
            for row in out.chunks_exact_mut(width.max(1)) {
                path.walk(row);
            }
        }
    }

    /// The inputs of scenario `index`.
    pub fn scenario(&self, index: u64) -> Vec<f64> {
        let mut out = Vec::new();
        self.fill(index, 1, &mut out);
        out
    }
}

/// FNV-1a: a stable 64-bit hash of a variable name (std's hashers may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The SplitMix64 finaliser: a bijective, well-mixing 64-bit hash.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
/// Tells a variable's strata key from its stream key.
const STRATA: u64 = 0x4c48_535f_7374_7261;

/// A uniform in (0, 1) from 53 random bits, never 0 or 1 (a quantile of either may be infinite).
pub(crate) fn open_uniform(rng: &mut Mcg128Xsl64) -> f64 {
    use rand::Rng as _;
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// The key shared by all streams of one variable in one job.
pub fn stream_key(seed: u64, variable: &str) -> u64 {
    mix(mix(seed).wrapping_add(GOLDEN) ^ fnv1a(variable.as_bytes()))
}

/// The random stream of one variable in scenario `index`: PCG-64 (MCG, XSL-RR output) seeded
/// with 128 bits hashed from the variable's key and the index.
#[inline]
pub fn scenario_rng(stream_key: u64, index: u64) -> Mcg128Xsl64 {
    // Each half is a bijection of the index, so a variable's streams never share a state.
    let lo = mix(stream_key ^ mix(index.wrapping_add(GOLDEN)));
    let hi = mix(mix(stream_key ^ 0xd1b5_4a32_d192_ed03) ^ index);
    Mcg128Xsl64::new((u128::from(hi) << 64) | u128::from(lo))
}
