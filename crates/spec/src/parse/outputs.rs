//! `[outputs.NAME]` tables: exceedance thresholds and Value-at-Risk levels per output.

use super::*;
use crate::{MAX_RISK_POINTS, OutputRisk};
use std::collections::BTreeMap;

impl Parser<'_> {
    pub(super) fn outputs(&mut self, t: &DeTable<'_>) -> BTreeMap<String, OutputRisk> {
        let mut out = BTreeMap::new();
        for (key, value) in t.iter() {
            let name = key.get_ref().to_string();
            let field = format!("outputs.{name}");
            let DeValue::Table(table) = value.get_ref() else {
                let message = format!(
                    "must be a table, not {}; for example [outputs.{name}] with \
                     `thresholds = [1e6]` and `var = [0.99]`",
                    describe(value.get_ref())
                );
                self.error(Some(value.span()), &field, message);
                continue;
            };
            self.source.outputs.insert(name.clone(), key.span());
            self.unknown_keys(table, &field, &["thresholds", "var"]);
            let thresholds = self.risk_points(table, &field, "thresholds", |_| None);
            let var = self.risk_points(table, &field, "var", |x| {
                (!(x > 0.0 && x < 1.0)).then(|| {
                    format!("levels must lie strictly between 0 and 1, like 0.95 or 0.99 (got {x})")
                })
            });
            out.insert(name, OutputRisk { thresholds, var });
        }
        out
    }

    /// The array of numbers at `key` (empty when absent), each checked by `bad`.
    fn risk_points(
        &mut self,
        t: &DeTable<'_>,
        table: &str,
        key: &str,
        bad: impl Fn(f64) -> Option<String>,
    ) -> Vec<f64> {
        let field = format!("{table}.{key}");
        let Some((_, v)) = t.get_key_value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            let message = format!(
                "must be an array of numbers, like [0.95, 0.99], not {}",
                describe(v.get_ref())
            );
            self.error(Some(v.span()), &field, message);
            return Vec::new();
        };
        if items.len() > MAX_RISK_POINTS {
            let message = format!(
                "lists {} numbers, more than {MAX_RISK_POINTS}; keep the ones you decide with",
                items.len()
            );
            self.error(Some(v.span()), &field, message);
            return Vec::new();
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Some(x) = self.real(item, &at) else {
                continue;
            };
            if let Some(message) = bad(x) {
                self.error(Some(item.span()), &at, message);
            } else if out.contains(&x) {
                let message = format!("{x} is listed twice; drop one");
                self.error(Some(item.span()), &at, message);
            } else {
                out.push(x);
            }
        }
        out
    }
}
