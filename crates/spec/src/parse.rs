//! Turning `vars.toml` text into a validated [`Spec`], collecting every problem on the way.
//!
//! The text is parsed into toml's spanned document tree and walked by hand, so that each error can
//! name its field and point at its line and column, and so that all problems are reported at once.

use crate::distribution::{self, ParamKind, ParamValue};
use crate::percentiles;
use crate::{Copula, Correlation, Sampling};
use crate::{
    DEFAULT_BATCH, Diagnostic, Distribution, Limits, MAX_SCENARIO_TIMEOUT_MS, MAX_SCENARIOS,
    MAX_TIMEOUT_S, MAX_VARIABLES, ModelExpectation, Simulation, SourceMap, Spec, SpecError,
    Variable,
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
            &["model", "simulation", "limits", "variables", "correlation"],
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
        Some(Spec {
            model,
            simulation: simulation?,
            limits,
            variables,
            correlations,
            source: std::mem::take(&mut self.source),
        })
    }

    /// `[[correlation]]` tables: each read, then all checked against the variables.
    fn correlations(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        variables: &[Variable],
    ) -> Vec<Correlation> {
        let DeValue::Array(items) = v.get_ref() else {
            let message = format!(
                "must be tables [[correlation]] (got {}); write [[correlation]] with \
                 `variables = [\"x\", \"y\"]` and `matrix = [[1.0, 0.5], [0.5, 1.0]]`",
                describe(v.get_ref())
            );
            self.error(Some(v.span()), "correlation", message);
            return Vec::new();
        };
        let mut groups = Vec::new();
        let mut spans = Vec::new();
        for (g, item) in items.iter().enumerate() {
            let field = format!("correlation[{g}]");
            let DeValue::Table(t) = item.get_ref() else {
                let message = format!("must be a table, not {}", describe(item.get_ref()));
                self.error(Some(item.span()), &field, message);
                continue;
            };
            if let Some(group) = self.correlation(t, item.span(), &field) {
                groups.push(group);
                spans.push(item.span());
            }
        }
        if let Err((g, message)) = crate::correlation::check_all(variables, &groups) {
            let field = format!("correlation[{g}]");
            let (field, message) = match message.split_once(": ") {
                Some((key, rest)) => (format!("{field}.{key}"), rest.to_string()),
                None => (field, message),
            };
            self.error(Some(spans[g].clone()), &field, message);
            return Vec::new();
        }
        groups
    }

    fn correlation(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        field: &str,
    ) -> Option<Correlation> {
        self.unknown_keys(t, field, &["variables", "matrix", "copula", "df"]);
        let Some((_, names)) = t.get_key_value("variables") else {
            let message = "missing `variables`, the names of the correlated variables, e.g. \
                           variables = [\"x\", \"y\"]"
                .to_string();
            self.error(Some(span.clone()), &format!("{field}.variables"), message);
            return None;
        };
        let strings = match names.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .map(|i| match i.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        let Some(variables) = strings else {
            let message = "must be an array of variable names, e.g. [\"x\", \"y\"]".to_string();
            self.error(Some(names.span()), &format!("{field}.variables"), message);
            return None;
        };
        let Some((_, rows)) = t.get_key_value("matrix") else {
            let message =
                "missing `matrix`, the target rank correlations, one row per variable".to_string();
            self.error(Some(span), &format!("{field}.matrix"), message);
            return None;
        };
        let DeValue::Array(row_items) = rows.get_ref() else {
            let message = "must be an array of rows, e.g. [[1.0, 0.5], [0.5, 1.0]]".to_string();
            self.error(Some(rows.span()), &format!("{field}.matrix"), message);
            return None;
        };
        let mut matrix = Vec::with_capacity(row_items.len());
        for (i, row) in row_items.iter().enumerate() {
            let path = format!("{field}.matrix[{i}]");
            let DeValue::Array(cells) = row.get_ref() else {
                let message = format!(
                    "must be an array of numbers, not {}",
                    describe(row.get_ref())
                );
                self.error(Some(row.span()), &path, message);
                return None;
            };
            let mut out = Vec::with_capacity(cells.len());
            for (j, cell) in cells.iter().enumerate() {
                out.push(self.real(cell, &format!("{path}[{j}]"))?);
            }
            matrix.push(out);
        }
        let copula = match t.get_key_value("copula") {
            None => "gaussian".to_string(),
            Some((_, c)) => match c.get_ref() {
                DeValue::String(s) => s.to_string(),
                other => {
                    let message = format!("must be a string, not {}", describe(other));
                    self.error(Some(c.span()), &format!("{field}.copula"), message);
                    return None;
                }
            },
        };
        let df = match t.get_key_value("df") {
            Some((_, v)) => Some((self.real(v, &format!("{field}.df"))?, v.span())),
            None => None,
        };
        let copula = match (copula.as_str(), df) {
            ("gaussian", None) => Copula::Gaussian,
            ("student_t", Some((df, _))) => Copula::StudentT { df },
            ("student_t", None) => {
                let message = "the student_t copula needs `df`, its degrees of freedom (e.g. \
                               df = 4; lower means more extremes together)"
                    .to_string();
                self.error(Some(span), &format!("{field}.df"), message);
                return None;
            }
            ("gaussian", Some((_, df_span))) => {
                let message = "only the student_t copula takes `df`".to_string();
                self.error(Some(df_span), &format!("{field}.df"), message);
                return None;
            }
            (other, _) => {
                let (_, c) = t.get_key_value("copula").expect("a copula was named");
                let message = format!(
                    "unknown copula \"{other}\"; this mcp joins variables with \"gaussian\" \
                     or \"student_t\" (with df)"
                );
                self.error(Some(c.span()), &format!("{field}.copula"), message);
                return None;
            }
        };
        Some(Correlation {
            variables,
            matrix,
            copula,
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
        self.unknown_keys(t, "simulation", &["scenarios", "seed", "batch", "sampling"]);
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
                other => {
                    let got = match other {
                        DeValue::String(s) => format!("\"{s}\""),
                        other => describe(other),
                    };
                    let message = format!(
                        "must be \"mc\" (plain Monte Carlo) or \"lhs\" (Latin hypercube), not \
                         {got}"
                    );
                    self.error(Some(v.span()), "simulation.sampling", message);
                    None
                }
            },
        };
        Some(Simulation {
            scenarios: scenarios?,
            seed: seed?,
            batch: batch? as u32,
            sampling: sampling?,
        })
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

    fn variables(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Vec<Variable> {
        let mut out = Vec::new();
        if t.len() > MAX_VARIABLES {
            let message = format!(
                "has {} variables, more than {MAX_VARIABLES}; a model takes at most that many inputs",
                t.len()
            );
            self.error(Some(span), "variables", message);
            return out;
        }
        for (key, value) in t.iter() {
            let name = key.get_ref().to_string();
            if let Err(message) = crate::validate::name_fits(&name) {
                self.error(Some(key.span()), "variables", message);
                continue;
            }
            self.source.variables.insert(name.clone(), key.span());
            if let Some((dist, truncate)) = self.variable(&name, key.span(), value) {
                out.push(Variable {
                    name,
                    dist,
                    truncate,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn variable(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<(Distribution, Option<[f64; 2]>)> {
        let field = format!("variables.{name}");
        let example = format!("{name} = {{ dist = \"normal\", mean = 0.0, std = 1.0 }}");
        let DeValue::Table(t) = value.get_ref() else {
            let message = format!(
                "must be a table naming a distribution and its parameters, not {}; for example \
                 {example}",
                describe(value.get_ref())
            );
            self.error(Some(value.span()), &field, message);
            return None;
        };
        let all = distribution::DISTRIBUTIONS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        let Some((_, dist_value)) = t.get_key_value("dist") else {
            let message = format!("missing `dist`; name one of: {all}; for example {example}");
            self.error(Some(key_span), &field, message);
            return None;
        };
        let DeValue::String(dist) = dist_value.get_ref() else {
            let message = format!(
                "`dist` must be a string naming one of: {all} (got {})",
                describe(dist_value.get_ref())
            );
            self.error(Some(dist_value.span()), &format!("{field}.dist"), message);
            return None;
        };
        let Some(params) = distribution::parameters(dist) else {
            let message = format!("unknown distribution \"{dist}\"; expected one of: {all}");
            self.error(Some(dist_value.span()), &format!("{field}.dist"), message);
            return None;
        };
        let truncate = match t.get_key_value("truncate") {
            Some((_, v)) => Some((self.bounds(v, &format!("{field}.truncate"))?, v.span())),
            None => None,
        };
        let by_percentiles = t
            .iter()
            .any(|(k, _)| percentiles::percentile_key(k.get_ref()).is_some());
        let built = if by_percentiles {
            self.by_percentiles(name, key_span, t, dist)?
        } else {
            self.by_parameters(name, key_span, t, dist, params)?
        };
        if let Some((bounds, span)) = &truncate
            && let Err(message) = built.check_truncation(*bounds)
        {
            self.error(Some(span.clone()), &format!("{field}.truncate"), message);
            return None;
        }
        Some((built, truncate.map(|(b, _)| b)))
    }

    /// A distribution given by two percentiles (and, for PERT, its mode).
    fn by_percentiles(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        t: &DeTable<'_>,
        dist: &str,
    ) -> Option<Distribution> {
        let field = format!("variables.{name}");
        let Some((_, takes)) = percentiles::BY_PERCENTILES.iter().find(|(d, _)| *d == dist) else {
            let forms = percentiles::BY_PERCENTILES
                .iter()
                .map(|(d, _)| *d)
                .collect::<Vec<_>>()
                .join(", ");
            let message = format!(
                "{dist} cannot be given by percentiles (only {forms} can); give its parameters: {}",
                distribution::parameters(dist)
                    .unwrap_or_default()
                    .join(", ")
            );
            self.error(Some(key_span), &field, message);
            return None;
        };
        let mut points = Vec::new();
        let mut mode = None;
        let mut ok = true;
        for (key, v) in t.iter() {
            let k = key.get_ref().as_ref();
            let path = format!("{field}.{k}");
            if let Some(q) = percentiles::percentile_key(k) {
                match self.real(v, &path) {
                    Some(x) => points.push((q, x)),
                    None => ok = false,
                }
            } else if k == "mode" && dist == "pert" {
                mode = self.real(v, &path);
                ok &= mode.is_some();
            } else if k != "dist" && k != "truncate" {
                let message = format!(
                    "{dist} given by percentiles takes {takes}; `{k}` does not go with them: \
                     give either its parameters or percentiles"
                );
                self.error(Some(key.span()), &path, message);
                ok = false;
            }
        }
        if ok && points.len() != 2 {
            let message = format!(
                "{dist} given by percentiles takes exactly two of p1 to p99 ({takes}); got {}",
                points.len()
            );
            self.error(Some(key_span.clone()), &field, message);
            ok = false;
        }
        if ok && dist == "pert" && mode.is_none() {
            let message = format!("pert given by percentiles needs `mode` too ({takes})");
            self.error(Some(key_span.clone()), &format!("{field}.mode"), message);
            ok = false;
        }
        if !ok {
            return None;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pair = [points[0], points[1]];
        match percentiles::from_percentiles(dist, pair, mode) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(Some(key_span), &field, message);
                None
            }
        }
    }

    /// A distribution given by its parameters.
    fn by_parameters(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        t: &DeTable<'_>,
        dist: &str,
        params: &[&str],
    ) -> Option<Distribution> {
        let field = format!("variables.{name}");
        let mut ok = true;
        for (key, _) in t.iter() {
            let k = key.get_ref().as_ref();
            if k != "dist" && k != "truncate" && !params.contains(&k) {
                let message = format!(
                    "{dist} has no parameter `{k}`; its parameters are: {}",
                    params.join(", ")
                );
                self.error(Some(key.span()), &format!("{field}.{k}"), message);
                ok = false;
            }
        }
        let mut values = Vec::new();
        for param in params {
            match t.get_key_value(*param) {
                Some((_, v)) => {
                    let path = format!("{field}.{param}");
                    match self.param(v, &path, distribution::kind(dist, param)) {
                        Some(value) => values.push((*param, value, v.span())),
                        None => ok = false,
                    }
                }
                None => {
                    let message = format!(
                        "{dist} needs `{param}`; write {name} = {{ dist = \"{dist}\", {} }}",
                        params
                            .iter()
                            .map(|p| format!("{p} = ..."))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.error(Some(key_span.clone()), &format!("{field}.{param}"), message);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let get = |p: &str| {
            values
                .iter()
                .find(|(name, _, _)| *name == p)
                .map(|(_, v, _)| v.clone())
                .expect("every declared parameter was read")
        };
        match Distribution::build(dist, get) {
            Ok(d) => Some(d),
            Err(v) => {
                let span = values
                    .iter()
                    .find(|(name, _, _)| *name == v.param)
                    .map(|(_, _, span)| span.clone());
                self.error(span, &format!("{field}.{}", v.param), v.message);
                None
            }
        }
    }

    /// `truncate = [min, max]`: two finite numbers.
    fn bounds(&mut self, v: &Spanned<DeValue<'_>>, field: &str) -> Option<[f64; 2]> {
        let two = match v.get_ref() {
            DeValue::Array(items) if items.len() == 2 => Some(items),
            _ => None,
        };
        let Some(items) = two else {
            let message = format!(
                "must be [min, max], two numbers, e.g. truncate = [0.0, 100.0] (got {})",
                describe(v.get_ref())
            );
            self.error(Some(v.span()), field, message);
            return None;
        };
        let min = self.real(&items[0], &format!("{field}[0]"))?;
        let max = self.real(&items[1], &format!("{field}[1]"))?;
        Some([min, max])
    }

    fn param(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        field: &str,
        kind: ParamKind,
    ) -> Option<ParamValue> {
        match kind {
            ParamKind::Real => self.real(v, field).map(ParamValue::Real),
            ParamKind::Count => self.integer(v, field, 0, u64::MAX).map(ParamValue::Count),
            ParamKind::List => {
                let DeValue::Array(items) = v.get_ref() else {
                    let message = format!(
                        "must be an array of numbers, for example [1.0, 2.0], not {}",
                        describe(v.get_ref())
                    );
                    self.error(Some(v.span()), field, message);
                    return None;
                };
                if items.is_empty() {
                    self.error(
                        Some(v.span()),
                        field,
                        "must not be empty; list at least one number".to_string(),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.real(item, &format!("{field}[{i}]"))?);
                }
                Some(ParamValue::List(out))
            }
        }
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
