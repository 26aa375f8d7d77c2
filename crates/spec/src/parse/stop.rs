//! The `[stop]` table: which output's precision ends the job, and the cap on its scenarios.

use super::*;
use crate::{Precision, SobolTarget, StopRule};

impl Parser<'_> {
    /// `[stop]`, checked against the job's `scenarios` when they are known.
    pub(super) fn stop(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        scenarios: Option<u64>,
    ) -> Option<StopRule> {
        let keys = [
            "output",
            "percentile",
            "ci95_half_width",
            "relative",
            "sobol",
            "max_scenarios",
            "check_every",
        ];
        self.unknown_keys(t, "stop", &keys);
        let output = match t.get_key_value("output") {
            Some((_, v)) => match v.get_ref() {
                DeValue::String(s) => {
                    self.source.stop_output = Some(v.span());
                    Some(s.to_string())
                }
                other => {
                    let message = format!(
                        "must be the name of a model output, like \"price\", not {}",
                        describe(other)
                    );
                    self.error(Some(v.span()), "stop.output", message);
                    None
                }
            },
            None => {
                let message = "missing field `output`; add `output = \"NAME\"` naming the model \
                               output whose mean (or percentile) decides when to stop"
                    .to_string();
                self.error(Some(span.clone()), "stop.output", message);
                None
            }
        };
        let percentile = match t.get_key_value("percentile") {
            None => Some(None),
            Some((_, v)) => match self.real(v, "stop.percentile") {
                Some(p) if p > 0.0 && p < 100.0 => Some(Some(p)),
                Some(_) => {
                    let message = format!(
                        "must be a percentile strictly between 0 and 100, like 99 for p99 (got \
                         {})",
                        &self.text[v.span()]
                    );
                    self.error(Some(v.span()), "stop.percentile", message);
                    None
                }
                None => None,
            },
        };
        let mut positive = |key: &str| -> Option<Option<f64>> {
            let Some((_, v)) = t.get_key_value(key) else {
                return Some(None);
            };
            let field = format!("stop.{key}");
            let x = self.real(v, &field)?;
            if x > 0.0 {
                return Some(Some(x));
            }
            let message = format!("must be greater than 0 (got {})", &self.text[v.span()]);
            self.error(Some(v.span()), &field, message);
            None
        };
        let half_width = positive("ci95_half_width");
        let relative = positive("relative");
        let precision = match (half_width, relative) {
            (Some(Some(h)), Some(None)) => Some(Precision::Ci95HalfWidth(h)),
            (Some(None), Some(Some(r))) => Some(Precision::Relative(r)),
            (Some(Some(_)), Some(Some(_))) => {
                let (_, v) = t.get_key_value("relative").expect("relative is there");
                let message =
                    "give `ci95_half_width` or `relative`, not both; remove one".to_string();
                self.error(Some(v.span()), "stop.relative", message);
                None
            }
            (Some(None), Some(None)) => {
                let message = "missing the precision; add `ci95_half_width = H` (the 95% \
                               interval's half-width, in the output's units) or `relative = R` \
                               (the half-width as a fraction of |mean|, or of |percentile| with \
                               `percentile = P`)"
                    .to_string();
                self.error(Some(span.clone()), "stop", message);
                None
            }
            _ => None,
        };
        let max_scenarios = match t.get_key_value("max_scenarios") {
            None => Some(None),
            Some((_, v)) => {
                let max = scenarios.unwrap_or(MAX_SCENARIOS);
                match self.integer(v, "stop.max_scenarios", 1, MAX_SCENARIOS) {
                    Some(n) if n > max => {
                        let message = format!(
                            "must be at most simulation.scenarios ({max}), the job's hard cap \
                             (got {n}); lower it or raise simulation.scenarios"
                        );
                        self.error(Some(v.span()), "stop.max_scenarios", message);
                        None
                    }
                    n => n.map(Some),
                }
            }
        };
        let sobol = match t.get_key_value("sobol") {
            None => Some(None),
            Some((_, v)) => {
                let target = match v.get_ref() {
                    DeValue::String(s) => SobolTarget::parse(s),
                    _ => None,
                };
                if target.is_some() {
                    self.source.stop_sobol = Some(v.span());
                } else {
                    let message = format!(
                        "must be \"first:INPUT\" or \"total:INPUT\", the Sobol index to watch \
                         instead of the mean, like \"total:x1\" (got {})",
                        &self.text[v.span()]
                    );
                    self.error(Some(v.span()), "stop.sobol", message);
                }
                target.map(Some)
            }
        };
        let check_every = match t.get_key_value("check_every") {
            None => Some(1),
            Some((_, v)) => self.integer(v, "stop.check_every", 1, MAX_SCENARIOS),
        };
        if let (Some(Some(_)), Some(Some(_))) = (&percentile, &sobol) {
            let (_, v) = t.get_key_value("sobol").expect("sobol is there");
            let message = "give `percentile` or `sobol`, not both: a rule watches one \
                           statistic of its output; remove one"
                .to_string();
            self.error(Some(v.span()), "stop.sobol", message);
            return None;
        }
        Some(StopRule {
            output: output?,
            precision: precision?,
            percentile: percentile?,
            sobol: sobol?,
            max_scenarios: max_scenarios?,
            check_every: check_every?,
        })
    }
}
