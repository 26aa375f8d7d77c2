//! `[stop]` end to end: the precision rule stops a job at the same scenario count, with the
//! same bits, for 1 and 3 workers and over RabbitMQ (followed by `mcp submit --wait`, and by
//! `mcp serve`); its summary is that of the prefix it
//! stopped after; `max_scenarios` stops at the first whole batch that reaches it; a rule
//! naming an output the model lacks is refused with the fix; the dashboard says why a job
//! stopped.

use crate::support::broker::*;
use crate::support::serve::{Serve, publish_spec};
use crate::support::*;
use mcp_testkit::model_path;
use serde_json::Value;

/// `sum = x + y`, `y` constant 0: the output is `x`, normal(10, 2). Batches of 1000.
fn spec(scenarios: u64, stop: &str) -> String {
    format!(
        "[simulation]\nscenarios = {scenarios}\nseed = 2026\nbatch = 1000\n\n[variables]\n\
         x = {{ dist = \"normal\", mean = 10.0, std = 2.0 }}\n\
         y = {{ dist = \"constant\", value = 0.0 }}\n{stop}"
    )
}

fn half_width(s: &Value) -> f64 {
    let ci = &s["outputs"]["sum"]["ci95"];
    (ci[1].as_f64().unwrap() - ci[0].as_f64().unwrap()) / 2.0
}

fn outputs(s: &Value) -> String {
    serde_json::to_string(&s["outputs"]).unwrap()
}

#[test]
fn the_precision_rule_stops_at_the_same_count_for_any_worker_count_and_over_rabbitmq() {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("sum");
    // std 2 and a target half-width of 0.02 need about (1.96 · 2 / 0.02)² ≈ 38,400 scenarios;
    // checkpoints every 4 batches, 4,000 scenarios.
    let target = 0.02;
    let rule = format!("\n[stop]\noutput = \"sum\"\nci95_half_width = {target}\ncheck_every = 4\n");
    let (_dir, path) = spec_file(&spec(200_000, &rule));
    let one = submit_json(&model, &path, &["--workers", "1"]);
    assert_eq!(one["stopped"], "precision");
    let n = one["scenarios"].as_u64().unwrap();
    assert_eq!(n % 4000, 0, "{n} is not a checkpoint");
    assert!((20_000..=80_000).contains(&n), "{n}");
    assert!(half_width(&one) <= target, "{}", half_width(&one));

    // The previous checkpoint's prefix was not precise enough, and the stopped job's summary
    // is exactly that of its prefix (a job of `n` scenarios without a rule).
    let (_d, before) = spec_file(&spec(n - 4000, ""));
    assert!(half_width(&submit_json(&model, &before, &[])) > target);
    let (_e, exact) = spec_file(&spec(n, ""));
    let plain = submit_json(&model, &exact, &[]);
    assert_eq!(outputs(&plain), outputs(&one));
    assert!(plain.get("stopped").is_none());

    stops_alike(&prefix, &path, &one);
}

/// Checks that 3 workers, and two consumers over RabbitMQ, stop the job of spec `path` where
/// one worker did (`one`, stopped for its precision), with the same bits.
fn stops_alike(prefix: &Prefix, path: &std::path::Path, one: &Value) {
    let model = model_path("sum");
    let three = submit_json(&model, path, &["--workers", "3"]);
    assert_eq!(
        (&three["scenarios"], &three["stopped"]),
        (&one["scenarios"], &one["stopped"])
    );
    assert_eq!(outputs(&three), outputs(one));

    let _a = start_consumer(prefix, "a");
    let _b = start_consumer(prefix, "b");
    let distributed = submit_and_wait(prefix, &model, path, "200000");
    assert_eq!(distributed["scenarios"], one["scenarios"]);
    assert_eq!(distributed["stopped"], "precision");
    assert_eq!(outputs(&distributed), outputs(one));
}

#[test]
fn a_rule_on_a_percentile_stops_at_the_same_count_for_any_worker_count_and_over_rabbitmq() {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("sum");
    // p95 of normal(10, 2): its 95% interval's half-width is about
    // 1.96 · √(0.95 · 0.05 / n) / f(p95), f(p95) = φ(1.645) / 2 ≈ 0.0516, so 0.05 needs about
    // 27,000 scenarios; checkpoints every 4 batches.
    let rule =
        "\n[stop]\noutput = \"sum\"\npercentile = 95\nci95_half_width = 0.05\ncheck_every = 4\n";
    let (_dir, path) = spec_file(&spec(200_000, rule));
    let one = submit_json(&model, &path, &["--workers", "1"]);
    assert_eq!(one["stopped"], "precision", "{one}");
    let n = one["scenarios"].as_u64().unwrap();
    assert_eq!(n % 4000, 0, "{n} is not a checkpoint");
    assert!((12_000..=60_000).contains(&n), "{n}");
    let p95 = &one["outputs"]["sum"]["percentile_ci95"]["p95"];
    let half = (p95[1].as_f64().unwrap() - p95[0].as_f64().unwrap()) / 2.0;
    assert!(
        half <= 0.05,
        "the exact interval is within the target: {half}"
    );

    stops_alike(&prefix, &path, &one);
}

#[test]
fn mcp_serve_ends_the_job_its_rule_stops_with_the_embedded_bits() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_db, serve) = Serve::fresh(&prefix);
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    // The call's price has std about 14.7 around 10.45: ±1% needs about
    // (1.96 · 14.7 / 0.1045)² ≈ 76,000 of the 1,000,000 scenarios.
    let (model, pricing) = pricing();
    let text = std::fs::read_to_string(pricing).unwrap()
        + "\n[stop]\noutput = \"price\"\nrelative = 0.01\n";
    let (_dir, path) = spec_file(&text);
    let id = publish_spec(&prefix, &path, "1000000");
    let done = serve.wait_for_job(
        &id,
        |j| matches!(j["state"].as_str(), Some(state) if state != "running"),
    );
    assert_eq!(
        (&done["state"], &done["stopped"]),
        (&"completed".into(), &"precision".into()),
        "{done}"
    );
    assert_eq!(done["total"], 1_000_000);
    let local = submit_json(&model, &path, &[]);
    assert_eq!(local["stopped"], "precision");
    assert!(
        local["scenarios"].as_u64().unwrap() < 200_000,
        "{}",
        local["scenarios"]
    );
    assert_eq!(done["scenarios"], local["scenarios"]);
    assert_eq!(outputs(&done), outputs(&local));

    // The dashboard says why it ended, in the live view and on the job's page.
    let shots = mcp_testkit::target_dir().join("dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("{}/", serve.url);
    let seen = browser("stopped.mjs", &[&url, &id, shots.to_str().unwrap()]);
    for view in ["live", "page"] {
        let facts = seen[view].as_str().unwrap();
        assert!(
            facts.contains("precision reached ([stop] rule)"),
            "{view}: {facts}"
        );
    }
    // Its page links the summary in every format; the CSV one answers with the summary.
    let download = &seen["download"];
    assert_eq!(download["links"].as_array().unwrap().len(), 3, "{download}");
    assert_eq!(download["status"], 200, "{download}");
    let csv = download["csv"].as_array().unwrap();
    assert!(
        csv[0].as_str().unwrap().starts_with("output,"),
        "{download}"
    );
    assert!(csv[1].as_str().unwrap().starts_with("price,"), "{download}");
}

#[test]
fn max_scenarios_stops_at_the_first_whole_batch_that_reaches_it() {
    // A precision no prefix reaches: the cap stops the job, 25,500 rounded up to 26,000.
    let rule = "\n[stop]\noutput = \"sum\"\nci95_half_width = 1e-9\nmax_scenarios = 25500\n";
    let (_dir, path) = spec_file(&spec(100_000, rule));
    let model = model_path("sum");
    let s = submit_json(&model, &path, &["--workers", "3"]);
    assert_eq!(
        (s["scenarios"].as_u64(), &s["stopped"]),
        (Some(26_000), &"max_scenarios".into())
    );
    let out = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("stopped    by [stop]: max_scenarios"),
        "{text}"
    );
    assert!(text.contains("scenarios  26,000"), "{text}");
}

#[test]
fn a_rule_on_an_output_the_model_lacks_is_refused_with_the_fix() {
    let rule = "\n[stop]\noutput = \"total\"\nrelative = 0.01\n";
    let (_dir, path) = spec_file(&spec(1000, rule));
    let out = mcp(&[
        "submit",
        model_path("sum").to_str().unwrap(),
        "--spec",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(":11:10: stop.output: model `sum` has no output `total` (its outputs are: sum); name one of them"),
        "{err}"
    );
}
