//! Jobs that run: convergence to known answers, determinism, failures, time-outs.

use crate::support::*;
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, Normal};

/// Black–Scholes price of a European call, and N(d2), the risk-neutral probability of
/// finishing in the money.
pub(crate) fn black_scholes(spot: f64, strike: f64, rate: f64, vol: f64, t: f64) -> (f64, f64) {
    let n = Normal::standard();
    let d1 = ((spot / strike).ln() + (rate + vol * vol / 2.0) * t) / (vol * t.sqrt());
    let d2 = d1 - vol * t.sqrt();
    (
        spot * n.cdf(d1) - strike * (-rate * t).exp() * n.cdf(d2),
        n.cdf(d2),
    )
}

fn output<'a>(summary: &'a Value, name: &str) -> &'a Value {
    &summary["outputs"][name]
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[test]
fn pricing_converges_to_black_scholes() {
    let (model, spec) = pricing();
    let s = submit_json(&model, &spec, &["--scenarios", "400000"]);
    let (price, prob) = black_scholes(100.0, 100.0, 0.05, 0.2, 1.0);
    let p = output(&s, "price");
    let itm = output(&s, "itm");
    assert_eq!(f(&p["count"]), 400_000.0);
    assert!(
        (f(&p["mean"]) - price).abs() < 5.0 * f(&p["stderr"]),
        "price {} vs Black–Scholes {price} (stderr {})",
        p["mean"],
        p["stderr"]
    );
    assert!(
        (f(&itm["mean"]) - prob).abs() < 5.0 * f(&itm["stderr"]),
        "itm {} vs N(d2) {prob}",
        itm["mean"]
    );
    // The 95% interval is mean ± 1.96 stderr.
    let ci = p["ci95"].as_array().unwrap();
    assert!((f(&ci[0]) - (f(&p["mean"]) - 1.959963984540054 * f(&p["stderr"]))).abs() < 1e-9);
    assert!((f(&ci[1]) - (f(&p["mean"]) + 1.959963984540054 * f(&p["stderr"]))).abs() < 1e-9);
}

#[test]
fn the_json_summary_has_the_documented_shape() {
    let (model, spec) = pricing();
    let s = submit_json(&model, &spec, &["--scenarios", "5000", "--seed", "11"]);
    assert_eq!(s["model"]["name"], "pricing");
    assert_eq!(s["model"]["version"], "0.1.0");
    assert!(
        s["model"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(s["seed"], 11);
    assert_eq!(s["scenarios"], 5000);
    assert_eq!(s["failed"], 0);
    assert!(f(&s["elapsed_s"]) > 0.0);
    let keys: Vec<&str> = s["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys.len(), 2);
    let p = output(&s, "price");
    for key in [
        "count",
        "mean",
        "std",
        "stderr",
        "ci95",
        "min",
        "max",
        "percentiles",
    ] {
        assert!(!p[key].is_null(), "missing {key}");
    }
    let pct: Vec<f64> = ["p1", "p5", "p25", "p50", "p75", "p95", "p99"]
        .iter()
        .map(|k| f(&p["percentiles"][k]))
        .collect();
    assert!(
        pct.windows(2).all(|w| w[0] <= w[1]),
        "percentiles ascend: {pct:?}"
    );
    assert!(f(&p["min"]) <= pct[0] && pct[6] <= f(&p["max"]));
}

#[test]
fn the_sum_of_two_standard_normals_has_std_root_two() {
    let s = submit_json(
        &model_path("sum"),
        &project_file("example-models/sum/vars.toml"),
        &[],
    );
    let out = output(&s, "sum");
    let n = f(&out["count"]);
    assert_eq!(n, 100_000.0);
    // For normal data the standard error of the sample std is σ / √(2(n − 1)).
    let se_std = 2f64.sqrt() / (2.0 * (n - 1.0)).sqrt();
    assert!(
        (f(&out["std"]) - 2f64.sqrt()).abs() < 5.0 * se_std,
        "std {} vs √2",
        out["std"]
    );
    assert!(f(&out["mean"]).abs() < 5.0 * f(&out["stderr"]));
}

#[test]
fn outputs_are_identical_for_any_worker_count() {
    let (model, spec) = pricing();
    let run = |workers: &str| {
        let s = submit_json(
            &model,
            &spec,
            &["--scenarios", "60000", "--workers", workers],
        );
        serde_json::to_string(&s["outputs"]).unwrap()
    };
    let one = run("1");
    assert_eq!(one, run("8"), "1 worker vs 8");
    assert_eq!(one, run("3"), "1 worker vs 3");
}

#[test]
fn the_seed_decides_the_outputs() {
    let (model, spec) = pricing();
    let run = |seed: &str| {
        let s = submit_json(&model, &spec, &["--scenarios", "20000", "--seed", seed]);
        serde_json::to_string(&s["outputs"]).unwrap()
    };
    assert_eq!(run("5"), run("5"));
    assert_ne!(run("5"), run("6"));
}

pub(crate) const FAULTY: &str = r#"
[simulation]
scenarios = 3000
seed = 3
batch = 100

[limits]
fuel_per_scenario = 200_000

[variables]
mode = { dist = "discrete", values = [0, 1, 2, 3, 4], weights = [96, 1, 1, 1, 1] }
x = { dist = "uniform", min = 0.0, max = 1.0 }
"#;

#[test]
fn failed_scenarios_are_counted_and_reported_identically_for_any_worker_count() {
    let (_dir, spec) = spec_file(FAULTY);
    let model = model_path("faulty");
    let one = submit_json(&model, &spec, &["--workers", "1"]);
    let two = submit_json(&model, &spec, &["--workers", "2"]);
    assert_eq!(one["outputs"], two["outputs"]);
    assert_eq!(one["failed"], two["failed"]);
    let failed = f(&one["failed"]);
    let y = f(&output(&one, "y")["count"]);
    // About 4% of scenarios fail; 5 standard errors of a binomial proportion either side.
    let expected = 3000.0 * 0.04;
    let se = (3000.0f64 * 0.04 * 0.96).sqrt();
    assert!((failed - expected).abs() < 5.0 * se, "{failed} failures");
    assert_eq!(failed + y, 3000.0, "every scenario is counted once");
}

#[test]
fn the_table_reports_failures_by_kind() {
    let (_dir, spec) = spec_file(FAULTY);
    let model = model_path("faulty");
    let out = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("failed scenarios: "), "{text}");
    for kind in ["model_error", "panic", "out_of_fuel", "non_finite_output"] {
        assert!(
            text.contains(&format!("{kind}: ")),
            "{kind} missing from\n{text}"
        );
    }
    assert!(text.contains("mode 2 panics on x = "), "{text}");
}

#[test]
fn a_job_past_its_time_out_stops_with_a_partial_summary() {
    // Every scenario loops until its generous limits; the one-second job time-out must still
    // stop the job, interrupting the batches in flight.
    let (_dir, spec) = spec_file(
        r#"
[simulation]
scenarios = 100
seed = 1
batch = 10

[limits]
fuel_per_scenario = 1_000_000_000_000
scenario_timeout_ms = 600_000
timeout_s = 1

[variables]
mode = { dist = "constant", value = 3 }
x = { dist = "constant", value = 0 }
"#,
    );
    let model = model_path("faulty");
    let out = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["scenarios"], 0);
    assert_eq!(
        (&s["partial"], &s["stopped"]),
        (&Value::from(true), &Value::from("timed_out"))
    );
    assert!(
        stderr(&out)
            .contains("error: the job timed out after 1 s with 0 of 100 scenarios evaluated"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inspect_prints_the_interface() {
    let out = mcp(&["inspect", model_path("portfolio").to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("name     portfolio\n"), "{text}");
    assert!(
        text.contains("inputs   initial_value, r_us_equity, r_eu_equity, r_bonds, r_gold\n"),
        "{text}"
    );
    assert!(text.contains("outputs  value, loss\n"), "{text}");
}

#[test]
fn validate_runs_a_few_scenarios() {
    let out = mcp(&[
        "validate",
        model_path("portfolio").to_str().unwrap(),
        "--spec",
        project_file("example-models/portfolio/vars.toml")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("16 scenarios ran: 16 succeeded, 0 failed"),
        "{}",
        stdout(&out)
    );
}

/// The portfolio's inputs, with equities going together and with gold, but gold against
/// equities: no such matrix exists. `REPAIR` stands for the group's `repair` line.
const CONTRADICTORY: &str = "[simulation]\nscenarios = 1000\nseed = 3\n[variables]\n\
    initial_value = { dist = \"constant\", value = 1000.0 }\n\
    r_us_equity = { dist = \"normal\", mean = 0.07, std = 0.18 }\n\
    r_eu_equity = { dist = \"normal\", mean = 0.06, std = 0.20 }\n\
    r_bonds = { dist = \"triangular\", min = -0.06, mode = 0.03, max = 0.08 }\n\
    r_gold = { dist = \"pert\", min = -0.25, mode = 0.04, max = 0.35 }\n\
    [[correlation]]\nvariables = [\"r_us_equity\", \"r_eu_equity\", \"r_gold\"]\n\
    matrix = [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]\nREPAIR\n";

#[test]
fn a_correlation_matrix_that_cannot_exist_is_refused_or_repaired_with_a_warning() {
    let model = model_path("portfolio");
    let validate = |repair: &str| {
        let (_dir, spec) = spec_file(&CONTRADICTORY.replace("REPAIR", repair));
        let out = mcp(&[
            "validate",
            model.to_str().unwrap(),
            "--spec",
            spec.to_str().unwrap(),
        ]);
        (out, spec.display().to_string())
    };
    let (out, path) = validate("");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{path}:10:1: correlation[0].matrix: is not a valid correlation matrix (not positive \
             semi-definite): the correlations of `r_gold` with `r_us_equity`, `r_eu_equity` \
             contradict those among `r_us_equity`, `r_eu_equity`; lower some of them, or add \
             `repair = true` to use the nearest valid matrix"
        )),
        "{}",
        stderr(&out)
    );
    let (out, path) = validate("repair = true");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: {path}:10:1: correlation[0].matrix: is not a valid correlation matrix (not \
             positive semi-definite); `repair = true` replaced it by the nearest valid one, \
             whose largest change is `r_us_equity`–`r_eu_equity` from 0.9 to 0.4826; matrix \
             used: [[1, 0.4826, 0.4826], [0.4826, 1, -0.4826], [0.4826, -0.4826, 1]]\n"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn archimedean_pairs_give_the_same_bits_on_any_worker_count() {
    let model = model_path("sum");
    for copula in ["clayton", "gumbel", "frank"] {
        let (_dir, spec) = spec_file(&format!(
            "[simulation]\nscenarios = 20000\nseed = 5\nbatch = 1000\n[variables]\n\
             x = {{ dist = \"normal\", mean = 1.0, std = 1.0 }}\n\
             y = {{ dist = \"gamma\", shape = 2.0, scale = 1.0 }}\n\
             [[correlation]]\nvariables = [\"x\", \"y\"]\n\
             matrix = [[1.0, 0.7], [0.7, 1.0]]\ncopula = \"{copula}\"\n"
        ));
        let one = submit_json(&model, &spec, &["--workers", "1"]);
        let three = submit_json(&model, &spec, &["--workers", "3"]);
        assert_eq!(one["outputs"], three["outputs"], "{copula}");
        // The margins are kept: the mean of x + y is 1 + 2, within five standard errors.
        let sum = output(&one, "sum");
        assert!(
            (f(&sum["mean"]) - 3.0).abs() < 5.0 * f(&sum["stderr"]),
            "{copula}: mean {}",
            sum["mean"]
        );
    }
}

#[test]
fn validate_fails_when_scenarios_fail() {
    let (_dir, spec) = spec_file(
        "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nmode = { dist = \"constant\", value = 1 }\nx = { dist = \"constant\", value = 2 }\n",
    );
    let out = mcp(&[
        "validate",
        model_path("faulty").to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenarios",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("scenario 0: model_error: mode 1 refuses x = 2"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(
            "error: 4 of 4 scenarios failed; fix the model or the spec before submitting"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_portfolio_loss_is_the_value_drop() {
    let s = submit_json(
        &model_path("portfolio"),
        &project_file("example-models/portfolio/vars.toml"),
        &["--scenarios", "20000"],
    );
    let value = f(&output(&s, "value")["mean"]);
    let loss = f(&output(&s, "loss")["mean"]);
    assert!(
        (value + loss - 1_000_000.0).abs() < 1e-3,
        "value {value} + loss {loss}"
    );
}
