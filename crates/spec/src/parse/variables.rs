//! `[variables]`: a distribution per variable, by its parameters or by two percentiles, and
//! its truncation.

use super::*;

impl Parser<'_> {
    pub(super) fn variables(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Vec<Variable> {
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
            if let Some(variable) = self.variable(&name, key.span(), value) {
                out.push(variable);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        let width: u64 = out.iter().map(|v| u64::from(v.size)).sum();
        if width > u64::from(MAX_INPUT_VALUES) {
            let message = format!(
                "a scenario's inputs would hold {width} values (vector and path inputs counted \
                 element by element), more than {MAX_INPUT_VALUES}; make `size` or `steps` smaller"
            );
            self.error(Some(span), "variables", message);
        }
        out
    }

    fn variable(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Variable> {
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
        if let Some((_, v)) = t.get_key_value("process") {
            if let Some((dist_key, _)) = t.get_key_value("dist") {
                let message = "a path input has a `process`, not a `dist`: drop one".to_string();
                self.error(Some(dist_key.span()), &format!("{field}.dist"), message);
                return None;
            }
            return self.process(name, key_span, t, v);
        }
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
        let size = match t.get_key_value("size") {
            Some((_, v)) => {
                self.integer(v, &format!("{field}.size"), 1, u64::from(MAX_INPUT_VALUES))? as u32
            }
            None => 1,
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
        Some(Variable {
            truncate: truncate.map(|(b, _)| b),
            size,
            ..Variable::scalar(name, built)
        })
    }

    /// A path input: `{ process = "gbm", s0 = ..., ..., steps = N }`.
    fn process(
        &mut self,
        name: &str,
        key_span: Range<usize>,
        t: &DeTable<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Variable> {
        let field = format!("variables.{name}");
        let all = crate::PROCESSES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        let kind = match value.get_ref() {
            DeValue::String(s) => crate::process::parameters(s).map(|p| (s.to_string(), p)),
            _ => None,
        };
        let Some((kind, params)) = kind else {
            let message = format!(
                "`process` must name one of: {all} (got {})",
                describe(value.get_ref())
            );
            self.error(Some(value.span()), &format!("{field}.process"), message);
            return None;
        };
        let write = format!(
            "write {name} = {{ process = \"{kind}\", {}, steps = ... }}",
            params
                .iter()
                .map(|p| format!("{p} = ..."))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut ok = true;
        for (key, _) in t.iter() {
            let k = key.get_ref().as_ref();
            if k != "process" && k != "steps" && !params.contains(&k) {
                let message = format!("{kind} has no parameter `{k}`; {write}");
                self.error(Some(key.span()), &format!("{field}.{k}"), message);
                ok = false;
            }
        }
        let mut values = Vec::new();
        for param in params {
            match t.get_key_value(*param) {
                Some((_, v)) => match self.real(v, &format!("{field}.{param}")) {
                    Some(x) => values.push((*param, x, v.span())),
                    None => ok = false,
                },
                None => {
                    let message = format!("{kind} needs `{param}`; {write}");
                    self.error(Some(key_span.clone()), &format!("{field}.{param}"), message);
                    ok = false;
                }
            }
        }
        let steps = match t.get_key_value("steps") {
            Some((_, v)) => {
                self.integer(v, &format!("{field}.steps"), 1, u64::from(MAX_INPUT_VALUES))
            }
            None => {
                let message = format!("{kind} needs `steps`, the path's length; {write}");
                self.error(Some(key_span), &format!("{field}.steps"), message);
                None
            }
        };
        let steps = steps?;
        if !ok {
            return None;
        }
        let get = |p: &str| {
            values
                .iter()
                .find(|(n, _, _)| *n == p)
                .map_or(f64::NAN, |v| v.1)
        };
        match crate::Process::build(&kind, get) {
            Ok(process) => Some(Variable {
                size: steps as u32,
                process: Some(process),
                ..Variable::scalar(
                    name,
                    Distribution::Normal {
                        mean: 0.0,
                        std: 1.0,
                    },
                )
            }),
            Err((param, message)) => {
                let span = values
                    .iter()
                    .find(|(n, _, _)| *n == param)
                    .map(|v| v.2.clone());
                self.error(span, &format!("{field}.{param}"), message);
                None
            }
        }
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
            } else if !matches!(k, "dist" | "truncate" | "size") {
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
            if !matches!(k, "dist" | "truncate" | "size") && !params.contains(&k) {
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
}
