//! `[stop]`: a job that ends once one output's mean (or one of its percentiles, or one of its
//! Sobol indices) is known
//! precisely enough, or once it has run `max_scenarios`, and the check that its output is one
//! the model has.
//!
//! The rule is judged by the coordinator on the contiguous prefix of batches `0..b`, at fixed
//! checkpoints (`b` a multiple of `check_every`, and the batch that reaches `max_scenarios`),
//! so where a job stops depends on the spec and the seed alone.

use crate::{Diagnostic, Spec};
use serde::{Deserialize, Serialize};

/// How precise the mean must be for the job to stop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// `ci95_half_width = h`: stop once `1.96 · std / √n ≤ h`.
    Ci95HalfWidth(f64),
    /// `relative = r`: stop once `1.96 · std / √n ≤ r · |mean|`.
    Relative(f64),
}

/// The `[stop]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopRule {
    /// The model output whose mean (or percentile) the rule watches.
    pub output: String,
    /// How precise its mean (or percentile, or the Sobol index `sobol`) must be.
    pub precision: Precision,
    /// `percentile = P` (0 < P < 100): the rule watches the output's P-th percentile and the
    /// half-width of its 95% order-statistic interval, instead of the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    /// `sobol = "first:x"` or `"total:x"`: the rule watches that Sobol index of the output
    /// instead of its mean (needs `[sensitivity] method = "sobol"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sobol: Option<SobolTarget>,
    /// Stop after this many scenarios at most (rounded up to a whole batch), whatever the
    /// precision; `simulation.scenarios` stays the hard cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_scenarios: Option<u64>,
    /// The rule is judged after every `check_every` batches of the contiguous prefix.
    #[serde(default = "one")]
    pub check_every: u64,
}

fn one() -> u64 {
    1
}

/// Which Sobol index a `[stop]` rule watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SobolTarget {
    /// First-order or total.
    pub order: SobolOrder,
    /// The input (a spec variable) whose index it is.
    pub input: String,
}

/// A Sobol index's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SobolOrder {
    /// The share of variance the input explains alone.
    First,
    /// The share it takes part in, interactions included.
    Total,
}

impl SobolTarget {
    /// Reads `first:NAME` or `total:NAME`.
    pub fn parse(text: &str) -> Option<SobolTarget> {
        let (order, input) = text.split_once(':')?;
        let order = match order {
            "first" => SobolOrder::First,
            "total" => SobolOrder::Total,
            _ => return None,
        };
        (!input.is_empty()).then(|| SobolTarget {
            order,
            input: input.to_string(),
        })
    }
}

/// Why a job stopped before running all its scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The watched output's mean reached the asked precision.
    Precision,
    /// The job ran `max_scenarios`.
    MaxScenarios,
}

impl StopReason {
    /// Its name in the summary: `precision`, `max_scenarios`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Precision => "precision",
            StopReason::MaxScenarios => "max_scenarios",
        }
    }
}

impl StopRule {
    /// Whether the rule's precision holds for a mean over `count` values with sample standard
    /// deviation `std` (the summary's `ci95` half-width, `1.96 · std / √count`). Fewer than two
    /// values, or a NaN, never satisfy it.
    pub fn precise(&self, count: u64, mean: f64, std: f64) -> bool {
        if count < 2 {
            return false;
        }
        self.holds(mean, Z_975 * std / (count as f64).sqrt())
    }

    /// Whether the rule's precision holds for a 95% interval `[lo, hi]` around `estimate`
    /// (a percentile's order-statistic interval): its half-width `(hi − lo) / 2` against the
    /// target. A NaN never satisfies it.
    pub fn precise_interval(&self, estimate: f64, lo: f64, hi: f64) -> bool {
        self.holds(estimate, (hi - lo) / 2.0)
    }

    /// Whether the rule's precision holds for an estimate `value` whose 95% interval has
    /// half-width `half` (a Sobol index's). A NaN never satisfies it.
    pub fn holds(&self, value: f64, half: f64) -> bool {
        match self.precision {
            Precision::Ci95HalfWidth(h) => half <= h,
            Precision::Relative(r) => half <= r * value.abs(),
        }
    }
}

/// The normal quantile of the summary's 95% intervals.
const Z_975: f64 = 1.96;

impl Spec {
    /// Checks that `[stop]`'s output is one of the outputs of model `model`.
    pub(crate) fn check_stop_output(&self, model: &str, outputs: &[String]) -> Option<Diagnostic> {
        let stop = self.stop.as_ref()?;
        if outputs.contains(&stop.output) {
            return None;
        }
        let src = &self.source;
        Some(Diagnostic::at(
            src,
            src.stop_output.clone(),
            "stop.output",
            format!(
                "model `{model}` has no output `{}` (its outputs are: {}); name one of them",
                stop.output,
                outputs.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_holds_when_the_half_width_reaches_its_target() {
        let rule = |precision| StopRule {
            output: "y".into(),
            precision,
            percentile: None,
            sobol: None,
            max_scenarios: None,
            check_every: 1,
        };
        // 1.96 · 1 / √400 = 0.098.
        let abs = rule(Precision::Ci95HalfWidth(0.1));
        assert!(abs.precise(400, 0.0, 1.0));
        assert!(!abs.precise(380, 0.0, 1.0));
        assert!(!abs.precise(1, 0.0, 0.0));
        assert!(!abs.precise(400, 0.0, f64::NAN));
        let rel = rule(Precision::Relative(0.01));
        assert!(rel.precise(400, -9.8, 1.0));
        assert!(!rel.precise(400, 9.7, 1.0));
        // A percentile's interval: half of its width against the target.
        assert!(abs.precise_interval(5.0, 4.9, 5.1));
        assert!(!abs.precise_interval(5.0, 4.8, 5.1));
        assert!(!abs.precise_interval(5.0, f64::NAN, 5.1));
        assert!(rel.precise_interval(-10.0, -10.1, -9.9));
        assert!(!rel.precise_interval(10.0, 9.8, 10.1));
        assert!(abs.holds(0.3, 0.1) && !abs.holds(0.3, 0.11) && !abs.holds(0.3, f64::NAN));
    }

    #[test]
    fn sobol_targets_read_order_and_input() {
        let t = SobolTarget::parse("total:x1").unwrap();
        assert_eq!((t.order, t.input.as_str()), (SobolOrder::Total, "x1"));
        assert_eq!(SobolTarget::parse("first:a:b").unwrap().input, "a:b");
        for bad in ["x1", "second:x1", "total:", ":x"] {
            assert_eq!(SobolTarget::parse(bad), None, "{bad}");
        }
    }
}
