//! The job spec (`vars.toml`): its types, its parser and its validation.
//!
//! A spec says how many scenarios to run, with which seed and batch size, under which sandbox
//! limits, and which probability distribution feeds each model input. Parsing keeps the source
//! spans of every field so that each error names the file, line, column and field at fault, and
//! says how to fix it. This crate reads only strings: it does no I/O, knows no model format and
//! samples nothing (that is `mcp-sampling`).

mod ceilings;
mod correlation;
mod diagnostics;
mod distribution;
mod keep;
mod outputs;
mod overrides;
mod parse;
mod percentiles;
mod process;
pub mod quadrature;
mod repair;
mod sensitivity;
mod stop;
mod student;
mod validate;

pub use ceilings::Ceilings;
pub use correlation::{Copula, Correlation, MAX_ARCHIMEDEAN_RHO, MAX_CORRELATED};
pub use diagnostics::{Diagnostic, SpecError};
pub use distribution::{DISTRIBUTIONS, Distribution};
pub use keep::{Keep, MAX_KEPT_FAILED, MAX_KEPT_VALUES};
pub use outputs::{MAX_RISK_POINTS, OutputRisk};
pub use overrides::Overrides;
pub use parse::{MAX_BATCH, MAX_MEMORY_MIB};
pub use process::{PROCESSES, Process};
pub use sensitivity::{Sensitivity, SensitivityMethod};
pub use stop::{Precision, SobolOrder, SobolTarget, StopReason, StopRule};
pub use validate::{
    MAX_INPUT_VALUES, MAX_NAME_BYTES, MAX_SCENARIO_TIMEOUT_MS, MAX_SCENARIOS, MAX_TIMEOUT_S,
    MAX_VARIABLES, input_shape,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// Default number of scenarios per batch.
pub const DEFAULT_BATCH: u32 = 1024;
/// Default fuel (wasm instructions, roughly) one scenario may use.
pub const DEFAULT_FUEL_PER_SCENARIO: u64 = 10_000_000;
/// Default linear-memory limit of one model instance, in MiB.
pub const DEFAULT_MEMORY_MIB: u32 = 64;
/// Default time-out of a whole job, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 3600;
/// Default wall-clock limit of one scenario, in milliseconds.
pub const DEFAULT_SCENARIO_TIMEOUT_MS: u64 = 1000;

/// A validated job spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// What the spec expects of the model, checked against its `describe()`.
    pub model: ModelExpectation,
    /// Scenario count, seed and batch size.
    pub simulation: Simulation,
    /// Sandbox limits for the model.
    pub limits: Limits,
    /// One distribution per model input, sorted by name.
    pub variables: Vec<Variable>,
    /// Groups of correlated variables (`[[correlation]]`), in the spec's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlations: Vec<Correlation>,
    /// Risk statistics asked of model outputs (`[outputs.NAME]`), by output name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, OutputRisk>,
    /// When the job may stop before its last scenario (`[stop]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopRule>,
    /// The sensitivity indices asked (`[sensitivity]`): the scenarios are then a Saltelli
    /// design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// Where each part of the spec stood in its source, for later error messages.
    #[serde(skip)]
    pub source: SourceMap,
    /// What the parser changed and the user should know (a repaired correlation matrix), for
    /// the command line to print; not sent with the spec.
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
}

/// The optional `[model]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelExpectation {
    /// Expected model name, when given.
    pub name: Option<String>,
    /// Expected model version, when given.
    pub version: Option<String>,
}

/// The `[simulation]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Simulation {
    /// Number of scenarios in the job.
    pub scenarios: u64,
    /// Seed of the job's random streams.
    pub seed: u64,
    /// Scenarios per batch.
    pub batch: u32,
    /// How the scenarios cover the inputs' space.
    #[serde(default, skip_serializing_if = "Sampling::is_mc")]
    pub sampling: Sampling,
    /// Which scenarios the job keeps whole, inputs and outputs, for export (`keep = ...`).
    #[serde(default, skip_serializing_if = "Keep::is_nothing")]
    pub keep: Keep,
    /// How the job's percentiles are found (`percentiles = "auto" | "sketch"`).
    #[serde(default, skip_serializing_if = "PercentileMode::is_auto")]
    pub percentiles: PercentileMode,
}

/// How a job's percentiles are found: `percentiles = "auto" | "sketch"` in `[simulation]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PercentileMode {
    /// Exact from every value up to `mcp_stats::EXACT_PERCENTILE_VALUES` output values, from
    /// a sketch past that.
    #[default]
    Auto,
    /// From a sketch whatever the job's size: consumers send each batch's sketch instead of
    /// its values, which unloads the coordinator of a large fleet.
    Sketch,
}

impl PercentileMode {
    fn is_auto(&self) -> bool {
        *self == PercentileMode::Auto
    }
}

/// A sampling plan: `sampling = "mc" | "lhs" | "sobol"` in `[simulation]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Plain Monte Carlo: independent draws.
    #[default]
    Mc,
    /// Latin hypercube: each variable's range cut into as many equally likely strata as there
    /// are scenarios, each stratum drawn exactly once.
    Lhs,
    /// Owen-scrambled Sobol points: a low-discrepancy design, in independently scrambled
    /// blocks of 2^16 scenarios.
    Sobol,
}

impl Sampling {
    fn is_mc(&self) -> bool {
        *self == Sampling::Mc
    }
}

impl Simulation {
    /// How many batches the job has.
    pub fn batches(&self) -> u64 {
        self.scenarios.div_ceil(u64::from(self.batch.max(1)))
    }

    /// The scenarios of batch `index`, as (first scenario, count); `None` past the last batch.
    /// The one rule every role uses: the producer to cut the job, the consumer and the
    /// coordinator to check a batch they are given.
    pub fn batch_range(&self, index: u64) -> Option<(u64, u32)> {
        if index >= self.batches() {
            return None;
        }
        let size = u64::from(self.batch.max(1));
        let start = index * size;
        Some((start, (self.scenarios - start).min(size) as u32))
    }

    /// Checks that scenarios `start..start + count` are batch `index` of the job, as
    /// [`batch_range`](Simulation::batch_range) cuts it; the error says how they differ.
    pub fn check_batch(&self, index: u64, start: u64, count: u32) -> Result<(), String> {
        match self.batch_range(index) {
            None => Err(format!(
                "batch {index} is past the job's {} batches",
                self.batches()
            )),
            Some((s, c)) if (s, c) != (start, count) => Err(format!(
                "batch {index} covers scenarios {start}..{}, not {s}..{}",
                start.saturating_add(u64::from(count)),
                s + u64::from(c)
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The optional `[limits]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Fuel one scenario may consume.
    pub fuel_per_scenario: u64,
    /// Linear memory one model instance may grow to, in MiB.
    pub memory_mib: u32,
    /// Time-out of the whole job, in seconds.
    pub timeout_s: u64,
    /// Wall-clock limit of one scenario, in milliseconds.
    pub scenario_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_scenario: DEFAULT_FUEL_PER_SCENARIO,
            memory_mib: DEFAULT_MEMORY_MIB,
            timeout_s: DEFAULT_TIMEOUT_S,
            scenario_timeout_ms: DEFAULT_SCENARIO_TIMEOUT_MS,
        }
    }
}

/// One model input and its distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// The input's name, as the model declares it.
    pub name: String,
    /// The distribution its values are drawn from.
    pub dist: Distribution,
    /// `[min, max]`: the distribution (a continuous one) conditioned on this interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<[f64; 2]>,
    /// How many values the input takes per scenario: 1 for a number, more for a vector input
    /// (`size = N`, or a process's `steps`), each value drawn from `dist` with a stream of its
    /// own.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub size: u32,
    /// For a path input: the process that turns its standard normal draws (`dist` is
    /// normal(0, 1)) into the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
}

fn one() -> u32 {
    1
}

fn is_one(size: &u32) -> bool {
    *size == 1
}

impl Variable {
    /// A variable of one value drawn from `dist`.
    pub fn scalar(name: &str, dist: Distribution) -> Variable {
        Variable {
            name: name.to_string(),
            dist,
            truncate: None,
            size: 1,
            process: None,
        }
    }
}

/// Byte ranges of the parts of a spec in its source text, and the text's name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMap {
    /// The name errors use for the source, e.g. the file path.
    pub origin: String,
    /// The source text.
    pub text: String,
    /// Span of each variable's key.
    pub variables: BTreeMap<String, Range<usize>>,
    /// Span of each `[outputs.NAME]` table's name.
    pub outputs: BTreeMap<String, Range<usize>>,
    /// Span of `stop.output`'s value.
    pub stop_output: Option<Range<usize>>,
    /// Span of `stop.sobol`'s value.
    pub stop_sobol: Option<Range<usize>>,
    /// Span of the `[sensitivity]` header.
    pub sensitivity: Option<Range<usize>>,
    /// Span of `simulation.keep`'s value.
    pub keep: Option<Range<usize>>,
    /// Span of the `[variables]` header, if present.
    pub variables_table: Option<Range<usize>>,
    /// Spans of `model.name` and `model.version`.
    pub model_name: Option<Range<usize>>,
    /// Span of `model.version`.
    pub model_version: Option<Range<usize>>,
    /// Byte offset of the start of each line of `text` (built once, so that placing an error
    /// costs a binary search, not a scan of the text).
    pub line_starts: Vec<usize>,
}

impl SourceMap {
    /// The map of `text`, named `origin`.
    pub fn new(origin: &str, text: &str) -> SourceMap {
        SourceMap {
            origin: origin.to_string(),
            text: text.to_string(),
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            ..SourceMap::default()
        }
    }
}

impl Spec {
    /// Parses and validates a spec; `origin` names the source in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Spec, SpecError> {
        parse::parse(text, origin)
    }

    /// The variable feeding input `name`, if the spec has one.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Every variable by name, for looking many up in linear time overall (a spec holds up to
    /// 4096 of them; [`Spec::variable`] per input would be quadratic).
    pub fn variables_by_name(&self) -> std::collections::HashMap<&str, &Variable> {
        self.variables
            .iter()
            .map(|v| (v.name.as_str(), v))
            .collect()
    }

    /// Checks the spec against a model's description: name, version, the exact set of inputs
    /// and each input's size (`sizes[i]` values for `inputs[i]`; an empty `sizes` means one
    /// value each).
    pub fn check_model(
        &self,
        name: &str,
        version: &str,
        inputs: &[String],
        sizes: &[u32],
    ) -> Result<(), SpecError> {
        let src = &self.source;
        let mut errors = Vec::new();
        let known: std::collections::HashSet<&str> = inputs.iter().map(String::as_str).collect();
        if let Some(expected) = &self.model.name
            && expected != name
        {
            errors.push(Diagnostic::at(
                src,
                src.model_name.clone(),
                "model.name",
                format!(
                    "the spec expects model `{expected}` but the file is model `{name}`; \
                     submit the right model or change `model.name`"
                ),
            ));
        }
        if let Some(expected) = &self.model.version
            && expected != version
        {
            errors.push(Diagnostic::at(
                src,
                src.model_version.clone(),
                "model.version",
                format!(
                    "the spec expects version `{expected}` of model `{name}` but the file is \
                     version `{version}`; rebuild the model or change `model.version`"
                ),
            ));
        }
        for var in &self.variables {
            if !known.contains(var.name.as_str()) {
                errors.push(Diagnostic::at(
                    src,
                    src.variables.get(&var.name).cloned(),
                    &format!("variables.{}", var.name),
                    format!(
                        "model `{name}` has no input `{}` (its inputs are: {}); remove the \
                         variable or fix its name",
                        var.name,
                        inputs.join(", ")
                    ),
                ));
            }
        }
        let declared = self.variables_by_name();
        for (i, input) in inputs.iter().enumerate() {
            let size = sizes.get(i).copied().unwrap_or(1);
            if let Some(var) = declared.get(input.as_str())
                && var.size != size
            {
                let fix = if var.process.is_some() {
                    format!("set `steps = {size}`")
                } else if size == 1 {
                    "drop `size`".to_string()
                } else {
                    format!("set `size = {size}`")
                };
                errors.push(Diagnostic::at(
                    src,
                    src.variables.get(&var.name).cloned(),
                    &format!("variables.{input}"),
                    format!(
                        "model `{name}` takes {size} value{} for input `{input}` but the spec \
                         gives {}; {fix}",
                        if size == 1 { "" } else { "s" },
                        var.size
                    ),
                ));
            }
            if !declared.contains_key(input.as_str()) {
                errors.push(Diagnostic::at(
                    src,
                    src.variables_table.clone(),
                    "variables",
                    format!(
                        "model `{name}` input `{input}` has no distribution; add one under \
                         [variables], for example `{input} = {{ dist = \"normal\", mean = 0.0, \
                         std = 1.0 }}`"
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SpecError::new(errors))
        }
    }
}
