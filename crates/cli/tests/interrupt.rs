//! Ctrl-C on an embedded `mcp submit`: the run stops with the summary of what finished.

use crate::support::*;
use serde_json::Value;
use std::io::BufRead;
use std::process::{Command, Stdio};

/// Sends `signal` (`INT`, `TERM`) to process `pid` with kill(1).
pub fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A pricing run far too long to finish, started with its dashboard on a free port so that
/// the test can see its progress, and waited for until it has evaluated some scenarios (how
/// many it had then).
pub struct LongRun {
    pub process: Process,
    pub stdout: std::process::ChildStdout,
    pub stderr: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    pub seen: u64,
    /// The dashboard's address, `http://ADDR`.
    pub url: String,
    /// The token of the dashboard's buttons.
    pub token: String,
}

impl LongRun {
    fn start() -> LongRun {
        LongRun::with(&["--scenarios", "500000000"])
    }

    /// A pricing run on one worker with `extra` arguments.
    pub fn with(extra: &[&str]) -> LongRun {
        let (model, spec) = pricing();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp"))
            .args(["submit", model.to_str().unwrap(), "--spec"])
            .arg(&spec)
            .args(["--workers", "1", "--json"])
            .args(extra)
            .args(["--dashboard", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let stdout = child.stdout.take().unwrap();
        let process = Process::of(child);
        // "mcp submit: dashboard on http://ADDR/ (token for its buttons: TOKEN)"
        let line = stderr.next().unwrap().unwrap();
        let rest = line
            .strip_prefix("mcp submit: dashboard on ")
            .unwrap_or_else(|| panic!("{line}"));
        let (url, token) = rest.split_once(" (token for its buttons: ").unwrap();
        let url = url.trim_end_matches('/').to_string();
        let token = token.trim_end_matches(')').to_string();
        let job = format!("{url}/api/jobs/local");
        let seen = mcp_testkit::eventually("scenarios evaluated", PATIENCE, || {
            let mut response = ureq::get(&job).call().ok()?;
            let view: Value = response.body_mut().read_json().ok()?;
            view["scenarios"].as_u64().filter(|&n| n > 0)
        });
        LongRun {
            process,
            stdout,
            stderr,
            seen,
            url,
            token,
        }
    }

    /// Pauses the workers from the dashboard and waits until they take no more batches: the
    /// run cannot end by itself after that.
    pub fn pause(&self) {
        let status = ureq::post(&format!("{}/api/control", self.url))
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(r#"{"action":"pause"}"#)
            .unwrap()
            .status();
        assert_eq!(status, 202);
        let consumers = format!("{}/api/consumers", self.url);
        mcp_testkit::eventually("paused workers", PATIENCE, || {
            let mut response = ureq::get(&consumers).call().ok()?;
            let all: Value = response.body_mut().read_json().ok()?;
            let local = all.get(0)?;
            (local["seen_state"] == "paused" && local["scenarios_per_s"] == 0.0).then_some(())
        });
    }
}

/// Sends `signal` to a long run once it has made progress; its exit code, its JSON summary
/// and how many scenarios it had evaluated before the signal.
fn interrupted(signal: &str) -> (Option<i32>, Value, u64) {
    let mut run = LongRun::start();
    send(signal, run.process.id());
    let code = run.process.exit_status().code();
    let summary: Value = serde_json::from_reader(run.stdout).unwrap();
    let said: Vec<String> = run.stderr.map_while(Result::ok).collect();
    assert!(
        said.iter().any(|l| l.contains("mcp submit: stopping")),
        "{said:?}"
    );
    (code, summary, run.seen)
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
fn a_second_signal_quits_at_once_without_a_summary() {
    use std::io::Read;
    let mut run = LongRun::start();
    let pid = run.process.id();
    // Stopped, the process runs nothing, so both signals are pending when it continues: its
    // signal thread takes them in turn, cancelling on the first and quitting on the second,
    // microseconds apart, long before the cancelled run could print its summary. SIGINT and
    // SIGTERM, because two pending SIGINTs would merge into one.
    send("STOP", pid);
    send("INT", pid);
    send("TERM", pid);
    send("CONT", pid);
    assert_eq!(run.process.exit_status().code(), Some(130));
    let mut out = String::new();
    run.stdout.read_to_string(&mut out).unwrap();
    assert!(out.is_empty(), "it quit before printing a summary: {out}");
}

#[test]
fn a_completed_run_is_not_marked_partial() {
    let summary = embedded("1000");
    assert!(summary.get("partial").is_none(), "{summary}");
    assert!(summary.get("stopped").is_none(), "{summary}");
}
