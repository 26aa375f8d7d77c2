//! Ctrl-C on an embedded `mcp submit`: the run stops with the summary of what finished.

use crate::support::*;
use serde_json::Value;
use std::io::BufRead;
use std::process::{Command, Stdio};

/// Sends `signal` (`INT`, `TERM`) to process `pid` with kill(1).
fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Starts a pricing run far too long to finish, with its dashboard on a free port so that the
/// test can see its progress; waits until it has evaluated some scenarios, then sends
/// `signal`; returns the exit code and the JSON summary.
fn interrupted(signal: &str) -> (Option<i32>, Value, u64) {
    let (model, spec) = pricing();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(["submit", model.to_str().unwrap(), "--spec"])
        .arg(&spec)
        .args(["--scenarios", "500000000", "--workers", "1", "--json"])
        .args(["--dashboard", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let stdout_pipe = child.stdout.take().unwrap();
    let mut process = Process::of(child);
    // "mcp submit: dashboard on http://ADDR/ (token for its buttons: TOKEN)"
    let line = stderr_lines.next().unwrap().unwrap();
    let rest = line
        .strip_prefix("mcp submit: dashboard on ")
        .unwrap_or_else(|| panic!("{line}"));
    let url = rest.split(' ').next().unwrap().trim_end_matches('/');
    let job = format!("{url}/api/jobs/local");
    let seen = mcp_testkit::eventually("scenarios evaluated", PATIENCE, || {
        let mut response = ureq::get(&job).call().ok()?;
        let view: Value = response.body_mut().read_json().ok()?;
        view["scenarios"].as_u64().filter(|&n| n > 0)
    });
    send(signal, process.id());
    let code = process.exit_status().code();
    let summary: Value = serde_json::from_reader(stdout_pipe).unwrap();
    let said: Vec<String> = stderr_lines.map_while(Result::ok).collect();
    assert!(
        said.iter().any(|l| l.contains("mcp submit: stopping")),
        "{said:?}"
    );
    (code, summary, seen)
}

fn check_partial(code: Option<i32>, summary: &Value, seen: u64) {
    assert_eq!(code, Some(130), "{summary}");
    assert_eq!(summary["partial"], true, "{summary}");
    assert_eq!(summary["stopped"], "cancelled", "{summary}");
    let done = summary["scenarios"].as_u64().unwrap();
    assert!(done >= seen && done < 500_000_000, "{done} after {seen}");
    assert_eq!(summary["failed"], 0, "pricing never fails");
    // The statistics are those of exactly the scenarios counted.
    for output in ["price", "itm"] {
        assert_eq!(summary["outputs"][output]["count"], done, "{summary}");
    }
}

#[test]
fn ctrl_c_stops_an_embedded_run_with_a_partial_summary() {
    let (code, summary, seen) = interrupted("INT");
    check_partial(code, &summary, seen);
}

#[test]
fn sigterm_stops_an_embedded_run_like_ctrl_c() {
    let (code, summary, seen) = interrupted("TERM");
    check_partial(code, &summary, seen);
}

#[test]
fn a_completed_run_is_not_marked_partial() {
    let summary = embedded("1000");
    assert!(summary.get("partial").is_none(), "{summary}");
    assert!(summary.get("stopped").is_none(), "{summary}");
}
