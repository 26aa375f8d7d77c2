//! `mcp replay`: one scenario alone, exactly as the run saw it.

use crate::jobs::FAULTY;
use crate::support::*;
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::path::Path;

/// `mcp replay MODEL --spec SPEC --scenario I EXTRA... --json`: its exit code and JSON.
pub(crate) fn replay_json(
    model: &Path,
    spec: &Path,
    index: u64,
    extra: &[&str],
) -> (Option<i32>, Value) {
    let index = index.to_string();
    let mut args = vec![
        "replay",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenario",
        &index,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = mcp(&args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), json)
}

#[test]
fn a_replayed_scenario_fails_or_succeeds_as_it_did_in_the_run() {
    let (_dir, spec) = spec_file(FAULTY);
    let model = model_path("faulty");
    let run = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--workers",
        "2",
        "--json",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    // "  scenario N: KIND: MESSAGE", the run's first failures (lowest indices first).
    let failures: Vec<(u64, String, String)> = stderr(&run)
        .lines()
        .filter_map(|l| l.strip_prefix("  scenario "))
        .map(|l| {
            let (index, rest) = l.split_once(": ").unwrap();
            let (kind, message) = rest.split_once(": ").unwrap();
            (index.parse().unwrap(), kind.into(), message.into())
        })
        .collect();
    assert!(failures.len() >= 3, "{}", stderr(&run));
    for (index, kind, message) in &failures {
        let (code, json) = replay_json(&model, &spec, *index, &[]);
        assert_eq!(code, Some(5), "a failed scenario exits 5: {json}");
        assert_eq!(json["failure"]["kind"], kind.as_str(), "{json}");
        // The messages quote x ("mode 1 refuses x = ..."): the replay drew the run's inputs.
        assert_eq!(json["failure"]["message"], message.as_str(), "{json}");
        assert!(json.get("outputs").is_none(), "{json}");
        assert_ne!(json["inputs"]["mode"], 0.0, "{json}");
    }
    // Below the last failure shown, every index not shown succeeded in the run.
    let last = failures.last().unwrap().0;
    let healthy = (0..last)
        .find(|i| failures.iter().all(|f| f.0 != *i))
        .expect("a scenario that succeeded");
    let (code, json) = replay_json(&model, &spec, healthy, &[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["inputs"]["mode"], 0.0, "{json}");
    assert_eq!(
        json["outputs"]["y"], json["inputs"]["x"],
        "mode 0 is y = x: {json}"
    );
    assert_eq!(json["scenario"], healthy);
}

#[test]
fn a_replay_equals_a_run_of_that_scenario_with_the_same_overrides() {
    // A run of one scenario summarises scenario 0 alone: its mean is that scenario's value.
    // --seed and --scenarios are honoured as `mcp submit` honours them.
    let (model, spec) = pricing();
    let run = submit_json(&model, &spec, &["--scenarios", "1", "--seed", "7"]);
    let (code, replayed) = replay_json(&model, &spec, 0, &["--scenarios", "1", "--seed", "7"]);
    assert_eq!(code, Some(0), "{replayed}");
    assert_eq!(replayed["seed"], 7);
    for output in ["price", "itm"] {
        assert_eq!(
            replayed["outputs"][output], run["outputs"][output]["mean"],
            "{output}: {replayed}\n{run}"
        );
    }
    let (_, other_seed) = replay_json(&model, &spec, 0, &["--scenarios", "1"]);
    assert_ne!(
        other_seed["inputs"], replayed["inputs"],
        "--seed changes the draws"
    );
}

#[test]
fn a_vector_input_is_shortened_in_the_table_and_whole_in_json() {
    let model = model_path("asian");
    let spec = project_file("example-models/asian/vars.toml");
    let (code, json) = replay_json(&model, &spec, 41_235, &[]);
    assert_eq!(code, Some(0), "{json}");
    let path = json["inputs"]["path"].as_array().unwrap();
    assert_eq!(path.len(), 252, "{json}");
    let out = mcp(&[
        "replay",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenario",
        "41235",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let first = path[0].as_f64().unwrap();
    assert!(
        text.contains(&format!("  path = [{first}, "))
            && text.contains("(252 values; --json prints them all)"),
        "{text}"
    );
    let price = json["outputs"]["price"].as_f64().unwrap();
    assert!(text.contains(&format!("  price = {price}\n")), "{text}");
}

#[test]
fn a_replay_refuses_a_scenario_past_the_job_and_a_missing_spec() {
    let (model, spec) = pricing();
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let out = mcp(&[
        "replay",
        m,
        "--spec",
        s,
        "--scenarios",
        "10",
        "--scenario",
        "10",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("--scenario 10 is not a scenario of this job")
            && err.contains("numbered 0 to 9")
            && err.contains("give --scenario below 10"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = mcp(&[
        "replay",
        m,
        "--spec",
        "no-such/vars.toml",
        "--scenario",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("could not read no-such/vars.toml"),
        "{}",
        stderr(&out)
    );
}
