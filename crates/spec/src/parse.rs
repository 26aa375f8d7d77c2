//! Turning `vars.toml` text into a validated [`Spec`], collecting every problem on the way.
//!
//! The text is parsed into toml's spanned document tree and walked by hand, so that each error can
//! name its field and point at its line and column, and so that all problems are reported at once.

mod correlation;
mod outputs;
mod sensitivity;
mod stop;
mod variables;

use crate::distribution::{self, ParamKind, ParamValue};
use crate::percentiles;
use crate::{Copula, Correlation, Keep, PercentileMode, Sampling};
use crate::{
    DEFAULT_BATCH, Diagnostic, Distribution, Limits, MAX_INPUT_VALUES, MAX_SCENARIO_TIMEOUT_MS,
    MAX_SCENARIOS, MAX_TIMEOUT_S, MAX_VARIABLES, ModelExpectation, Simulation, SourceMap, Spec,
    SpecError, Variable,
};
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Largest batch a spec may ask for.
pub const MAX_BATCH: u32 = 1 << 20;
/// Largest linear memory a wasm32 model can address, in MiB.
pub const MAX_MEMORY_MIB: u32 = 4096;

pub(crate) fn parse(text: &str, origin: &str) -> Result<Spec, SpecError> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let message = format!(
                "{}; check the TOML syntax",
                e.message().trim_end_matches('.')
            );
            return Err(SpecError::new(vec![Diagnostic::in_text(
                origin,
                text,
                e.span(),
                "",
                message,
            )]));
        }
    };
    let mut p = Parser {
        origin,
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
        source: SourceMap::new(origin, text),
    };
    let spec = p.spec(root.get_ref(), root.span());
    match spec {
        Some(spec) if p.errors.is_empty() => Ok(spec),
        _ => Err(SpecError::new(p.errors)),
    }
}

struct Parser<'a> {
    origin: &'a str,
    text: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    source: SourceMap,
}

type Entry<'t, 'i> = (
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
);

impl Parser<'_> {
    fn error(&mut self, span: Option<Range<usize>>, field: &str, message: String) {
        self.errors.push(Diagnostic::in_text(
            self.origin,
            self.text,
            span,
            field,
            message,
        ));
    }

    /// Reports keys of `table` that are not in `allowed`.
    fn unknown_keys(&mut self, table: &DeTable<'_>, path: &str, allowed: &[&str]) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let field = join(path, key.get_ref());
                let message = format!(
                    "unknown field `{}`; expected one of: {}",
                    key.get_ref(),
                    allowed.join(", ")
                );
                self.error(Some(key.span()), &field, message);
            }
        }
    }

    fn table<'t, 'i>(
        &mut self,
        entry: Option<Entry<'t, 'i>>,
        path: &str,
    ) -> Option<(&'t DeTable<'i>, Range<usize>)> {
        let (key, value) = entry?;
        match value.get_ref() {
            DeValue::Table(t) => Some((t, key.span())),
            other => {
                let message = format!("must be a table, not {}", describe(other));
                self.error(Some(value.span()), path, message);
                None
            }
        }
    }

    fn spec(&mut self, root: &DeTable<'_>, root_span: Range<usize>) -> Option<Spec> {
        self.unknown_keys(
            root,
            "",
            &[
                "model",
                "simulation",
                "limits",
                "variables",
                "correlation",
                "outputs",
                "stop",
                "sensitivity",
            ],
        );

        let model = match self.table(root.get_key_value("model"), "model") {
            Some((t, _)) => self.model(t),
            None => ModelExpectation::default(),
        };
        let simulation = match self.table(root.get_key_value("simulation"), "simulation") {
            Some((t, span)) => self.simulation(t, span),
            None => {
                self.error(
                    Some(root_span.start..root_span.start),
                    "simulation",
                    "missing table [simulation]; add one with `scenarios = 100000` and `seed = 42`"
                        .to_string(),
                );
                None
            }
        };
        let limits = match self.table(root.get_key_value("limits"), "limits") {
            Some((t, _)) => self.limits(t),
            None => Limits::default(),
        };
        let variables = match self.table(root.get_key_value("variables"), "variables") {
            Some((t, span)) => {
                self.source.variables_table = Some(span.clone());
                self.variables(t, span)
            }
            None => {
                self.error(
                    Some(root_span.start..root_span.start),
                    "variables",
                    "missing table [variables]; give each model input a distribution, for \
                     example z = { dist = \"normal\", mean = 0.0, std = 1.0 }"
                        .to_string(),
                );
                Vec::new()
            }
        };
        let correlations = match root.get_key_value("correlation") {
            Some((_, v)) => self.correlations(v, &variables),
            None => Vec::new(),
        };
        let outputs = match self.table(root.get_key_value("outputs"), "outputs") {
            Some((t, _)) => self.outputs(t),
            None => Default::default(),
        };
        let stop = match self.table(root.get_key_value("stop"), "stop") {
            Some((t, span)) => {
                let scenarios = simulation.map(|s| s.scenarios);
                self.stop(t, span, scenarios)
            }
            None => None,
        };
        let sensitivity = match self.table(root.get_key_value("sensitivity"), "sensitivity") {
            Some((t, span)) => Some(self.sensitivity(t, span)?),
            None => None,
        };
        let spec = Spec {
            model,
            simulation: simulation?,
            limits,
            variables,
            correlations,
            outputs,
            stop,
            sensitivity,
            source: SourceMap::default(),
            warnings: std::mem::take(&mut self.warnings),
        };
        self.check_design(&spec, root);
        Some(Spec {
            source: std::mem::take(&mut self.source),
            ..spec
        })
    }

    fn model(&mut self, t: &DeTable<'_>) -> ModelExpectation {
        self.unknown_keys(t, "model", &["name", "version"]);
        let mut read = |key: &str| -> Option<(String, Range<usize>)> {
            let (_, v) = t.get_key_value(key)?;
            match v.get_ref() {
                DeValue::String(s) => match crate::validate::name_fits(s) {
                    Ok(()) => Some((s.to_string(), v.span())),
                    Err(message) => {
                        self.error(Some(v.span()), &format!("model.{key}"), message);
                        None
                    }
                },
                other => {
                    let message = format!("must be a string, not {}", describe(other));
                    self.error(Some(v.span()), &format!("model.{key}"), message);
                    None
                }
            }
        };
        let name = read("name");
        let version = read("version");
        self.source.model_name = name.as_ref().map(|(_, s)| s.clone());
        self.source.model_version = version.as_ref().map(|(_, s)| s.clone());
        ModelExpectation {
            name: name.map(|(n, _)| n),
            version: version.map(|(v, _)| v),
        }
    }

    fn simulation(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Simulation> {
        self.unknown_keys(
            t,
            "simulation",
            &[
                "scenarios",
                "seed",
                "batch",
                "sampling",
                "keep",
                "percentiles",
            ],
        );
        let scenarios =
            self.required_integer(t, "simulation", "scenarios", &span, 1, MAX_SCENARIOS);
        let seed = self.required_integer(t, "simulation", "seed", &span, 0, u64::MAX);
        let batch = match t.get_key_value("batch") {
            Some((_, v)) => self.integer(v, "simulation.batch", 1, MAX_BATCH as u64),
            None => Some(DEFAULT_BATCH as u64),
        };
        let sampling = match t.get_key_value("sampling") {
            None => Some(Sampling::Mc),
            Some((_, v)) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "mc" => Some(Sampling::Mc),
                DeValue::String(s) if s.as_ref() == "lhs" => Some(Sampling::Lhs),
                DeValue::String(s) if s.as_ref() == "sobol" => Some(Sampling::Sobol),
                other => {
                    let got = match other {
                        DeValue::String(s) => format!("\"{s}\""),
                        other => describe(other),
                    };
                    let message = format!(
                        "must be \"mc\" (plain Monte Carlo), \"lhs\" (Latin hypercube) or \
                         \"sobol\" (scrambled Sobol), not {got}"
                    );
                    self.error(Some(v.span()), "simulation.sampling", message);
                    None
                }
            },
        };
        let keep = match t.get_key_value("keep") {
            None => Some(Keep::Nothing),
            Some((_, v)) => self.keep(v),
        };
        let percentiles = match t.get_key_value("percentiles") {
            None => Some(PercentileMode::Auto),
            Some((_, v)) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "auto" => Some(PercentileMode::Auto),
                DeValue::String(s) if s.as_ref() == "sketch" => Some(PercentileMode::Sketch),
                other => {
                    let got = match other {
                        DeValue::String(s) => format!("\"{s}\""),
                        other => describe(other),
                    };
                    let message = format!(
                        "must be \"auto\" (exact up to 2^25 output values, sketched past that) \
                         or \"sketch\" (sketched whatever the size), not {got}"
                    );
                    self.error(Some(v.span()), "simulation.percentiles", message);
                    None
                }
            },
        };
        Some(Simulation {
            scenarios: scenarios?,
            seed: seed?,
            batch: batch? as u32,
            sampling: sampling?,
            keep: keep?,
            percentiles: percentiles?,
        })
    }

    /// `keep = "all" | "failed" | N`.
    fn keep(&mut self, v: &Spanned<DeValue<'_>>) -> Option<Keep> {
        self.source.keep = Some(v.span());
        let got = match v.get_ref() {
            DeValue::String(s) if s.as_ref() == "all" => return Some(Keep::All),
            DeValue::String(s) if s.as_ref() == "failed" => return Some(Keep::Failed),
            DeValue::Integer(i) if i.as_str().trim_start_matches(['0', '+', '_']).is_empty() => {
                let message =
                    "must be at least 1 (got 0); leave `keep` out to keep no scenario".to_string();
                self.error(Some(v.span()), "simulation.keep", message);
                return None;
            }
            DeValue::Integer(_) => {
                return self
                    .integer(v, "simulation.keep", 1, MAX_SCENARIOS)
                    .map(Keep::First);
            }
            DeValue::String(s) => format!("\"{s}\""),
            other => describe(other),
        };
        let message = format!(
            "must be \"all\" (every scenario), \"failed\" (the failed ones) or a number N \
             (scenarios 0 to N - 1), not {got}; leave it out to keep none"
        );
        self.error(Some(v.span()), "simulation.keep", message);
        None
    }

    fn limits(&mut self, t: &DeTable<'_>) -> Limits {
        let keys = [
            "fuel_per_scenario",
            "memory_mib",
            "timeout_s",
            "scenario_timeout_ms",
        ];
        self.unknown_keys(t, "limits", &keys);
        let mut limits = Limits::default();
        let mut read = |key: &str, max: u64| -> Option<u64> {
            let (_, v) = t.get_key_value(key)?;
            self.integer(v, &format!("limits.{key}"), 1, max)
        };
        if let Some(v) = read("fuel_per_scenario", u64::MAX) {
            limits.fuel_per_scenario = v;
        }
        if let Some(v) = read("memory_mib", MAX_MEMORY_MIB as u64) {
            limits.memory_mib = v as u32;
        }
        if let Some(v) = read("timeout_s", MAX_TIMEOUT_S) {
            limits.timeout_s = v;
        }
        if let Some(v) = read("scenario_timeout_ms", MAX_SCENARIO_TIMEOUT_MS) {
            limits.scenario_timeout_ms = v;
        }
        limits
    }

    fn required_integer(
        &mut self,
        t: &DeTable<'_>,
        table: &str,
        key: &str,
        table_span: &Range<usize>,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let field = format!("{table}.{key}");
        match t.get_key_value(key) {
            Some((_, v)) => self.integer(v, &field, min, max),
            None => {
                let message = format!("missing field `{key}`; add `{key} = ...` under [{table}]");
                self.error(Some(table_span.clone()), &field, message);
                None
            }
        }
    }

    fn integer(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        field: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
            other => {
                let message = format!("must be a whole number, not {}", describe(other));
                self.error(Some(v.span()), field, message);
                return None;
            }
        };
        let value = &self.text[v.span()];
        let message = match parsed {
            Some(n) if n >= min as i128 && n <= max as i128 => return Some(n as u64),
            Some(n) if n < min as i128 && min == 0 => format!("must not be negative (got {value})"),
            Some(n) if n < min as i128 => format!("must be at least {min} (got {value})"),
            _ => format!("must be at most {max} (got {value})"),
        };
        self.error(Some(v.span()), field, message);
        None
    }

    fn real(&mut self, v: &Spanned<DeValue<'_>>, field: &str) -> Option<f64> {
        let value = match v.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            other => {
                let message = format!("must be a number, not {}", describe(other));
                self.error(Some(v.span()), field, message);
                return None;
            }
        };
        match value {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                let message = format!("must be a finite number (got {})", &self.text[v.span()]);
                self.error(Some(v.span()), field, message);
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(i) => format!("the integer {i}"),
        DeValue::Float(f) => format!("the number {f}"),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(d) => format!("the date-time {d}"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}
