//! `[sensitivity] method = "sobol"` end to end on the `ishigami` example: first-order and total
//! indices against their closed forms, the same bits for 1 and 3 workers, the table's lines,
//! the same bits over RabbitMQ, `mcp replay` of a design run, a `[stop]` rule on a Sobol index stopping at the same count
//! for any worker count, and a scenario count that is no design refused with the fix.

use crate::replay::replay_json;
use crate::support::broker::*;
use crate::support::*;
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::f64::consts::PI;
use std::path::Path;
use std::process::Output;

/// The Ishigami function's indices (`a = 7`, `b = 0.1`, inputs uniform on [−π, π]), per input
/// (first, total): see `example-models/ishigami/src/lib.rs` for the closed forms.
fn analytic() -> [(&'static str, f64, f64); 3] {
    let (a, b) = (7.0, 0.1);
    let v = a * a / 8.0 + b * PI.powi(4) / 5.0 + b * b * PI.powi(8) / 18.0 + 0.5;
    let v1 = (1.0 + b * PI.powi(4) / 5.0).powi(2) / 2.0;
    let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
    let v2 = a * a / 8.0;
    [
        ("x1", v1 / v, (v1 + v13) / v),
        ("x2", v2 / v, v2 / v),
        ("x3", 0.0, v13 / v),
    ]
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// `mcp submit MODEL --spec SPEC EXTRA...` printing its table.
fn submit(model: &Path, spec: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mcp(&args)
}

fn sobol(s: &Value) -> String {
    serde_json::to_string(&s["sobol"]).unwrap()
}

#[test]
fn ishigami_indices_match_their_closed_forms_with_the_same_bits_for_1_and_3_workers() {
    // The example: 20,000 rows of 5 runs.
    let (model, spec) = (
        model_path("ishigami"),
        project_file("example-models/ishigami/vars.toml"),
    );
    let one = submit_json(&model, &spec, &["--workers", "1"]);
    assert_eq!(one["sobol"]["rows"], 20_000, "{}", one["sobol"]);
    let indices = one["sobol"]["outputs"]["f"].as_array().unwrap();
    assert_eq!(indices.len(), 3);
    for (row, (input, first, total)) in indices.iter().zip(analytic()) {
        assert_eq!(row["input"], input);
        for (key, truth) in [("first", first), ("total", total)] {
            let (value, ci) = (f(&row[key]), &row[format!("{key}_ci95")]);
            let (lo, hi) = (f(&ci[0]), f(&ci[1]));
            // The reported interval is ±1.96 standard errors; three of them, or 0.005 for an
            // interval that came out very narrow.
            let half = (hi - lo) / 2.0;
            let tol = (3.0 * half / 1.96).max(0.005);
            assert!(
                (value - truth).abs() <= tol,
                "{input} {key}: {value} vs {truth} ± {tol}"
            );
            // The truth lies in the interval widened by half (±2.9 standard errors).
            assert!(
                lo - half / 2.0 <= truth && truth <= hi + half / 2.0,
                "{input} {key}: {truth} outside [{lo}, {hi}]"
            );
            assert!(half > 0.0 && half < 0.05, "{input} {key}: ±{half}");
        }
    }
    let three = submit_json(&model, &spec, &["--workers", "3"]);
    assert_eq!(sobol(&three), sobol(&one));
    assert_eq!(three["outputs"], one["outputs"]);

    let out = submit(&model, &spec, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let x2 = &indices[1];
    let line = text
        .lines()
        .find(|l| l.starts_with("f ") && l.contains(" x2 "))
        .unwrap_or_else(|| panic!("no line for x2:\n{text}"));
    assert!(line.contains(&format!("{:.4}", f(&x2["first"]))), "{line}");
    assert!(
        text.contains("Sobol indices from 20,000 design rows"),
        "{text}"
    );
}

#[test]
fn the_indices_are_the_same_bits_over_rabbitmq() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (model, spec) = (
        model_path("ishigami"),
        project_file("example-models/ishigami/vars.toml"),
    );
    // 4,000 rows, in batches of 200 rows spread over two consumers.
    let local = submit_json(&model, &spec, &["--scenarios", "20000"]);
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let distributed = submit_and_wait(&prefix, &model, &spec, "20000");
    assert_eq!(
        distributed["sobol"]["rows"], 4000,
        "{}",
        distributed["sobol"]
    );
    assert_eq!(sobol(&distributed), sobol(&local));
    assert_eq!(distributed["outputs"], local["outputs"]);
}

#[test]
fn a_replayed_design_run_takes_one_input_from_b_and_the_rest_from_a() {
    let (model, spec) = (
        model_path("ishigami"),
        project_file("example-models/ishigami/vars.toml"),
    );
    let replay = |i: u64| {
        let (code, json) = replay_json(&model, &spec, i, &[]);
        assert_eq!(code, Some(0), "{json}");
        json["inputs"].clone()
    };
    // Row 3: scenarios 15 (A), 16 (B), 17..20 (A with x1, x2, x3 from B); 18 takes x2.
    let (a, b, ab2) = (replay(15), replay(16), replay(18));
    assert_eq!(ab2["x2"], b["x2"]);
    assert_eq!((&ab2["x1"], &ab2["x3"]), (&a["x1"], &a["x3"]));
    assert_ne!(a["x1"], b["x1"]);
}

#[test]
fn a_rule_on_a_sobol_index_stops_at_the_same_count_for_any_worker_count() {
    // Batches of 200 rows, checked every 2 batches (400 rows, 2,000 scenarios). The total
    // index of x3 is ±0.03 after about 1,200 rows, so ±0.015 needs about four times as many.
    let text = std::fs::read_to_string(project_file("example-models/ishigami/vars.toml")).unwrap()
        + "\n[stop]\noutput = \"f\"\nsobol = \"total:x3\"\nci95_half_width = 0.015\ncheck_every = 2\n";
    let (_dir, path) = spec_file(&text);
    let model = model_path("ishigami");
    let one = submit_json(&model, &path, &["--workers", "1"]);
    assert_eq!(one["stopped"], "precision", "{}", one["sobol"]);
    let n = one["scenarios"].as_u64().unwrap();
    assert_eq!(n % 2000, 0, "{n} is not a checkpoint");
    let x3 = &one["sobol"]["outputs"]["f"][2];
    let half = (f(&x3["total_ci95"][1]) - f(&x3["total_ci95"][0])) / 2.0;
    assert!(half <= 0.015, "±{half}");
    assert!((15_000..=40_000).contains(&n), "{n}");
    let three = submit_json(&model, &path, &["--workers", "3"]);
    assert_eq!(
        (&three["scenarios"], &three["stopped"]),
        (&one["scenarios"], &one["stopped"])
    );
    assert_eq!(sobol(&three), sobol(&one));

    // The previous checkpoint was not precise enough, and the stopped job's indices are those
    // of a job of `n` scenarios without the rule.
    let plain = |scenarios: u64| {
        let text = text
            .split("\n[stop]")
            .next()
            .unwrap()
            .replace("scenarios = 100000", &format!("scenarios = {scenarios}"));
        let (dir, path) = spec_file(&text);
        let s = submit_json(&model, &path, &[]);
        drop(dir);
        s
    };
    assert_eq!(sobol(&plain(n)), sobol(&one));
    let before = plain(n - 2000);
    let x3 = &before["sobol"]["outputs"]["f"][2];
    assert!((f(&x3["total_ci95"][1]) - f(&x3["total_ci95"][0])) / 2.0 > 0.015);
}

#[test]
fn a_scenario_count_that_is_no_design_is_refused_with_the_nearest_ones() {
    let (model, spec) = (
        model_path("ishigami"),
        project_file("example-models/ishigami/vars.toml"),
    );
    let out = submit(&model, &spec, &["--scenarios", "1001"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "--scenarios must be a multiple of 5 for a Saltelli design (N rows of 3 inputs + 2 \
             runs) (got 1001); use 1000 or 1005"
        ),
        "{}",
        stderr(&out)
    );
}
