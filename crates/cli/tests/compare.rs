//! `mcp compare`: two runs on common random numbers, paired scenario by scenario. Known
//! differences are found inside narrow intervals, failed scenarios are left out of the pairs,
//! the result is the same to the bit for any worker count, and bad input is refused by name.

use crate::jobs::{FAULTY, black_scholes};
use crate::support::*;
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::path::Path;

/// The 97.5% quantile of the standard normal.
const Z: f64 = 1.959963984540054;

/// The pricing example's volatility, and a higher one.
const VOL_20: &str = r#"vol      = { dist = "constant", value = 0.2 }"#;
const VOL_25: &str = r#"vol      = { dist = "constant", value = 0.25 }"#;

/// `mcp compare ARGS`.
fn compare(args: &[&str]) -> std::process::Output {
    mcp(&[&["compare"], args].concat())
}

/// `mcp compare ARGS --json`, which must succeed; returns the JSON.
fn compare_json(args: &[&str]) -> Value {
    let out = compare(&[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "mcp compare {args:?} failed:\n{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// `mcp compare ARGS`, which must fail with exit code 1 and print nothing; returns stderr.
fn refused(args: &[&str]) -> String {
    let out = compare(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}:\n{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    stderr(&out)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `MODEL --spec A --spec-b B EXTRA...`
fn paired<'a>(model: &'a Path, a: &'a Path, b: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![s(model), "--spec", s(a), "--spec-b", s(b)];
    args.extend_from_slice(extra);
    args
}

/// An example's spec with `from` replaced by `to`, in a temporary directory.
fn variant(example: &str, from: &str, to: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text =
        std::fs::read_to_string(project_file(&format!("example-models/{example}/vars.toml")))
            .unwrap();
    assert!(text.contains(from), "{from:?} not in {example}'s spec");
    spec_file(&text.replace(from, to))
}

#[test]
fn shifting_a_normal_mean_shifts_the_sum_by_exactly_that_in_every_scenario() {
    // x_B = x_A + 0.5 from the same stream, y the same: D = 0.5 in every scenario, up to the
    // rounding of two additions (|x|, |y| < 10 here, so each D is within 1e-14 of 0.5).
    let spec_a = project_file("example-models/sum/vars.toml");
    let (_dir, spec_b) = variant(
        "sum",
        r#"x = { dist = "normal", mean = 0.0, std = 1.0 }"#,
        r#"x = { dist = "normal", mean = 0.5, std = 1.0 }"#,
    );
    let sum = model_path("sum");
    let out = compare_json(&paired(&sum, &spec_a, &spec_b, &[]));
    assert_eq!(out["scenarios"], 100_000);
    assert_eq!(out["pairs"], 100_000);
    let c = &out["outputs"]["sum"];
    let n = 100_000f64;
    assert!((f(&c["mean_diff"]) - 0.5).abs() < 1e-12, "{c}");
    assert!(f(&c["half_width_paired"]) < 1e-12, "{c}");
    let ci = c["ci95"].as_array().unwrap();
    assert!(f(&ci[0]) - 1e-12 <= 0.5 && 0.5 <= f(&ci[1]) + 1e-12, "{c}");
    // Independently, the difference of two means of N(·, 2) samples has half-width
    // 1.96·√(4/n). The sample variances' relative standard error is √(2/n) = 0.45%, and
    // s_A² = s_B² (the same draws, shifted), so the half-width's is half that: 0.22%; five
    // of them, 1.1%.
    let independent = Z * (4.0 / n).sqrt();
    assert!(
        (f(&c["half_width_independent"]) / independent - 1.0).abs() < 0.011,
        "{c}"
    );
    assert!(f(&c["narrowing"]) > 1e9, "{c}");
    assert_eq!(out["not_compared"], serde_json::json!({"a": [], "b": []}));
}

#[test]
fn a_higher_volatility_is_priced_within_a_paired_interval_much_narrower_than_independent_runs() {
    let (model, spec_a) = pricing();
    let (_dir, spec_b) = variant("pricing", VOL_20, VOL_25);
    let out = compare_json(&paired(
        &model,
        &spec_a,
        &spec_b,
        &["--scenarios", "100000"],
    ));
    assert_eq!(out["pairs"], 100_000);
    let (price_a, itm_a) = black_scholes(100.0, 100.0, 0.05, 0.2, 1.0);
    let (price_b, itm_b) = black_scholes(100.0, 100.0, 0.05, 0.25, 1.0);
    // The population ratio √((Var A + Var B) / Var D) of the same z through both payoffs, by
    // quadrature over z: 6.08 for `price`, 4.15 for `itm`. Its sample estimate's relative
    // standard error at n = 100,000 is about half that of Var D, √((kurtosis − 1)/n): at most
    // 1.8% (D of `itm` is a Bernoulli of p ≈ 0.03, kurtosis ≈ 1/p), so bounds 5 and 3.5 sit
    // more than five standard errors below.
    for (name, truth, bound) in [
        ("price", price_b - price_a, 5.0),
        ("itm", itm_b - itm_a, 3.5),
    ] {
        let c = &out["outputs"][name];
        assert!(f(&c["narrowing"]) > bound, "{name}: {c}");
        // The paired mean is unbiased with standard error half_width / 1.96: within five.
        let se = f(&c["half_width_paired"]) / Z;
        assert!(
            (f(&c["mean_diff"]) - truth).abs() < 5.0 * se,
            "{name}: {} vs Black–Scholes {truth}",
            c["mean_diff"]
        );
        assert!(f(&c["half_width_independent"]) > bound * f(&c["half_width_paired"]));
    }
}

/// The comparison's JSON without its one varying field, the elapsed time.
fn without_time(mut v: Value) -> String {
    v.as_object_mut().unwrap().remove("elapsed_s");
    serde_json::to_string(&v).unwrap()
}

#[test]
fn the_comparison_is_bit_identical_for_any_worker_count() {
    let (model, spec_a) = pricing();
    let (_dir, spec_b) = variant(
        "pricing",
        r#"strike   = { dist = "constant", value = 100.0 }"#,
        r#"strike   = { dist = "constant", value = 105.0 }"#,
    );
    // 20 batches of 1024 and one of 544, merged in batch order however they arrive.
    let run = |workers: &str| {
        without_time(compare_json(&paired(
            &model,
            &spec_a,
            &spec_b,
            &["--scenarios", "21024", "--workers", workers],
        )))
    };
    let one = run("1");
    assert!(one.contains("\"pairs\":21024"), "{one}");
    assert_eq!(one, run("3"));
}

#[test]
fn a_scenario_failed_in_either_run_is_left_out_of_the_pairs() {
    // A runs `faulty` in its healthy mode (y = x); B fails about 4% of scenarios. Where B
    // succeeds it too gives y = x from the same stream of x, so every pair differs by exactly 0.
    let (_a_dir, spec_a) = spec_file(&FAULTY.replace(
        r#"mode = { dist = "discrete", values = [0, 1, 2, 3, 4], weights = [96, 1, 1, 1, 1] }"#,
        r#"mode = { dist = "constant", value = 0 }"#,
    ));
    let (_b_dir, spec_b) = spec_file(FAULTY);
    let model = model_path("faulty");
    let run =
        |workers: &str| compare_json(&paired(&model, &spec_a, &spec_b, &["--workers", workers]));
    let out = run("1");
    assert_eq!(out["scenarios"], 3000);
    assert_eq!(out["a"]["failed"], 0);
    let failed = f(&out["b"]["failed"]);
    // 4% of 3000 fail, within five binomial standard errors.
    let se = (3000.0f64 * 0.04 * 0.96).sqrt();
    assert!((failed - 120.0).abs() < 5.0 * se, "{failed} failures");
    assert_eq!(f(&out["pairs"]), 3000.0 - failed);
    let y = &out["outputs"]["y"];
    assert_eq!(y["pairs"], out["pairs"]);
    assert_eq!((f(&y["mean_diff"]), f(&y["std_diff"])), (0.0, 0.0));
    assert_eq!(
        y["narrowing"],
        Value::Null,
        "a zero-width interval narrows by no ratio"
    );
    assert!(out["b"]["failures"]["counts"]["panic"].as_u64().unwrap() > 0);
    assert_eq!(without_time(out), without_time(run("3")));
}

#[test]
fn the_table_shows_both_runs_and_how_much_pairing_narrows_each_interval() {
    let (model, spec) = pricing();
    let (_dir, spec_b) = variant("pricing", VOL_20, VOL_25);
    let out = compare(&paired(&model, &spec, &spec_b, &["--scenarios", "5000"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for row in [
        "mean A",
        "mean B",
        "B − A",
        "ci95 low",
        "± paired",
        "± independent",
    ] {
        assert!(
            text.contains(&format!("\n{row} ")),
            "{row} missing from\n{text}"
        );
    }
    let narrowing = text
        .lines()
        .find(|l| l.starts_with("narrowing "))
        .unwrap_or_else(|| panic!("no narrowing row in\n{text}"));
    assert_eq!(narrowing.matches('×').count(), 2, "{narrowing}");
    assert!(text.contains("scenarios  5,000 (5,000 pairs; failed in A: 0, in B: 0), seed 42"));
    assert!(!text.contains("not compared"), "{text}");
}

#[test]
fn a_time_out_stops_the_comparison_with_what_finished() {
    // Every scenario loops until its generous limits; the one-second time-out must stop both
    // runs, interrupting the batches in flight.
    let (_dir, spec) = spec_file(
        "[simulation]\nscenarios = 100\nseed = 1\nbatch = 10\n[limits]\n\
         fuel_per_scenario = 1_000_000_000_000\nscenario_timeout_ms = 600_000\ntimeout_s = 1\n\
         [variables]\nmode = { dist = \"constant\", value = 3 }\nx = { dist = \"constant\", value = 0 }\n",
    );
    let model = model_path("faulty");
    let out = compare(&paired(&model, &spec, &spec, &["--json"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["scenarios"].as_u64(), v["timed_out"].as_bool()),
        (Some(0), Some(true))
    );
    assert!(
        stderr(&out).contains(
            "the comparison ran past limits.timeout_s (1 s); the results cover the 0 scenarios \
             finished before it"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn specs_with_different_seeds_are_refused_naming_simulation_seed() {
    let spec_a = project_file("example-models/sum/vars.toml");
    let (_dir, spec_b) = variant("sum", "seed = 7", "seed = 8");
    let err = refused(&paired(&model_path("sum"), &spec_a, &spec_b, &[]));
    assert_eq!(
        err,
        format!(
            "error: {b}: simulation.seed is 8, but {a} has 7; a paired comparison needs the \
             same seed, scenario count, batch and sampling on both sides: set simulation.seed \
             = 7 in {b}\n",
            a = spec_a.display(),
            b = spec_b.display()
        )
    );
}

#[test]
fn a_missing_spec_is_named() {
    let spec_a = project_file("example-models/sum/vars.toml");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("b.toml");
    let err = refused(&paired(&model_path("sum"), &spec_a, &missing, &[]));
    assert!(
        err.starts_with(&format!("error: could not read {}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn a_spec_that_does_not_fit_its_model_names_the_input() {
    let spec_a = project_file("example-models/sum/vars.toml");
    let (_dir, spec_b) = variant("sum", "\ny = {", "\nw = {");
    let err = refused(&paired(&model_path("sum"), &spec_a, &spec_b, &[]));
    assert!(
        err.starts_with(&format!("error: {}:", spec_b.display())),
        "{err}"
    );
    assert!(
        err.contains("variables: model `sum` input `y` has no distribution"),
        "{err}"
    );
}

#[test]
fn one_model_under_one_spec_or_models_without_a_shared_output_are_refused() {
    let (pricing, pricing_spec) = pricing();
    let err = refused(&[s(&pricing), "--spec", s(&pricing_spec)]);
    assert!(
        err.contains("give a second model") && err.contains("or a second spec (`--spec-b"),
        "{err}"
    );
    let sum_spec = project_file("example-models/sum/vars.toml");
    let err = refused(&[
        s(&pricing),
        s(&model_path("sum")),
        "--spec",
        s(&pricing_spec),
        "--spec-b",
        s(&sum_spec),
        "--seed",
        "1",
        "--scenarios",
        "10",
    ]);
    assert_eq!(
        err,
        "error: models `pricing` (outputs: price, itm) and `sum` (outputs: sum) have no output \
         in common; compare models that share an output name\n"
    );
}
