//! The `[sensitivity]` table, and the checks that tie it to the rest of the spec: the Saltelli
//! design's scenario and batch counts, independent inputs, plain Monte Carlo, and a `[stop]`
//! rule on a Sobol index naming a variable of a spec that asks for the indices.

use super::*;
use crate::{Sensitivity, SensitivityMethod};

impl Parser<'_> {
    /// `[sensitivity]`: `method = "sobol"`.
    pub(super) fn sensitivity(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
    ) -> Option<Sensitivity> {
        self.unknown_keys(t, "sensitivity", &["method"]);
        self.source.sensitivity = Some(span.clone());
        let method = match t.get_key_value("method") {
            Some((_, v)) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "sobol" => Some(SensitivityMethod::Sobol),
                other => {
                    let got = match other {
                        DeValue::String(s) => format!("\"{s}\""),
                        other => describe(other),
                    };
                    let message = format!(
                        "must be \"sobol\" (first-order and total Sobol indices from a Saltelli \
                         design), not {got}"
                    );
                    self.error(Some(v.span()), "sensitivity.method", message);
                    None
                }
            },
            None => {
                let message = "missing field `method`; add `method = \"sobol\"`".to_string();
                self.error(Some(span), "sensitivity.method", message);
                None
            }
        };
        Some(Sensitivity { method: method? })
    }

    /// The rules `[sensitivity]` sets for the rest of `spec`, and those of a `[stop]` rule on a
    /// Sobol index, each reported at the field it names.
    pub(super) fn check_design(&mut self, spec: &Spec, root: &DeTable<'_>) {
        let at = |table: &str, key: &str| -> Option<Range<usize>> {
            let (_, t) = root.get_key_value(table)?;
            match t.get_ref() {
                DeValue::Table(t) => t.get_key_value(key).map(|(_, v)| v.span()),
                _ => None,
            }
        };
        for (field, message) in spec.check_sensitivity() {
            let span = match field.split_once('.') {
                Some((table, key)) => at(table, key),
                None => root.get_key_value(field).map(|(k, _)| k.span()),
            }
            .or_else(|| self.source.sensitivity.clone());
            self.error(span, field, message);
        }
        let Some(target) = spec.stop.as_ref().and_then(|s| s.sobol.as_ref()) else {
            return;
        };
        let span = self.source.stop_sobol.clone();
        if spec.sensitivity.is_none() {
            let message = "a rule on a Sobol index needs the indices; add [sensitivity] with \
                           `method = \"sobol\"`, or remove `sobol`"
                .to_string();
            self.error(span, "stop.sobol", message);
        } else if spec.variable(&target.input).is_none() {
            let names: Vec<&str> = spec.variables.iter().map(|v| v.name.as_str()).collect();
            let message = format!(
                "the spec has no variable `{}` (its variables are: {}); name one of them",
                target.input,
                names.join(", ")
            );
            self.error(span, "stop.sobol", message);
        }
    }
}
