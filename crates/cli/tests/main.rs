//! End-to-end tests of the `mcp` binary: real models, real specs, real processes.

mod bad_input;
mod dashboard;
mod distributed;
mod faults;
mod jobs;
mod serve;

use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `mcp` with `args`.
fn mcp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run mcp")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A spec file in a fresh temporary directory (kept alive by the returned guard).
fn spec_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vars.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `mcp submit MODEL --spec SPEC --json EXTRA...`, which must succeed; returns the JSON.
fn submit_json(model: &Path, spec: &Path, extra: &[&str]) -> Value {
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let mut args = vec!["submit", m, "--spec", s, "--json"];
    args.extend_from_slice(extra);
    let out = mcp(&args);
    assert!(
        out.status.success(),
        "mcp {args:?} failed:\n{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn pricing() -> (PathBuf, PathBuf) {
    (
        model_path("pricing"),
        project_file("example-models/pricing/vars.toml"),
    )
}
