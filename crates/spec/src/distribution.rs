//! The distributions a variable may have, their parameters and their validity rules.

use serde::{Deserialize, Serialize};

/// A probability distribution of one input, with validated parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Distribution {
    /// Always `value`.
    Constant { value: f64 },
    /// Normal with mean and standard deviation.
    Normal { mean: f64, std: f64 },
    /// Continuous uniform on `[min, max)`.
    Uniform { min: f64, max: f64 },
    /// Exponential with the given rate (mean `1/rate`).
    Exponential { rate: f64 },
    /// Log-normal: `exp(N(mu, sigma))`.
    Lognormal { mu: f64, sigma: f64 },
    /// Triangular on `[min, max]` peaking at `mode`.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Number of successes in `n` trials of probability `p`.
    Binomial { n: u64, p: f64 },
    /// Poisson with mean `lambda`.
    Poisson { lambda: f64 },
    /// 1 with probability `p`, else 0.
    Bernoulli { p: f64 },
    /// Beta on `[0, 1]`.
    Beta { alpha: f64, beta: f64 },
    /// Gamma with shape and scale (mean `shape * scale`).
    Gamma { shape: f64, scale: f64 },
    /// Weibull with shape and scale.
    Weibull { shape: f64, scale: f64 },
    /// PERT (a scaled beta) on `[min, max]` with the given mode.
    Pert { min: f64, mode: f64, max: f64 },
    /// Student's t with `df` degrees of freedom, location 0 and scale 1.
    StudentT { df: f64 },
    /// Normal(mean, std) conditioned on `[min, max]`.
    TruncatedNormal {
        mean: f64,
        std: f64,
        min: f64,
        max: f64,
    },
    /// One of `values`, with probabilities proportional to `weights`.
    Discrete { values: Vec<f64>, weights: Vec<f64> },
}

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// A finite number.
    Real,
    /// A non-negative integer.
    Count,
    /// A non-empty array of finite numbers.
    List,
}

/// A parameter value after type checking.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamValue {
    Real(f64),
    Count(u64),
    List(Vec<f64>),
}

/// Every distribution name and its parameters, in the order the docs list them.
pub const DISTRIBUTIONS: &[(&str, &[&str])] = &[
    ("constant", &["value"]),
    ("normal", &["mean", "std"]),
    ("uniform", &["min", "max"]),
    ("exponential", &["rate"]),
    ("lognormal", &["mu", "sigma"]),
    ("triangular", &["min", "mode", "max"]),
    ("binomial", &["n", "p"]),
    ("poisson", &["lambda"]),
    ("bernoulli", &["p"]),
    ("beta", &["alpha", "beta"]),
    ("gamma", &["shape", "scale"]),
    ("weibull", &["shape", "scale"]),
    ("pert", &["min", "mode", "max"]),
    ("student_t", &["df"]),
    ("truncated_normal", &["mean", "std", "min", "max"]),
    ("discrete", &["values", "weights"]),
];

/// The parameters of distribution `dist`, or `None` if there is no such distribution.
pub(crate) fn parameters(dist: &str) -> Option<&'static [&'static str]> {
    DISTRIBUTIONS
        .iter()
        .find(|(name, _)| *name == dist)
        .map(|(_, params)| *params)
}

/// The kind of value parameter `param` of `dist` takes.
pub(crate) fn kind(dist: &str, param: &str) -> ParamKind {
    match (dist, param) {
        ("binomial", "n") => ParamKind::Count,
        ("discrete", _) => ParamKind::List,
        _ => ParamKind::Real,
    }
}

/// A rule broken by a parameter: which one, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub param: &'static str,
    pub message: String,
}

fn violation(param: &'static str, message: String) -> Violation {
    Violation { param, message }
}

fn positive(param: &'static str, value: f64) -> Result<(), Violation> {
    if value > 0.0 {
        Ok(())
    } else {
        Err(violation(
            param,
            format!("must be greater than 0 (got {value})"),
        ))
    }
}

fn probability(param: &'static str, value: f64) -> Result<(), Violation> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(violation(
            param,
            format!("must be a probability between 0 and 1 (got {value})"),
        ))
    }
}

fn ordered(min: f64, max: f64) -> Result<(), Violation> {
    if min < max {
        Ok(())
    } else {
        Err(violation(
            "max",
            format!("must be greater than `min` (got min = {min}, max = {max})"),
        ))
    }
}

fn mode_within(min: f64, mode: f64, max: f64) -> Result<(), Violation> {
    ordered(min, max)?;
    if (min..=max).contains(&mode) {
        Ok(())
    } else {
        Err(violation(
            "mode",
            format!(
                "must lie between `min` and `max` (got min = {min}, mode = {mode}, max = {max})"
            ),
        ))
    }
}

impl Distribution {
    /// Builds a distribution from type-checked parameters and checks its rules.
    ///
    /// `get` returns the value of a parameter the distribution declares; the parser has already
    /// made sure each is present and of the right kind.
    pub(crate) fn build(
        dist: &str,
        get: impl Fn(&str) -> ParamValue,
    ) -> Result<Distribution, Violation> {
        let real = |p: &str| match get(p) {
            ParamValue::Real(v) => v,
            ParamValue::Count(n) => n as f64,
            ParamValue::List(_) => unreachable!("list parameter `{p}` read as a number"),
        };
        let list = |p: &str| match get(p) {
            ParamValue::List(v) => v,
            _ => unreachable!("number parameter `{p}` read as a list"),
        };
        let d = match dist {
            "constant" => Distribution::Constant {
                value: real("value"),
            },
            "normal" => {
                let std = real("std");
                positive("std", std)?;
                Distribution::Normal {
                    mean: real("mean"),
                    std,
                }
            }
            "uniform" => {
                let (min, max) = (real("min"), real("max"));
                ordered(min, max)?;
                Distribution::Uniform { min, max }
            }
            "exponential" => {
                let rate = real("rate");
                positive("rate", rate)?;
                Distribution::Exponential { rate }
            }
            "lognormal" => {
                let sigma = real("sigma");
                positive("sigma", sigma)?;
                Distribution::Lognormal {
                    mu: real("mu"),
                    sigma,
                }
            }
            "triangular" => {
                let (min, mode, max) = (real("min"), real("mode"), real("max"));
                mode_within(min, mode, max)?;
                Distribution::Triangular { min, mode, max }
            }
            "binomial" => {
                let n = match get("n") {
                    ParamValue::Count(n) => n,
                    _ => unreachable!("`n` is a count"),
                };
                let p = real("p");
                probability("p", p)?;
                Distribution::Binomial { n, p }
            }
            "poisson" => {
                let lambda = real("lambda");
                positive("lambda", lambda)?;
                Distribution::Poisson { lambda }
            }
            "bernoulli" => {
                let p = real("p");
                probability("p", p)?;
                Distribution::Bernoulli { p }
            }
            "beta" => {
                let (alpha, beta) = (real("alpha"), real("beta"));
                positive("alpha", alpha)?;
                positive("beta", beta)?;
                Distribution::Beta { alpha, beta }
            }
            "gamma" => {
                let (shape, scale) = (real("shape"), real("scale"));
                positive("shape", shape)?;
                positive("scale", scale)?;
                Distribution::Gamma { shape, scale }
            }
            "weibull" => {
                let (shape, scale) = (real("shape"), real("scale"));
                positive("shape", shape)?;
                positive("scale", scale)?;
                Distribution::Weibull { shape, scale }
            }
            "pert" => {
                let (min, mode, max) = (real("min"), real("mode"), real("max"));
                mode_within(min, mode, max)?;
                Distribution::Pert { min, mode, max }
            }
            "student_t" => {
                let df = real("df");
                positive("df", df)?;
                Distribution::StudentT { df }
            }
            "truncated_normal" => {
                let (mean, std, min, max) = (real("mean"), real("std"), real("min"), real("max"));
                positive("std", std)?;
                ordered(min, max)?;
                Distribution::TruncatedNormal {
                    mean,
                    std,
                    min,
                    max,
                }
            }
            "discrete" => {
                let (values, weights) = (list("values"), list("weights"));
                if values.len() != weights.len() {
                    return Err(violation(
                        "weights",
                        format!(
                            "must have one weight per value (got {} values and {} weights)",
                            values.len(),
                            weights.len()
                        ),
                    ));
                }
                if let Some(w) = weights.iter().find(|w| **w < 0.0) {
                    return Err(violation(
                        "weights",
                        format!("must not be negative (got {w})"),
                    ));
                }
                let total: f64 = weights.iter().sum();
                if !(total > 0.0 && total.is_finite()) {
                    return Err(violation(
                        "weights",
                        format!("must sum to a positive finite number (they sum to {total})"),
                    ));
                }
                Distribution::Discrete { values, weights }
            }
            other => unreachable!("unknown distribution `{other}` passed the parser"),
        };
        Ok(d)
    }

    /// Checks its parameters as the parser does (finite numbers, and each distribution's
    /// rules), for a distribution that did not come from the parser; the error names the
    /// parameter.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let params = parameters(self.name()).expect("every distribution is listed");
        for &param in params {
            let values = match self.param(param) {
                ParamValue::Real(v) => vec![v],
                ParamValue::List(v) if v.is_empty() => {
                    return Err((param, "must not be empty; list at least one number".into()));
                }
                ParamValue::List(v) => v,
                ParamValue::Count(_) => vec![],
            };
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err((param, format!("must be a finite number (got {v})")));
            }
        }
        Distribution::build(self.name(), |p| self.param(p))
            .map(|_| ())
            .map_err(|v| (v.param, v.message))
    }

    /// The value of parameter `param` (one of those [`DISTRIBUTIONS`] lists for it).
    fn param(&self, param: &str) -> ParamValue {
        use Distribution as D;
        let real = ParamValue::Real;
        match (self, param) {
            (D::Constant { value }, _) => real(*value),
            (D::Normal { mean, .. }, "mean") | (D::TruncatedNormal { mean, .. }, "mean") => {
                real(*mean)
            }
            (D::Normal { std, .. }, _) | (D::TruncatedNormal { std, .. }, "std") => real(*std),
            (D::Uniform { min, .. }, "min")
            | (D::Triangular { min, .. }, "min")
            | (D::Pert { min, .. }, "min")
            | (D::TruncatedNormal { min, .. }, "min") => real(*min),
            (D::Uniform { max, .. }, _)
            | (D::Triangular { max, .. }, "max")
            | (D::Pert { max, .. }, "max")
            | (D::TruncatedNormal { max, .. }, _) => real(*max),
            (D::Triangular { mode, .. }, _) | (D::Pert { mode, .. }, _) => real(*mode),
            (D::Exponential { rate }, _) => real(*rate),
            (D::Lognormal { mu, .. }, "mu") => real(*mu),
            (D::Lognormal { sigma, .. }, _) => real(*sigma),
            (D::Binomial { n, .. }, "n") => ParamValue::Count(*n),
            (D::Binomial { p, .. }, _) | (D::Bernoulli { p }, _) => real(*p),
            (D::Poisson { lambda }, _) => real(*lambda),
            (D::Beta { alpha, .. }, "alpha") => real(*alpha),
            (D::Beta { beta, .. }, _) => real(*beta),
            (D::Gamma { shape, .. }, "shape") | (D::Weibull { shape, .. }, "shape") => real(*shape),
            (D::Gamma { scale, .. }, _) | (D::Weibull { scale, .. }, _) => real(*scale),
            (D::StudentT { df }, _) => real(*df),
            (D::Discrete { values, .. }, "values") => ParamValue::List(values.clone()),
            (D::Discrete { weights, .. }, _) => ParamValue::List(weights.clone()),
        }
    }

    /// Whether it is continuous (may be truncated): not a constant, a count or a discrete
    /// list.
    pub fn is_continuous(&self) -> bool {
        !matches!(
            self,
            Distribution::Constant { .. }
                | Distribution::Binomial { .. }
                | Distribution::Poisson { .. }
                | Distribution::Bernoulli { .. }
                | Distribution::Discrete { .. }
        )
    }

    /// Checks `truncate = [min, max]` for this distribution: finite, ordered, and a continuous
    /// distribution to condition. Whether the interval holds probability is the sampler's check.
    pub fn check_truncation(&self, [min, max]: [f64; 2]) -> Result<(), String> {
        if !self.is_continuous() {
            return Err(format!(
                "applies to continuous distributions; {} is not one (drop `truncate`, or list \
                 the values you want with a discrete distribution)",
                self.name()
            ));
        }
        if !(min.is_finite() && max.is_finite()) {
            return Err(format!("must be two finite numbers (got [{min}, {max}])"));
        }
        if min >= max {
            return Err(format!(
                "must be [min, max] with min below max (got [{min}, {max}])"
            ));
        }
        Ok(())
    }

    /// The distribution's name as written in a spec.
    pub fn name(&self) -> &'static str {
        match self {
            Distribution::Constant { .. } => "constant",
            Distribution::Normal { .. } => "normal",
            Distribution::Uniform { .. } => "uniform",
            Distribution::Exponential { .. } => "exponential",
            Distribution::Lognormal { .. } => "lognormal",
            Distribution::Triangular { .. } => "triangular",
            Distribution::Binomial { .. } => "binomial",
            Distribution::Poisson { .. } => "poisson",
            Distribution::Bernoulli { .. } => "bernoulli",
            Distribution::Beta { .. } => "beta",
            Distribution::Gamma { .. } => "gamma",
            Distribution::Weibull { .. } => "weibull",
            Distribution::Pert { .. } => "pert",
            Distribution::StudentT { .. } => "student_t",
            Distribution::TruncatedNormal { .. } => "truncated_normal",
            Distribution::Discrete { .. } => "discrete",
        }
    }
}
