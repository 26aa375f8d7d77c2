//! `[[correlation]]` tables: each read, then every group checked against the variables.

use super::*;

impl Parser<'_> {
    /// `[[correlation]]` tables: each read, then all checked against the variables.
    pub(super) fn correlations(
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
            if let Some((mut group, repair)) = self.correlation(t, item.span(), &field) {
                if repair && group.repair() {
                    let report = group
                        .repair_report()
                        .expect("a repaired group has a report");
                    self.warnings.push(Diagnostic::in_text(
                        self.origin,
                        self.text,
                        Some(item.span()),
                        &format!("{field}.matrix"),
                        report,
                    ));
                }
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

    /// One `[[correlation]]` table, and whether it asks for `repair`.
    fn correlation(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        field: &str,
    ) -> Option<(Correlation, bool)> {
        self.unknown_keys(t, field, &["variables", "matrix", "copula", "df", "repair"]);
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
        let repair = match t.get_key_value("repair") {
            None => false,
            Some((_, v)) => match v.get_ref() {
                DeValue::Boolean(b) => *b,
                other => {
                    let message = format!(
                        "must be true (replace a matrix that cannot exist by the nearest valid \
                         one) or false, not {}",
                        describe(other)
                    );
                    self.error(Some(v.span()), &format!("{field}.repair"), message);
                    return None;
                }
            },
        };
        let copula = match (copula.as_str(), df) {
            ("gaussian", None) => Copula::Gaussian,
            ("clayton", None) => Copula::Clayton,
            ("gumbel", None) => Copula::Gumbel,
            ("frank", None) => Copula::Frank,
            ("student_t", Some((df, _))) => Copula::StudentT { df },
            ("student_t", None) => {
                let message = "the student_t copula needs `df`, its degrees of freedom (e.g. \
                               df = 4; lower means more extremes together)"
                    .to_string();
                self.error(Some(span), &format!("{field}.df"), message);
                return None;
            }
            ("gaussian" | "clayton" | "gumbel" | "frank", Some((_, df_span))) => {
                let message = "only the student_t copula takes `df`".to_string();
                self.error(Some(df_span), &format!("{field}.df"), message);
                return None;
            }
            (other, _) => {
                let (_, c) = t.get_key_value("copula").expect("a copula was named");
                let message = format!(
                    "unknown copula \"{other}\"; this mcp joins variables with \"gaussian\", \
                     \"student_t\" (with df), or for two variables \"clayton\", \"gumbel\" or \
                     \"frank\""
                );
                self.error(Some(c.span()), &format!("{field}.copula"), message);
                return None;
            }
        };
        let group = Correlation {
            variables,
            matrix,
            copula,
            repaired_from: None,
        };
        Some((group, repair))
    }
}
