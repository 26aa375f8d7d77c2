//! `mcp submit --checkpoint FILE`: a run stopped by Ctrl-C or killed resumes where it ended
//! and finishes with the summary of a run that was never stopped, bit for bit.

use crate::interrupt::{LongRun, send};
use crate::support::*;
use serde_json::Value;
use std::path::Path;

/// Scenarios of the runs here: enough that a paused run is far from its end, few enough that
/// the rest runs in seconds.
const SCENARIOS: &str = "2000000";

/// What must be the same in a resumed run and an uninterrupted one: everything but the time.
fn result(summary: &Value) -> Value {
    let mut summary = summary.clone();
    summary.as_object_mut().unwrap().remove("elapsed_s");
    summary
}

/// Starts the pricing run with its checkpoint at `checkpoint`, lets it count some batches,
/// and pauses it: what is counted stays counted and no more comes.
fn paused_run(checkpoint: &Path) -> LongRun {
    let run = LongRun::with(&[
        "--scenarios",
        SCENARIOS,
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ]);
    run.pause();
    run
}

/// Runs the same job again on two workers with the same checkpoint; its JSON summary and
/// what it said on stderr.
fn resume(checkpoint: &Path) -> (Value, String) {
    let (model, spec) = pricing();
    let out = mcp(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenarios",
        SCENARIOS,
        "--workers",
        "2",
        "--json",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), stderr(&out))
}

/// The count in "resuming from FILE: N of M scenarios counted already".
fn resumed_count(said: &str) -> u64 {
    let line = said
        .lines()
        .find(|l| l.contains("mcp submit: resuming from"))
        .unwrap_or_else(|| panic!("it said it resumed: {said}"));
    let count = line
        .split(": ")
        .nth(2)
        .unwrap()
        .split(" of ")
        .next()
        .unwrap();
    count.replace(',', "").parse().unwrap()
}

#[test]
fn a_run_stopped_by_ctrl_c_resumes_and_ends_as_if_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    let mut run = paused_run(&checkpoint);
    send("INT", run.process.id());
    assert_eq!(run.process.exit_status().code(), Some(130));
    let partial: Value = serde_json::from_reader(&mut run.stdout).unwrap();
    let said: Vec<String> = run.stderr.by_ref().map_while(Result::ok).collect();
    assert!(
        said.iter()
            .any(|l| l.contains("run the same command again to resume")),
        "{said:?}"
    );
    assert_eq!(partial["partial"], true, "{partial}");
    let done = partial["scenarios"].as_u64().unwrap();
    assert!(done > 0 && done < 2_000_000, "{partial}");

    let (resumed, said) = resume(&checkpoint);
    assert_eq!(
        resumed_count(&said),
        done,
        "every batch counted is kept: {said}"
    );
    let whole = embedded(SCENARIOS);
    assert_eq!(result(&resumed), result(&whole), "resumed != uninterrupted");

    // Once ended, the checkpoint gives the summary again without running anything.
    let (again, said) = resume(&checkpoint);
    assert!(said.contains("holds this run, ended"), "{said}");
    assert_eq!(result(&again), result(&whole));
}

#[test]
fn a_killed_run_resumes_from_what_it_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    let mut run = paused_run(&checkpoint);
    let seen = run.seen;
    run.process.kill();
    let (resumed, said) = resume(&checkpoint);
    let counted = resumed_count(&said);
    assert!(
        counted >= seen && counted < 2_000_000,
        "{counted} counted, {seen} seen before the kill"
    );
    assert_eq!(result(&resumed), result(&embedded(SCENARIOS)));
}

#[test]
fn a_checkpoint_of_another_spec_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    let ckpt = checkpoint.to_str().unwrap();
    let (model, spec) = pricing();
    let run = |extra: &[&str]| {
        let (model, spec) = (model.to_str().unwrap(), spec.to_str().unwrap());
        let mut args = vec!["submit", model, "--spec", spec, "--scenarios", "10000"];
        args.extend_from_slice(&["--checkpoint", ckpt]);
        args.extend_from_slice(extra);
        mcp(&args)
    };
    let first = run(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let other = run(&["--seed", "7"]);
    assert!(!other.status.success());
    let said = stderr(&other);
    assert!(said.contains(ckpt), "names the file: {said}");
    assert!(said.contains("another spec"), "{said}");
    assert!(
        said.contains("another --checkpoint file"),
        "says the fix: {said}"
    );
    // The checkpoint still holds the first run.
    let again = run(&[]);
    assert!(again.status.success());
    assert!(stderr(&again).contains("holds this run, ended"));
}
