//! `mcp report`: the page of a real run opens in headless Chromium with every chart drawn and
//! asks for nothing over the network (screenshot in `target/report/`); a job of `mcp serve`
//! is reported from its API with its spec; bad input is named; and the histograms and
//! convergence series it draws are the same bits for 1 and 3 workers.

use crate::support::broker::*;
use crate::support::serve::{Serve, publish};
use crate::support::*;
use mcp_testkit::target_dir;
use serde_json::{Value, json};

/// The rank correlations and Sobol indices the page draws, in the summary's shapes, for a
/// summary that has none (the runs here ask for no Sobol design).
fn add_sensitivity(summary: &mut Value) {
    let outputs: Vec<String> = summary["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let rows = |f: &dyn Fn(usize) -> Value| -> Value {
        outputs
            .iter()
            .map(|o| (o.clone(), Value::Array((0..3).map(f).collect())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let inputs = ["spot", "vol", "rate"];
    if summary.get("tornado").is_none() {
        let outputs = rows(&|i| {
            json!({
            "input": inputs[i], "spearman": ([0.8, -0.4, 0.1][i]),
            "ci95": ([[0.78, 0.82], [-0.43, -0.37], [0.07, 0.13]][i]), "contribution": ([0.78, 0.2, 0.02][i])
            })
        });
        summary["tornado"] = json!({"blocks": 4, "outputs": outputs});
    }
    if summary.get("sobol").is_none() {
        let outputs = rows(&|i| {
            json!({
            "input": inputs[i], "first": ([0.6, 0.25, 0.01][i]), "first_ci95": ([[0.55, 0.65], [0.2, 0.3], [-0.02, 0.04]][i]),
            "total": ([0.7, 0.3, 0.02][i]), "total_ci95": ([[0.65, 0.75], [0.26, 0.34], [0.0, 0.04]][i])
            })
        });
        summary["sobol"] = json!({"rows": 1024, "outputs": outputs});
    }
}

/// The charts a page of `summary` must have: per output a histogram and a convergence chart,
/// and one tornado and one Sobol chart per output they list.
fn expected_charts(summary: &Value) -> usize {
    let listed = |field: &str| {
        summary[field]["outputs"]
            .as_object()
            .map_or(0, serde_json::Map::len)
    };
    2 * summary["outputs"].as_object().unwrap().len() + listed("tornado") + listed("sobol")
}

#[test]
fn the_report_of_a_run_opens_in_chromium_with_every_chart_drawn() {
    let (model, spec) = pricing();
    let mut summary = submit_json(&model, &spec, &["--scenarios", "50000"]);
    add_sensitivity(&mut summary);
    let dir = target_dir().join("report");
    std::fs::create_dir_all(&dir).unwrap();
    let (json_file, html, png) = (
        dir.join("run.json"),
        dir.join("report.html"),
        dir.join("report.png"),
    );
    std::fs::write(&json_file, summary.to_string()).unwrap();
    let _ = std::fs::remove_file(&png);
    let out = mcp(&[
        "report",
        json_file.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mcp report: wrote"),
        "{}",
        stderr(&out)
    );

    // No Chromium is a failure, never a skip: `cargo xtask test` installs it.
    let seen = browser(
        "report.mjs",
        &[html.to_str().unwrap(), png.to_str().unwrap()],
    );
    let charts = seen["charts"].as_array().unwrap();
    assert_eq!(charts.len(), expected_charts(&summary), "{seen}");
    for kind in ["histogram", "convergence", "tornado", "sobol"] {
        assert!(
            charts.iter().any(|c| c["kind"] == kind),
            "no {kind}: {seen}"
        );
    }
    for chart in charts {
        let size = |f: &str| chart[f].as_f64().unwrap_or(0.0);
        assert!(size("width") > 100.0 && size("height") > 100.0, "{chart}");
        // A histogram draws a bar per non-empty bin (the in-the-money flag has two), a
        // convergence chart its band and line, a tornado a bar per input it lists (the run's
        // own: pricing's one random input), a Sobol chart two per input.
        let listed = |field: &str| {
            let output = chart["output"].as_str().unwrap_or_default();
            summary[field]["outputs"][output]
                .as_array()
                .map_or(0, |rows| rows.len() as u64)
        };
        let least = match chart["kind"].as_str() {
            Some("histogram") => 2,
            Some("convergence") => 2,
            Some("tornado") => listed("tornado").max(1),
            _ => 2 * listed("sobol"),
        };
        assert!(chart["marks"].as_u64() >= Some(least), "{chart}");
    }
    assert_eq!(seen["requests"], json!([]), "the page fetched something");
    let size = std::fs::metadata(&png).map_or(0, |m| m.len());
    assert!(size > 20_000, "report.png: {size} bytes");
}

#[test]
fn a_job_of_serve_is_reported_from_its_api_with_its_spec() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (dir, serve) = Serve::fresh(&prefix);
    let _consumer = start_consumer(&prefix, "c");
    let id = publish(&prefix, "20000");
    let view = serve.wait_for_job(&id, |j| j["state"] == "completed");
    let html = dir.path().join("report.html");
    let out = mcp(&[
        "report",
        &id,
        "--api",
        &serve.url,
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!("<code>{id}</code>")), "the job's id");
    assert!(page.contains("<pre class=\"spec\">"), "the spec is shown");
    assert!(page.contains("&quot;strike&quot;"), "the spec's variables");
    // The same view from a file gives the same page (on stdout, which is not a terminal).
    let saved = dir.path().join("job.json");
    std::fs::write(&saved, view.to_string()).unwrap();
    let out = mcp(&["report", saved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), page);

    let out = mcp(&["report", "no-such-job", "--api", &serve.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{}/api/jobs/no-such-job answered 404 Not Found",
            serve.url
        )) && stderr(&out).contains(&format!(
            "give an id that `GET {}/api/jobs` lists, or a JSON file",
            serve.url
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let stranger = dir.path().join("stranger.json");
    std::fs::write(&stranger, r#"{"hello": "world"}"#).unwrap();
    let g = garbage.display().to_string();
    let s = stranger.display().to_string();
    let cases = [
        (
            vec!["report", g.as_str()],
            format!(
                "error: {g}: not JSON; give a file of `mcp submit --json` or of GET /api/jobs/ID"
            ),
        ),
        (
            vec!["report", s.as_str()],
            format!(
                "error: {s}: no `model` field: this is not a job summary; give the JSON that `mcp submit --json` prints or `GET /api/jobs/ID` returns"
            ),
        ),
        (
            vec!["report", "missing.json"],
            "error: could not read missing.json".to_string(),
        ),
        (
            vec!["report", "some-job", "--api", "http://127.0.0.1:1"],
            "error: could not reach http://127.0.0.1:1; is `mcp serve` running there?".to_string(),
        ),
    ];
    for (args, expected) in cases {
        let out = mcp(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(&expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn histograms_and_convergence_are_the_same_bits_for_any_worker_count() {
    let (model, spec) = pricing();
    let one = submit_json(&model, &spec, &["--scenarios", "30000", "--workers", "1"]);
    let three = submit_json(&model, &spec, &["--scenarios", "30000", "--workers", "3"]);
    for (name, out) in one["outputs"].as_object().unwrap() {
        let other = &three["outputs"][name];
        let total: u64 = out["histogram"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>()
            + out["histogram"]["below"].as_u64().unwrap_or(0)
            + out["histogram"]["above"].as_u64().unwrap_or(0);
        assert_eq!(
            total,
            out["count"].as_u64().unwrap(),
            "{name}: every value binned once"
        );
        assert_eq!(
            serde_json::to_string(&out["histogram"]).unwrap(),
            serde_json::to_string(&other["histogram"]).unwrap(),
            "{name}"
        );
        assert!(out["convergence"].as_array().unwrap().len() > 10, "{name}");
        assert_eq!(
            serde_json::to_string(&out["convergence"]).unwrap(),
            serde_json::to_string(&other["convergence"]).unwrap(),
            "{name}"
        );
    }
}
