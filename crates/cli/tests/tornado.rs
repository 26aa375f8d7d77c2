//! The tornado end to end on the `sum` model, whose answer is known: with `x` and `y`
//! independent normals, `y` three times as spread as `x`, the output `x + y` has Pearson
//! correlation 3/√10 with `y` and 1/√10 with `x`, so Spearman's ρ = (6/π) asin(r/2): `y` ranks
//! first. Also: the same bits for 1 and 3 workers and over RabbitMQ, the table's lines, and no
//! tornado from batches too small to rank.

use crate::support::broker::*;
use crate::support::*;
use mcp_testkit::model_path;
use serde_json::Value;
use std::f64::consts::PI;

/// `sum = x + y`, x ~ N(0, 1), y ~ N(0, 3), in batches of `batch`.
fn spec(scenarios: u64, batch: u32) -> String {
    format!(
        "[simulation]\nscenarios = {scenarios}\nseed = 2026\nbatch = {batch}\n\n[variables]\n\
         x = {{ dist = \"normal\", mean = 0.0, std = 1.0 }}\n\
         y = {{ dist = \"normal\", mean = 0.0, std = 3.0 }}\n"
    )
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// The mean Spearman coefficient over batches of `n` draws of a Gaussian pair of correlation
/// `r` (Moran), which the per-batch estimator converges to: within 0.3% of the population's
/// (6/π) asin(r/2) at n = 1000.
fn moran(r: f64, n: f64) -> f64 {
    6.0 / (PI * (n + 1.0)) * (r.asin() + (n - 2.0) * (r / 2.0).asin())
}

#[test]
fn tornado_ranks_the_dominant_input_first_with_the_closed_form_correlations() {
    let (_dir, path) = spec_file(&spec(200_000, 1000));
    let s = submit_json(&model_path("sum"), &path, &[]);
    let t = &s["tornado"];
    // Batches 0..32, then every 8th: 32 + 21 of the 200.
    assert_eq!(t["blocks"], 53, "{t}");
    let rows = t["outputs"]["sum"].as_array().unwrap();
    let inputs: Vec<&str> = rows.iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["y", "x"], "{t}");
    for (row, r) in rows.iter().zip([3.0 / 10f64.sqrt(), 1.0 / 10f64.sqrt()]) {
        let want = moran(r, 1000.0);
        let (rho, lo, hi) = (f(&row["spearman"]), f(&row["ci95"][0]), f(&row["ci95"][1]));
        // Five standard errors: 2.5 half-widths of the 95% interval by batch means.
        let half = (hi - lo) / 2.0;
        assert!(lo < rho && rho < hi, "{row}");
        assert!((rho - want).abs() < 2.5 * half, "{row} vs {want}");
    }
    // ρ²/Σρ²: about 0.907 for y (five standard errors of the shares are about 0.01).
    let (a, b) = (moran(0.9487, 1000.0).powi(2), moran(0.3162, 1000.0).powi(2));
    let share = f(&rows[0]["contribution"]);
    assert!((share - a / (a + b)).abs() < 0.01, "{share}");
    assert!((share + f(&rows[1]["contribution"]) - 1.0).abs() < 1e-12);
}

#[test]
fn the_tornado_is_the_same_bits_for_any_worker_count_and_over_rabbitmq() {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("sum");
    // 997 does not divide 30,000: the last batch is shorter, and weighs less.
    let (_dir, path) = spec_file(&spec(30_000, 997));
    let tornado = |s: &Value| serde_json::to_string(&s["tornado"]).unwrap();
    let one = submit_json(&model, &path, &["--workers", "1"]);
    assert_eq!(one["tornado"]["blocks"], 31, "{}", tornado(&one));
    assert_eq!(
        tornado(&one),
        tornado(&submit_json(&model, &path, &["--workers", "3"]))
    );
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let distributed = submit_and_wait(&prefix, &model, &path, "30000");
    assert_eq!(tornado(&distributed), tornado(&one));
}

#[test]
fn the_table_ranks_the_inputs_and_small_batches_give_no_tornado() {
    let (_dir, path) = spec_file(&spec(5_000, 500));
    let (m, s) = (model_path("sum"), path.to_str().unwrap().to_string());
    let out = mcp(&["submit", m.to_str().unwrap(), "--spec", &s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let heading = text
        .find("tornado: Spearman's ρ")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(text[heading..].contains("over 10 batches"), "{text}");
    let lines: Vec<&str> = text[heading..].lines().skip(1).take(2).collect();
    // `sum  y  +0.94  [+0.93, +0.95]  90.8%  |█████████`, then x.
    assert!(lines[0].starts_with("sum  y  +0.9"), "{text}");
    assert!(lines[0].ends_with("|█████████"), "{text}");
    assert!(lines[1].starts_with("sum  x  +0."), "{text}");

    // Batches of 31 scenarios carry no rank correlations: no tornado, in JSON or the table.
    let (_small_dir, small) = spec_file(&spec(3_100, 31));
    let s = submit_json(&model_path("sum"), &small, &[]);
    assert!(s.get("tornado").is_none(), "{s}");
    let out = mcp(&[
        "submit",
        m.to_str().unwrap(),
        "--spec",
        small.to_str().unwrap(),
    ]);
    assert!(!stdout(&out).contains("tornado"), "{}", stdout(&out));
}
