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
mod saltelli;
mod sampler;
mod sobol;

pub use moments::analytic_moments;
pub use sampler::{Continuous, Sampler, SamplerError, pert_shape};

use mcp_spec::{Sampling, Spec};
use rand_pcg::Mcg128Xsl64;

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
    /// The Saltelli design the scenarios follow, when the spec asks for Sobol indices.
    saltelli: Option<saltelli::Design>,
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
        let saltelli = spec.sensitivity.map(|_| {
            let ends = starts.iter().skip(1).copied().chain([columns.len()]);
            saltelli::Design::new(starts.iter().zip(ends).map(|(&s, e)| s..e).collect())
        });
        Ok(ScenarioGenerator {
            columns,
            groups,
            paths,
            saltelli,
        })
    }

    /// How many values one scenario's row holds.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Writes scenarios `start .. start + count` row-major into `out` (cleared first). With a
    /// Saltelli design, scenario `i` is the design's run `i` (see `saltelli.rs`), assembled
    /// from the plain rows of its design row.
    pub fn fill(&self, start: u64, count: usize, out: &mut Vec<f64>) {
        let Some(design) = &self.saltelli else {
            return self.fill_plain(start, count, out);
        };
        let (first, rows) = design.base_rows(start, count);
        let mut base = Vec::new();
        self.fill_plain(first, rows, &mut base);
        out.clear();
        out.resize(count * self.columns.len(), 0.0);
        design.assemble(start, count, self.columns.len(), &base, out);
    }

    /// Writes the plain (independent) rows of indices `start .. start + count` into `out`.
    fn fill_plain(&self, start: u64, count: usize, out: &mut Vec<f64>) {
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
