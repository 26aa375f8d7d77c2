//! The risk statistics of `[outputs.NAME]` end to end: exceedance, VaR and CVaR of the `sum`
//! model's output against closed forms (a normal input passed through, and a lognormal one),
//! the same bits for 1 and 3 workers and over RabbitMQ, the table's lines, and a table naming
//! an output the model lacks refused with the fix.

use crate::support::broker::*;
use crate::support::*;
use mcp_testkit::model_path;
use serde_json::Value;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// `sum = x + y` with `y` constant 0 passes `x` through: the output has `x`'s distribution.
fn spec(x: &str, scenarios: u64) -> String {
    format!(
        "[simulation]\nscenarios = {scenarios}\nseed = 2026\nbatch = 997\n\n[variables]\n\
         x = {x}\ny = {{ dist = \"constant\", value = 0.0 }}\n\n[outputs.sum]\n\
         thresholds = [12.0, 15.0]\nvar = [0.95, 0.99]\n"
    )
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// For the output `X = g(Z)`, `Z` standard normal and `g` increasing: the quantile is
/// `g(Φ⁻¹(a))`, and `density(z)` is `X`'s density at `g(z)`; `cvar(a)` and `tail_sq(a)` are
/// `E[X | X > q]` and `E[X² | X > q]`.
struct Closed {
    g: fn(f64) -> f64,
    density: fn(f64) -> f64,
    cvar: fn(f64) -> f64,
    tail_sq: fn(f64) -> f64,
}

fn z(a: f64) -> f64 {
    Normal::standard().inverse_cdf(a)
}

fn phi(z: f64) -> f64 {
    Normal::standard().pdf(z)
}

fn cdf(z: f64) -> f64 {
    Normal::standard().cdf(z)
}

/// Checks exceedance, VaR and CVaR of output `sum` against `c`, five standard errors each:
/// - exceedance: the count is binomial(n, p), SE `√(p(1 − p)/n)`;
/// - VaR: the sample quantile's asymptotic SE `√(a(1 − a)/n) / f(q)`;
/// - CVaR: the tail mean's asymptotic SE `√((Var(X | X > q) + a (CVaR − q)²) / (n (1 − a)))`.
fn check(s: &Value, c: &Closed, exceeds: impl Fn(f64) -> f64) {
    let o = &s["outputs"]["sum"];
    let n = f(&o["count"]);
    for e in o["exceedance"].as_array().unwrap() {
        let t = f(&e["threshold"]);
        let p = exceeds(t);
        let tol = 5.0 * (p * (1.0 - p) / n).sqrt();
        let got = f(&e["probability"]);
        assert!((got - p).abs() <= tol, "P(> {t}) = {got} vs {p} ± {tol}");
        assert_eq!(f(&e["count"]), got * n);
        assert!(f(&e["ci95"][0]) < got && got < f(&e["ci95"][1]));
    }
    let risks = o["var"].as_array().unwrap();
    assert_eq!(risks.len(), 2);
    for r in risks {
        let a = f(&r["level"]);
        let q = (c.g)(z(a));
        let var_tol = 5.0 * (a * (1.0 - a) / n).sqrt() / (c.density)(z(a));
        let (cvar, tail_var) = ((c.cvar)(a), (c.tail_sq)(a) - (c.cvar)(a).powi(2));
        let cvar_tol = 5.0 * ((tail_var + a * (cvar - q).powi(2)) / (n * (1.0 - a))).sqrt();
        let (got_var, got_cvar) = (f(&r["var"]), f(&r["cvar"]));
        assert!(
            (got_var - q).abs() <= var_tol,
            "VaR {a}: {got_var} vs {q} ± {var_tol}"
        );
        assert!(
            (got_cvar - cvar).abs() <= cvar_tol,
            "CVaR {a}: {got_cvar} vs {cvar} ± {cvar_tol}"
        );
        // The interval holds the estimate and is about 2 · 1.96 quantile SEs wide (within 20%:
        // the binomial ranks are whole, the spacing of order statistics varies).
        let (lo, hi) = (f(&r["var_ci95"][0]), f(&r["var_ci95"][1]));
        assert!(lo <= got_var && got_var <= hi);
        let width = 2.0 * 1.959_964 * var_tol / 5.0;
        assert!(
            ((hi - lo) / width - 1.0).abs() < 0.2,
            "{} vs {width}",
            hi - lo
        );
    }
    // The median's interval holds the true median; each percentile has an interval.
    let p50 = &o["percentile_ci95"]["p50"];
    assert!(
        f(&p50[0]) <= (c.g)(0.0) && (c.g)(0.0) <= f(&p50[1]),
        "{p50}"
    );
    assert_eq!(o["percentile_ci95"].as_object().unwrap().len(), 7);
}

#[test]
fn risk_statistics_of_a_normal_output_match_the_closed_forms() {
    // X = 10 + 2 Z.
    let (_dir, path) = spec_file(&spec(
        r#"{ dist = "normal", mean = 10.0, std = 2.0 }"#,
        200_000,
    ));
    let s = submit_json(&model_path("sum"), &path, &[]);
    let closed = Closed {
        g: |z| 10.0 + 2.0 * z,
        density: |z| phi(z) / 2.0,
        // E[Z | Z > z] = φ(z)/(1 − a); E[Z² | Z > z] = 1 + z φ(z)/(1 − a).
        cvar: |a| 10.0 + 2.0 * phi(z(a)) / (1.0 - a),
        tail_sq: |a| {
            let (m1, m2) = (phi(z(a)) / (1.0 - a), 1.0 + z(a) * phi(z(a)) / (1.0 - a));
            100.0 + 40.0 * m1 + 4.0 * m2
        },
    };
    check(&s, &closed, |t| 1.0 - cdf((t - 10.0) / 2.0));
}

#[test]
fn risk_statistics_of_a_lognormal_output_match_the_closed_forms() {
    // X = exp(2 + 0.5 Z): E[X 1{X > q}] = e^{μ + σ²/2} Φ(σ − z), E[X² 1{X > q}] = e^{2μ + 2σ²}
    // Φ(2σ − z).
    let (_dir, path) = spec_file(&spec(
        r#"{ dist = "lognormal", mu = 2.0, sigma = 0.5 }"#,
        200_000,
    ));
    let s = submit_json(&model_path("sum"), &path, &[]);
    let closed = Closed {
        g: |z| (2.0 + 0.5 * z).exp(),
        density: |z| phi(z) / (0.5 * (2.0 + 0.5 * z).exp()),
        cvar: |a| 2.125f64.exp() * cdf(0.5 - z(a)) / (1.0 - a),
        tail_sq: |a| 4.5f64.exp() * cdf(1.0 - z(a)) / (1.0 - a),
    };
    check(&s, &closed, |t| 1.0 - cdf((t.ln() - 2.0) / 0.5));
}

#[test]
fn risk_statistics_are_the_same_bits_for_any_worker_count_and_over_rabbitmq() {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("sum");
    let (_dir, path) = spec_file(&spec(
        r#"{ dist = "lognormal", mu = 2.0, sigma = 0.5 }"#,
        30_000,
    ));
    let outputs = |s: &Value| serde_json::to_string(&s["outputs"]).unwrap();
    let one = submit_json(&model, &path, &["--workers", "1"]);
    assert!(one["outputs"]["sum"]["var"][1]["cvar"].is_f64());
    assert_eq!(
        outputs(&one),
        outputs(&submit_json(&model, &path, &["--workers", "3"]))
    );
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let distributed = submit_and_wait(&prefix, &model, &path, "30000");
    assert_eq!(outputs(&distributed), outputs(&one));
}

#[test]
fn the_table_prints_the_risk_lines() {
    let (_dir, path) = spec_file(&spec(
        r#"{ dist = "normal", mean = 10.0, std = 2.0 }"#,
        5_000,
    ));
    let (m, s) = (model_path("sum"), path.to_str().unwrap().to_string());
    let out = mcp(&["submit", m.to_str().unwrap(), "--spec", &s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "p50 ci95",
        "P(> 12)",
        "P(> 15)",
        "VaR 0.95",
        "CVaR 0.99",
        "of 5,000",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn a_table_for_an_output_the_model_lacks_is_refused_with_the_fix() {
    let text = spec(r#"{ dist = "normal", mean = 10.0, std = 2.0 }"#, 100)
        .replace("[outputs.sum]", "[outputs.total]");
    let (_dir, path) = spec_file(&text);
    let (m, s) = (model_path("sum"), path.to_str().unwrap().to_string());
    let out = mcp(&["submit", m.to_str().unwrap(), "--spec", &s]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(":10:10: outputs.total: model `sum` has no output `total` (its outputs are: sum); remove the table [outputs.total] or fix its name"),
        "{err}"
    );
}
