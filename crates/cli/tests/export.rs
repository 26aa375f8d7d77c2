//! Exports from the command line: the kept scenarios of an embedded run (`mcp submit
//! --save-scenarios`) are the rows `mcp replay` gives for the same indices; `mcp results` turns
//! a saved summary into CSV and Parquet; bad `keep` values and misuse are refused with the fix.

use crate::jobs::FAULTY;
use crate::support::*;
use mcp_export::{Cells, Table, read_parquet};
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::path::Path;

/// `mcp replay MODEL --spec SPEC --scenario I --json`.
fn replay(model: &Path, spec: &Path, index: u64, extra: &[&str]) -> Value {
    let index = index.to_string();
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let mut args = vec!["replay", m, "--spec", s, "--scenario", &index, "--json"];
    args.extend_from_slice(extra);
    let out = mcp(&args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

fn reals(t: &Table, name: &str) -> Vec<Option<f64>> {
    match t.column(name) {
        Some(Cells::Real(v)) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn texts(t: &Table, name: &str) -> Vec<Option<String>> {
    match t.column(name) {
        Some(Cells::Text(v)) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// Runs `spec_text` on `model` embedded, saving the kept scenarios as Parquet; the summary's
/// JSON and the saved table.
fn run_keeping(
    model: &Path,
    spec_text: &str,
    extra: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf, Value, Table) {
    let (dir, spec) = spec_file(spec_text);
    let saved = dir.path().join("kept.parquet");
    let mut args = vec![
        "--workers",
        "2",
        "--save-scenarios",
        saved.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = submit_json(model, &spec, &args);
    let table = read_parquet(&std::fs::read(&saved).unwrap()).unwrap();
    (dir, spec, run, table)
}

#[test]
fn a_replay_of_scenario_i_equals_its_row_in_the_raw_export() {
    let model = model_path("faulty");
    let text = FAULTY.replace("batch = 100\n", "batch = 100\nkeep = \"all\"\n");
    let (_dir, spec, run, table) = run_keeping(&model, &text, &[]);
    assert_eq!(table.rows(), 3000);
    let Some(Cells::Count(scenarios)) = table.column("scenario") else {
        panic!("no scenario column")
    };
    assert!(
        scenarios
            .iter()
            .enumerate()
            .all(|(i, s)| *s == Some(i as u64))
    );
    let kinds = texts(&table, "failure_kind");
    let failed = kinds.iter().filter(|k| k.is_some()).count() as u64;
    assert_eq!(Some(failed), run["failed"].as_u64());
    // Two failed scenarios and two that succeeded, replayed one by one.
    let pick: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| k.is_some())
        .map(|(i, _)| i)
        .take(2)
        .chain(
            kinds
                .iter()
                .enumerate()
                .filter(|(_, k)| k.is_none())
                .map(|(i, _)| i)
                .take(2),
        )
        .collect();
    assert_eq!(pick.len(), 4);
    for i in pick {
        let replayed = replay(&model, &spec, i as u64, &[]);
        for input in ["mode", "x"] {
            let value = replayed["inputs"][input].as_f64().unwrap();
            assert_eq!(
                reals(&table, input)[i].map(f64::to_bits),
                Some(value.to_bits()),
                "input {input} of scenario {i}: {replayed}"
            );
        }
        match kinds[i].as_deref() {
            Some(kind) => {
                assert_eq!(replayed["failure"]["kind"], kind, "{replayed}");
                assert_eq!(
                    replayed["failure"]["message"].as_str(),
                    texts(&table, "failure_message")[i].as_deref()
                );
                assert_eq!(reals(&table, "y")[i], None);
            }
            None => {
                let y = replayed["outputs"]["y"].as_f64().unwrap();
                assert_eq!(reals(&table, "y")[i].map(f64::to_bits), Some(y.to_bits()));
            }
        }
    }
}

#[test]
fn a_vector_inputs_elements_are_columns_equal_to_the_replay() {
    let model = model_path("asian");
    let text = std::fs::read_to_string(project_file("example-models/asian/vars.toml")).unwrap();
    let text = text.replace("[simulation]\n", "[simulation]\nkeep = 5\n");
    let few = ["--scenarios", "2000"];
    let (_dir, spec, _run, table) = run_keeping(&model, &text, &few);
    assert_eq!(table.rows(), 5, "keep = 5 keeps scenarios 0 to 4");
    let replayed = replay(&model, &spec, 3, &few);
    let path = replayed["inputs"]["path"].as_array().unwrap();
    for (k, value) in path.iter().enumerate() {
        assert_eq!(
            reals(&table, &format!("path[{k}]"))[3].map(f64::to_bits),
            value.as_f64().map(f64::to_bits),
            "path[{k}]"
        );
    }
    let price = replayed["outputs"]["price"].as_f64().unwrap();
    assert_eq!(reals(&table, "price")[3], Some(price));
}

#[test]
fn keep_failed_keeps_exactly_the_failed_scenarios() {
    let model = model_path("faulty");
    let text = FAULTY.replace("batch = 100\n", "batch = 100\nkeep = \"failed\"\n");
    let (_dir, _spec, run, table) = run_keeping(&model, &text, &[]);
    assert_eq!(Some(table.rows() as u64), run["failed"].as_u64());
    assert!(texts(&table, "failure_kind").iter().all(Option::is_some));
    assert!(reals(&table, "y").iter().all(Option::is_none));
    let Some(Cells::Count(scenarios)) = table.column("scenario") else {
        panic!("no scenario column")
    };
    assert!(
        scenarios.windows(2).all(|w| w[0] < w[1]),
        "in scenario order"
    );
}

#[test]
fn results_of_a_saved_summary_round_trip_through_csv_and_parquet() {
    let (model, spec) = pricing();
    let dir = tempfile::tempdir().unwrap();
    let out = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenarios",
        "20000",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run_json = dir.path().join("run.json");
    std::fs::write(&run_json, &out.stdout).unwrap();
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = dir.path().join("summary.parquet");
    let out = mcp(&[
        "results",
        run_json.to_str().unwrap(),
        "-o",
        summary.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = read_parquet(&std::fs::read(&summary).unwrap()).unwrap();
    let Some(Cells::Text(names)) = table.column("output") else {
        panic!("no output column")
    };
    let outputs: Vec<&str> = run["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names.len(), outputs.len());
    for output in outputs {
        let row = names
            .iter()
            .position(|n| n.as_deref() == Some(output))
            .unwrap();
        for field in ["mean", "std", "stderr", "min", "max"] {
            assert_eq!(
                reals(&table, field)[row].map(f64::to_bits),
                run["outputs"][output][field].as_f64().map(f64::to_bits),
                "{output}.{field}"
            );
        }
        let p95 = run["outputs"][output]["percentiles"]["p95"].as_f64();
        assert_eq!(reals(&table, "p95")[row], p95);
    }
    let out = mcp(&["results", run_json.to_str().unwrap(), "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("output,count,mean,std,stderr,ci95_low,ci95_high,min,max,p1,")
    );
    let price: Vec<&str> = lines
        .find(|l| l.starts_with("price,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(
        price[2].parse::<f64>().ok(),
        run["outputs"]["price"]["mean"].as_f64()
    );
}

#[test]
fn bad_keep_values_and_misuse_of_exports_are_refused_with_the_fix() {
    let model = model_path("faulty");
    let m = model.to_str().unwrap();
    let bad = FAULTY.replace("batch = 100\n", "batch = 100\nkeep = \"some\"\n");
    let (_dir, spec) = spec_file(&bad);
    let out = mcp(&["submit", m, "--spec", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "simulation.keep: must be \"all\" (every scenario), \"failed\" (the failed ones) or \
             a number N (scenarios 0 to N - 1), not \"some\"; leave it out to keep none"
        ),
        "{}",
        stderr(&out)
    );
    // 20 million scenarios of 3 values (mode, x, y): over the 2^25 values a job keeps.
    let big = FAULTY
        .replace("scenarios = 3000", "scenarios = 20_000_000")
        .replace("batch = 100\n", "batch = 100\nkeep = \"all\"\n");
    let (_dir, spec) = spec_file(&big);
    let out = mcp(&["submit", m, "--spec", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "simulation.keep: keeping 20000000 scenarios of 3 values each (inputs and outputs) \
             is more than the 33554432 values a job may keep; keep the first ones with \
             `keep = 11184810`"
        ),
        "{}",
        stderr(&out)
    );
    let (_dir, spec) = spec_file(FAULTY);
    let out = mcp(&[
        "submit",
        m,
        "--spec",
        spec.to_str().unwrap(),
        "--save-scenarios",
        "s.csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("keeps no scenarios; add `keep = \"all\"`"),
        "{}",
        stderr(&out)
    );
    let out = mcp(&["results", "run.json", "--scenarios"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a JSON file holds a summary, not kept scenarios"),
        "{}",
        stderr(&out)
    );
    let out = mcp(&[
        "results",
        "job-1",
        "--api",
        "http://127.0.0.1:9",
        "--format",
        "xlsx",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--format: unknown format `xlsx`; use csv, json or parquet"),
        "{}",
        stderr(&out)
    );
}
