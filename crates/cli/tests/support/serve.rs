//! An `mcp serve` process on a free port, and its API.

use super::broker::{Prefix, broker_url, submit_args};
use super::{PATIENCE, Process, mcp, pricing, stderr, stdout};
use mcp_testkit::within;
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

/// The token the tests' coordinators run with.
pub const TOKEN: &str = "test-token";

/// An `mcp serve` process on a free port, killed (SIGKILL) when dropped.
pub struct Serve {
    pub process: Process,
    pub url: String,
}

impl Serve {
    pub fn start(prefix: &Prefix, db: &Path) -> Serve {
        Serve::spawn(Serve::command(&broker_url(), prefix, db))
    }

    /// A coordinator under `prefix` with a fresh history, in the returned directory.
    pub fn fresh(prefix: &Prefix) -> (tempfile::TempDir, Serve) {
        let dir = tempfile::tempdir().unwrap();
        let serve = Serve::start(prefix, &dir.path().join("history.sqlite3"));
        (dir, serve)
    }

    /// The command line of a coordinator on `broker` (stdout piped, stderr dropped).
    pub fn command(broker: &str, prefix: &Prefix, db: &Path) -> Command {
        Serve::command_taking(broker, prefix, db, "1000000")
    }

    /// [`Serve::command`] taking jobs of up to `max_scenarios`.
    pub fn command_taking(
        broker: &str,
        prefix: &Prefix,
        db: &Path,
        max_scenarios: &str,
    ) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mcp"));
        command
            .args(["serve", "--broker", broker, "--prefix", &prefix.0])
            .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()])
            .args(["--max-scenarios", max_scenarios])
            .env("MCP_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    }

    /// Starts `command` and reads the dashboard's URL from the first line it prints.
    pub fn spawn(command: Command) -> Serve {
        let mut process = Process::spawn(command);
        let mut line = String::new();
        std::io::BufReader::new(process.child().stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "mcp serve: dashboard on http://ADDR/ (API under /api/jobs), history in DB"
        let url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|w| w.strip_suffix('/'))
            .unwrap_or_else(|| panic!("no URL in {line:?}"));
        Serve {
            process,
            url: format!("http://{url}"),
        }
    }

    /// `GET path` as JSON, whatever the status (errors are `{"error": ...}`).
    pub fn get(&self, path: &str) -> Value {
        ureq::get(&format!("{}{path}", self.url))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// Polls `GET /api/jobs/{id}` until `done` holds.
    pub fn wait_for_job(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(&format!("/api/jobs/{id}"), done)
    }

    /// Polls `GET path` until `done` holds.
    pub fn wait_for(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let found = within(PATIENCE, || {
            last = self.get(path);
            done(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| panic!("gave up waiting on {path}: {last}"))
    }

    /// A multipart upload of `model` and a spec text: the status and the JSON answer.
    pub fn upload(&self, model: &Path, spec: &str, token: &str) -> (u16, Value) {
        let wasm = std::fs::read(model).unwrap();
        let mut body = Vec::new();
        for (name, file, bytes) in [
            ("model", "pricing.wasm", &wasm[..]),
            ("spec", "vars.toml", spec.as_bytes()),
        ] {
            body.extend_from_slice(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        let mut response = ureq::post(&format!("{}/api/jobs", self.url))
            .config()
            .http_status_as_error(false)
            .build()
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .send(&body[..])
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap())
    }

    /// `POST path` (empty body, with the token): the status and the JSON answer.
    pub fn post(&self, path: &str) -> (u16, Value) {
        let mut response = ureq::post(&format!("{}{path}", self.url))
            .config()
            .http_status_as_error(false)
            .build()
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send_empty()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_json().unwrap_or(Value::Null),
        )
    }

    /// The coordinator's stderr, when its command piped it.
    pub fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.process.child().stderr.take().expect("stderr piped")
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// `mcp submit` (no --wait) of the pricing model with `spec`; returns the job id it prints.
pub fn publish_spec(prefix: &Prefix, spec: &Path, scenarios: &str) -> String {
    let model = pricing().0;
    let args = submit_args(
        prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        scenarios,
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = mcp(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// `mcp submit` (no --wait) of the pricing job; returns the job id it prints.
pub fn publish(prefix: &Prefix, scenarios: &str) -> String {
    publish_spec(prefix, &pricing().1, scenarios)
}
