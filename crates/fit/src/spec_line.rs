//! A fit as a line of `vars.toml`: the variable's name made a bare TOML key, and the
//! parameters rounded to six significant digits (more when six would break a rule of the
//! spec, such as `min < max`).

use mcp_spec::{Distribution, MAX_NAME_BYTES};

/// Significant digits of a parameter in the line.
pub const DIGITS: usize = 6;

/// `name = { dist = "…", … }` for the fitted `dist`.
pub fn spec_line(name: &str, dist: &Distribution) -> String {
    let params: Vec<String> = parameters(dist)
        .into_iter()
        .map(|(param, value)| format!("{param} = {value}"))
        .collect();
    format!(
        "{} = {{ dist = \"{}\", {} }}",
        variable_name(name),
        dist.name(),
        params.join(", ")
    )
}

/// The parameters of a fitted distribution in the spec's order, [`rounded`] and written as
/// TOML values (`{:?}` keeps a decimal point or an exponent, so a real stays a TOML float).
pub fn parameters(dist: &Distribution) -> Vec<(&'static str, String)> {
    use Distribution as D;
    let dist = &rounded(dist);
    let real = |v: &f64| format!("{v:?}");
    match dist {
        D::Normal { mean, std } => vec![("mean", real(mean)), ("std", real(std))],
        D::Lognormal { mu, sigma } => vec![("mu", real(mu)), ("sigma", real(sigma))],
        D::Exponential { rate } => vec![("rate", real(rate))],
        D::Gamma { shape, scale } | D::Weibull { shape, scale } => {
            vec![("shape", real(shape)), ("scale", real(scale))]
        }
        D::Beta { alpha, beta } => vec![("alpha", real(alpha)), ("beta", real(beta))],
        D::Uniform { min, max } => vec![("min", real(min)), ("max", real(max))],
        D::Triangular { min, mode, max } | D::Pert { min, mode, max } => {
            vec![("min", real(min)), ("mode", real(mode)), ("max", real(max))]
        }
        D::Poisson { lambda } => vec![("lambda", real(lambda))],
        D::Binomial { n, p } => vec![("n", n.to_string()), ("p", real(p))],
        D::Bernoulli { p } => vec![("p", real(p))],
        other => unreachable!("`{}` is never fitted", other.name()),
    }
}

/// `dist` with its real parameters rounded to [`DIGITS`] significant digits, or to the
/// fewest more that keep it valid.
pub fn rounded(dist: &Distribution) -> Distribution {
    (DIGITS..17)
        .map(|digits| map_reals(dist, |v| round(v, digits)))
        .find(|d| d.validate().is_ok())
        .unwrap_or_else(|| dist.clone())
}

/// `v` to `digits` significant digits.
fn round(v: f64, digits: usize) -> f64 {
    format!("{v:.*e}", digits - 1).parse().unwrap_or(v)
}

/// `dist` with `f` applied to each real parameter.
fn map_reals(dist: &Distribution, f: impl Fn(f64) -> f64) -> Distribution {
    use Distribution as D;
    match *dist {
        D::Normal { mean, std } => D::Normal {
            mean: f(mean),
            std: f(std),
        },
        D::Lognormal { mu, sigma } => D::Lognormal {
            mu: f(mu),
            sigma: f(sigma),
        },
        D::Exponential { rate } => D::Exponential { rate: f(rate) },
        D::Gamma { shape, scale } => D::Gamma {
            shape: f(shape),
            scale: f(scale),
        },
        D::Weibull { shape, scale } => D::Weibull {
            shape: f(shape),
            scale: f(scale),
        },
        D::Beta { alpha, beta } => D::Beta {
            alpha: f(alpha),
            beta: f(beta),
        },
        D::Uniform { min, max } => D::Uniform {
            min: f(min),
            max: f(max),
        },
        D::Triangular { min, mode, max } => D::Triangular {
            min: f(min),
            mode: f(mode),
            max: f(max),
        },
        D::Pert { min, mode, max } => D::Pert {
            min: f(min),
            mode: f(mode),
            max: f(max),
        },
        D::Poisson { lambda } => D::Poisson { lambda: f(lambda) },
        D::Binomial { n, p } => D::Binomial { n, p: f(p) },
        D::Bernoulli { p } => D::Bernoulli { p: f(p) },
        ref other => unreachable!("`{}` is never fitted", other.name()),
    }
}

/// A column's name as a variable: lower case, every run of characters other than ASCII
/// letters and digits made one `_`, none at the ends, at most [`MAX_NAME_BYTES`]; `x` when
/// nothing is left.
pub fn variable_name(column: &str) -> String {
    let mut name = String::new();
    for c in column.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
    }
    name.truncate(MAX_NAME_BYTES);
    let name = name.trim_end_matches('_');
    if name.is_empty() {
        "x".into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_bare_keys() {
        assert_eq!(variable_name("loss"), "loss");
        assert_eq!(variable_name("Annual Loss ($)"), "annual_loss");
        assert_eq!(variable_name("  --  "), "x");
        assert_eq!(variable_name("Schäden 2024"), "sch_den_2024");
        assert_eq!(variable_name(&"a".repeat(300)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn lines_round_to_six_digits_unless_that_breaks_a_rule() {
        let d = Distribution::Lognormal {
            mu: 11.234567891,
            sigma: 0.80000004,
        };
        assert_eq!(
            spec_line("Loss", &d),
            "loss = { dist = \"lognormal\", mu = 11.2346, sigma = 0.8 }"
        );
        let d = Distribution::Binomial { n: 12, p: 0.25 };
        assert_eq!(
            spec_line("claims", &d),
            "claims = { dist = \"binomial\", n = 12, p = 0.25 }"
        );
        // Six digits would make min = mode = max here: eight keep them apart.
        let d = Distribution::Triangular {
            min: 1_000_000.01,
            mode: 1_000_000.2,
            max: 1_000_000.4,
        };
        assert_eq!(
            spec_line("x", &d),
            "x = { dist = \"triangular\", min = 1000000.0, mode = 1000000.2, max = 1000000.4 }"
        );
        // Very large and small values keep an exponent, which TOML reads as a float.
        let d = Distribution::Uniform {
            min: 1.5e-9,
            max: 2.5e20,
        };
        assert_eq!(
            spec_line("x", &d),
            "x = { dist = \"uniform\", min = 1.5e-9, max = 2.5e20 }"
        );
    }
}
