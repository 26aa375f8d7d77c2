//! `mcp serve` over a real RabbitMQ: the job history survives a SIGKILL mid-job, keeps
//! superseded jobs, sees lost consumers, and takes uploads through the HTTP API.

use super::distributed::{
    Consumer, Prefix, broker_url, check_same_as_embedded, confirming_channel, control, runtime,
    shared, submit_args, wait_for_queue_messages,
};
use super::*;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The token the tests' coordinators run with.
pub(crate) const TOKEN: &str = "test-token";

/// An `mcp serve` process on a free port, killed (SIGKILL) when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) url: String,
}

impl Serve {
    pub(crate) fn start(prefix: &Prefix, db: &Path) -> Serve {
        Serve::spawn(Serve::command(&broker_url(), prefix, db))
    }

    /// The command line of a coordinator on `broker` (stdout piped, stderr dropped).
    pub(crate) fn command(broker: &str, prefix: &Prefix, db: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mcp"));
        command
            .args(["serve", "--broker", broker, "--prefix", &prefix.0])
            .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()])
            .args(["--max-scenarios", "1000000"])
            .env("MCP_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    }

    /// Starts `command` and reads the dashboard's URL from the first line it prints.
    pub(crate) fn spawn(mut command: Command) -> Serve {
        let mut child = command.spawn().expect("start mcp serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "mcp serve: dashboard on http://ADDR/ (API under /api/jobs), history in DB"
        let url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|w| w.strip_suffix('/'))
            .unwrap_or_else(|| panic!("no URL in {line:?}"));
        Serve {
            child,
            url: format!("http://{url}"),
        }
    }

    /// `GET path` as JSON, whatever the status (errors are `{"error": ...}`).
    pub(crate) fn get(&self, path: &str) -> Value {
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

    /// Polls `GET /api/jobs/{id}` until `done` holds (at most two minutes).
    pub(crate) fn wait_for_job(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(&format!("/api/jobs/{id}"), done)
    }

    pub(crate) fn wait_for(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let value = self.get(path);
            if done(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting on {path}: {value}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The coordinator's stderr, when its command piped it.
    pub(crate) fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.child.stderr.take().expect("stderr piped")
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `mcp submit` (no --wait) of the pricing job; returns the job id it prints.
fn publish(prefix: &Prefix, scenarios: &str) -> String {
    publish_spec(prefix, &pricing().1, scenarios)
}

/// `mcp submit` (no --wait) of the pricing model with `spec`; returns the job id it prints.
pub(crate) fn publish_spec(prefix: &Prefix, spec: &Path, scenarios: &str) -> String {
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

/// Scenarios evaluated (0 while the job is not known yet).
fn scenarios(job: &Value) -> u64 {
    job["scenarios"].as_u64().unwrap_or(0)
}

fn ended(job: &Value) -> bool {
    matches!(
        job["state"].as_str(),
        Some("completed" | "superseded" | "timed_out" | "failed")
    )
}

#[test]
fn a_serve_killed_mid_job_and_restarted_loses_nothing() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let mut serve = Serve::start(&prefix, &db);
    let _consumer = Consumer::start(&prefix, "c");
    let id = publish(&prefix, "300000");
    serve.wait_for_job(&id, |j| scenarios(j) > 0);
    // Hold the job mid-way: the consumer finishes only the batches it already holds.
    control(&prefix, &["pause"]);
    let before = serve.get(&format!("/api/jobs/{id}"));
    assert_eq!(before["state"], "running");
    assert!(scenarios(&before) < 300_000, "{before}");
    serve.kill();

    let serve = Serve::start(&prefix, &db);
    let recorded = serve.get(&format!("/api/jobs/{id}"));
    assert_eq!(recorded["state"], "running", "{recorded}");
    assert!(
        scenarios(&recorded) >= scenarios(&before),
        "what was recorded before the kill is still there: {recorded}"
    );
    control(&prefix, &["resume"]);
    let done = serve.wait_for_job(&id, ended);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(
        (scenarios(&done), done["failed"].as_u64()),
        (300_000, Some(0))
    );
    check_same_as_embedded(&done, "300000");
}

#[test]
fn history_keeps_superseded_jobs_and_consumers_are_seen_lost() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&prefix, &dir.path().join("history.sqlite3"));
    let mut consumer = Consumer::start(&prefix, "c1");
    let old = publish(&prefix, "2000000");
    serve.wait_for_job(&old, |j| scenarios(j) > 0);
    let new = publish(&prefix, "20480");
    let done = serve.wait_for_job(&new, ended);
    assert_eq!(done["state"], "completed", "{done}");
    check_same_as_embedded(&done, "20480");

    let superseded = serve.get(&format!("/api/jobs/{old}"));
    assert_eq!(superseded["state"], "superseded");
    let partial = scenarios(&superseded);
    assert!(partial > 0 && partial < 2_000_000, "{superseded}");
    assert_eq!(superseded["outputs"]["price"]["count"], partial);
    let ids: Vec<Value> = serve
        .get("/api/jobs")
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    assert_eq!(ids, [Value::from(new), Value::from(old)]);

    let queues = serve.get("/api/queues");
    let names: Vec<&str> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&prefix.topology().scenarios_queue().as_str()),
        "{queues}"
    );
    assert!(
        names.contains(&prefix.topology().dead_letter_queue().as_str()),
        "{queues}"
    );

    let seen = |c: &Value| c[0]["seen_state"].as_str().unwrap_or_default().to_string();
    let active = serve.wait_for("/api/consumers", |c| seen(c) == "active");
    assert_eq!(active[0]["id"], "c1");
    consumer.kill();
    let lost = serve.wait_for("/api/consumers", |c| seen(c) == "lost");
    assert!(lost[0]["silent_s"].as_f64().unwrap() >= 5.0, "{lost}");
}

/// A multipart upload of `model` and a spec text.
fn upload(serve: &Serve, model: &Path, spec: &str, token: &str) -> (u16, Value) {
    let wasm = std::fs::read(model).unwrap();
    let mut body = Vec::new();
    for (name, file, bytes) in [
        ("model", "pricing.wasm", &wasm[..]),
        ("spec", "vars.toml", spec.as_bytes()),
    ] {
        body.extend_from_slice(
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    let mut response = ureq::post(&format!("{}/api/jobs", serve.url))
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

#[test]
fn a_job_uploaded_to_the_api_runs_and_a_bad_spec_is_refused_with_its_fault() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&prefix, &dir.path().join("history.sqlite3"));
    let _consumer = Consumer::start(&prefix, "c1");
    let (model, spec) = pricing();
    let spec = std::fs::read_to_string(spec).unwrap();

    let (status, body) = upload(&serve, &model, &spec, "not-the-token");
    assert_eq!(status, 401, "uploads need the token: {body}");
    let bad = spec.replace("strike   =", "strik    =");
    let (status, body) = upload(&serve, &model, &bad, TOKEN);
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("strik") && error.contains("strike"),
        "{error}"
    );
    assert_eq!(
        serve.get("/api/jobs"),
        Value::Array(vec![]),
        "nothing was submitted"
    );

    let huge = spec.replace("scenarios = 1_000_000", "scenarios = 2_000_000");
    let (status, body) = upload(&serve, &model, &huge, TOKEN);
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"],
        "vars.toml: simulation.scenarios is 2000000, more than this server takes (1000000); \
         split the job or ask the operator to raise --max-scenarios"
    );
    let small = spec.replace("scenarios = 1_000_000", "scenarios = 20480");
    let (status, body) = upload(&serve, &model, &small, TOKEN);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["scenarios"], 20480);
    let id = body["id"].as_str().unwrap();
    let done = serve.wait_for_job(id, ended);
    assert_eq!(done["state"], "completed", "{done}");
    check_same_as_embedded(&done, "20480");
}

#[test]
fn garbage_on_the_coordinators_queues_is_dead_lettered_with_a_reason() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&prefix, &dir.path().join("history.sqlite3"));
    // Serve has bound its queues once its API answers with the queues' depths.
    serve.wait_for("/api/queues", |q| {
        q.as_array().is_some_and(|q| !q.is_empty())
    });
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "garbage")
            .await
            .unwrap();
        let ch = confirming_channel(&conn).await;
        for exchange in [topology.results_exchange(), topology.jobs_exchange()] {
            ch.basic_publish(
                exchange.as_str().into(),
                "".into(),
                lapin::options::BasicPublishOptions::default(),
                b"\x00 not msgpack at all",
                lapin::BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
    });
    wait_for_queue_messages(&topology.dead_letter_queue(), 2);
    let headers = runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "inspect")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let mut headers = Vec::new();
        for _ in 0..2 {
            let got = ch
                .basic_get(
                    topology.dead_letter_queue().into(),
                    lapin::options::BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap()
                .expect("a dead letter");
            headers.push(
                got.delivery
                    .properties
                    .headers()
                    .clone()
                    .unwrap_or_default(),
            );
        }
        headers
    });
    let mut from: Vec<String> = headers
        .iter()
        .map(|h| {
            let text = |name: &str| match h.inner().get(name) {
                Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
                other => panic!("{name}: {other:?}"),
            };
            assert!(text(mcp_broker_amqp::REASON_HEADER).starts_with("not an mcp message"));
            text(mcp_broker_amqp::QUEUE_HEADER)
        })
        .collect();
    from.sort();
    let mut expected = vec![topology.jobs_queue(), topology.results_queue()];
    expected.sort();
    assert_eq!(from, expected);
    assert_eq!(
        serve.get("/api/jobs"),
        Value::Array(vec![]),
        "the coordinator carries on"
    );
}
