//! What the CLI's tests share: running `mcp`, its files and output; processes and their logs
//! (here); the test broker and its queues ([`broker`]); a coordinator process ([`serve`]).
//! Waiting is always on a condition, with [`mcp_testkit::eventually`], never on a sleep.

pub mod broker;
pub mod serve;

use mcp_testkit::{eventually, model_path, project_file};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for a process or a state before it fails.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Runs `mcp` with `args`.
pub fn mcp(args: &[&str]) -> Output {
    mcp_command(args)
        .stdout(Stdio::piped())
        .output()
        .expect("run mcp")
}

/// The command line of `mcp` with `args` (no `RUST_LOG`; stdout dropped).
pub fn mcp_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    command
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the browser script `web/tests/SCRIPT` with `args` under Node (playwright-core drives
/// the headless Chromium of `MCP_TEST_CHROMIUM`); it must succeed, and its stdout is JSON.
/// A missing Node, npm package or Chromium fails the test: `cargo xtask test` installs them.
pub fn browser(script: &str, args: &[&str]) -> Value {
    let out = Command::new("node")
        .arg(project_file(&format!("web/tests/{script}")))
        .args(args)
        .output()
        .expect("run node (install Node.js; `cargo xtask test` installs the npm packages)");
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// A spec file in a fresh temporary directory (kept alive by the returned guard).
pub fn spec_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vars.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `mcp submit MODEL --spec SPEC --json EXTRA...`, which must succeed; returns the JSON.
pub fn submit_json(model: &Path, spec: &Path, extra: &[&str]) -> Value {
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

/// The pricing model and its spec.
pub fn pricing() -> (PathBuf, PathBuf) {
    (
        model_path("pricing"),
        project_file("example-models/pricing/vars.toml"),
    )
}

/// The embedded summary of the pricing job with `scenarios` scenarios.
pub fn embedded(scenarios: &str) -> Value {
    let (model, spec) = pricing();
    submit_json(&model, &spec, &["--scenarios", scenarios])
}

/// Checks that a distributed summary counted every scenario once and has the embedded run's
/// outputs, bit for bit.
pub fn check_same_as_embedded(distributed: &Value, scenarios: &str) {
    let local = embedded(scenarios);
    assert_eq!(
        distributed["scenarios"], local["scenarios"],
        "every scenario counted once"
    );
    assert_eq!(
        serde_json::to_string(&distributed["outputs"]).unwrap(),
        serde_json::to_string(&local["outputs"]).unwrap(),
        "distributed outputs differ from embedded"
    );
}

/// The lines a child process prints on one stream, collected as they come.
pub struct Lines {
    incoming: mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    pub fn of(stream: impl Read + Send + 'static) -> Lines {
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            incoming,
            seen: String::new(),
        }
    }

    /// Waits for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        eventually(&format!("a line with {needle:?}"), PATIENCE, || {
            self.text().contains(needle).then_some(())
        })
    }

    /// Waits until the stream is closed (the process exited): every line it printed is in
    /// [`text`](Lines::text) afterwards, however far behind the reading thread was.
    pub fn wait_for_end(&mut self) {
        loop {
            match self.incoming.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("the stream stayed open"),
            }
        }
    }

    /// Everything printed so far.
    pub fn text(&mut self) -> &str {
        while let Ok(line) = self.incoming.try_recv() {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        &self.seen
    }
}

/// A child process, killed (SIGKILL) when dropped.
pub struct Process(Option<Child>);

impl Process {
    pub fn spawn(mut command: Command) -> Process {
        Process::of(command.spawn().expect("start mcp"))
    }

    pub fn of(child: Child) -> Process {
        Process(Some(child))
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("a running process")
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("a running process").id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child().try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit by itself.
    pub fn exit_status(&mut self) -> std::process::ExitStatus {
        let pid = self.id();
        eventually(&format!("process {pid} to exit"), PATIENCE, || {
            self.child().try_wait().unwrap()
        })
    }

    /// Waits for the process to exit; its status and what it printed on stdout.
    pub fn finish(&mut self) -> (std::process::ExitStatus, String) {
        let mut out = String::new();
        if let Some(mut stdout) = self.child().stdout.take() {
            stdout.read_to_string(&mut out).unwrap();
        }
        (self.exit_status(), out)
    }

    /// Waits for the process to exit; everything it printed.
    pub fn output(mut self) -> Output {
        let child = self.0.take().expect("a running process");
        child.wait_with_output().unwrap()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A child process with its stderr collected, killed when dropped.
pub struct Role {
    pub process: Process,
    pub stderr: Lines,
}

impl Role {
    pub fn spawn(mut command: Command) -> Role {
        let mut child = command.stderr(Stdio::piped()).spawn().expect("start mcp");
        let stderr = Lines::of(child.stderr.take().unwrap());
        Role {
            process: Process::of(child),
            stderr,
        }
    }

    /// Waits for the process to exit; its status. Its stderr is whole then.
    pub fn exit_status(&mut self) -> std::process::ExitStatus {
        let status = self.process.exit_status();
        self.stderr.wait_for_end();
        status
    }

    /// Waits for the process to exit; its status and stdout. Its stderr is whole then.
    pub fn finish(&mut self) -> (std::process::ExitStatus, String) {
        let finished = self.process.finish();
        self.stderr.wait_for_end();
        finished
    }
}
