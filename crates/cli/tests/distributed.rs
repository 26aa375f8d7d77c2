//! Distributed mode over a real RabbitMQ (`MCP_TEST_BROKER`, started by `cargo xtask test`):
//! `mcp consumer` processes and `mcp submit --broker --wait`, each test under its own prefix.
//! Every test checks exact totals, and that the outputs equal the embedded run's, bit for bit.

use super::*;
use futures_lite::StreamExt;
use lapin::BasicProperties;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mcp_broker_amqp::Topology;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Tests share the broker; the one that restarts it takes it for itself.
static BROKER: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub(crate) fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    BROKER.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn broker_url() -> String {
    std::env::var("MCP_TEST_BROKER")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A fresh prefix, whose queues and exchanges are deleted when it goes.
pub(crate) struct Prefix(pub(crate) String);

impl Prefix {
    pub(crate) fn new() -> Prefix {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        Prefix(format!(
            "mcp-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    pub(crate) fn topology(&self) -> Topology {
        Topology::new(&self.0)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let topology = self.topology();
        let _ = runtime().block_on(async {
            let conn = mcp_broker_amqp::connect(&broker_url(), "cleanup").await?;
            let ch = conn.create_channel().await?;
            topology.delete(&ch).await
        });
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An `mcp consumer` process, killed (SIGKILL) when dropped.
pub(crate) struct Consumer(pub(crate) Child);

impl Consumer {
    pub(crate) fn start(prefix: &Prefix, id: &str) -> Consumer {
        let child = Command::new(env!("CARGO_BIN_EXE_mcp"))
            .args(["consumer", "--broker", &broker_url(), "--prefix", &prefix.0])
            .args(["--id", id, "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcp consumer");
        Consumer(child)
    }

    /// Waits (at most a minute) for the process to exit by itself.
    fn exit_status(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the consumer did not exit"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn submit_args<'a>(
    prefix: &'a Prefix,
    model: &'a str,
    spec: &'a str,
    n: &'a str,
) -> Vec<String> {
    [
        "submit",
        model,
        "--spec",
        spec,
        "--scenarios",
        n,
        "--broker",
        &broker_url(),
        "--prefix",
        &prefix.0,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running `mcp submit --wait`, killed if the test ends before it does.
struct Submit(Option<Child>);

impl Drop for Submit {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `mcp submit --wait --json` on the broker, started as a child process.
fn start_wait(prefix: &Prefix, scenarios: &str) -> Submit {
    let (model, spec) = pricing();
    let mut args = submit_args(
        prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        scenarios,
    );
    args.extend(["--wait".to_string(), "--json".to_string()]);
    let child = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcp submit");
    Submit(Some(child))
}

fn finish(mut submit: Submit) -> Value {
    let child = submit.0.take().expect("a running submit");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "submit failed:\n{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The embedded summary of the pricing job with `scenarios` scenarios.
pub(crate) fn embedded(scenarios: &str) -> Value {
    let (model, spec) = pricing();
    submit_json(&model, &spec, &["--scenarios", scenarios])
}

pub(crate) fn check_same_as_embedded(distributed: &Value, scenarios: &str) {
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

#[test]
fn two_consumers_give_the_embedded_answer() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = Consumer::start(&prefix, "a");
    let _b = Consumer::start(&prefix, "b");
    let summary = finish(start_wait(&prefix, "60000"));
    check_same_as_embedded(&summary, "60000");
}

#[test]
fn failed_scenarios_are_counted_the_same_as_embedded() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = Consumer::start(&prefix, "a");
    let _b = Consumer::start(&prefix, "b");
    let (_dir, spec) = spec_file(super::jobs::FAULTY);
    let model = model_path("faulty");
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let mut args = submit_args(&prefix, m, s, "3000");
    args.extend(["--wait".to_string(), "--json".to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let distributed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = submit_json(&model, &spec, &[]);
    assert!(
        local["failed"].as_u64().unwrap() > 0,
        "the spec makes scenarios fail"
    );
    assert_eq!(distributed["failed"], local["failed"]);
    assert_eq!(distributed["scenarios"], local["scenarios"]);
    assert_eq!(
        serde_json::to_string(&distributed["outputs"]).unwrap(),
        serde_json::to_string(&local["outputs"]).unwrap()
    );
}

#[test]
fn a_consumer_started_after_the_submit_takes_the_job() {
    let _broker = shared();
    let prefix = Prefix::new();
    let submit = start_wait(&prefix, "30000");
    // The job is published before any consumer exists; the late one finds model and batches.
    wait_for_queue_messages(&prefix.topology().scenarios_queue(), 1);
    let _late = Consumer::start(&prefix, "late");
    check_same_as_embedded(&finish(submit), "30000");
}

#[test]
fn a_consumer_killed_mid_job_loses_nothing() {
    let _broker = shared();
    let prefix = Prefix::new();
    let mut victim = Consumer::start(&prefix, "victim");
    let _survivor = Consumer::start(&prefix, "survivor");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    // Kill one consumer as soon as results flow, with batches in flight.
    results.wait_for_first();
    victim.kill();
    check_same_as_embedded(&finish(submit), "300000");
}

#[test]
fn a_poison_batch_is_dead_lettered_and_the_job_still_completes() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "poison")
            .await
            .unwrap();
        let ch = confirming_channel(&conn).await;
        topology.declare(&ch).await.unwrap();
        ch.basic_publish(
            "".into(),
            topology.scenarios_queue().into(),
            BasicPublishOptions::default(),
            b"\xff\xfe garbage, not a batch",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    });
    let _c = Consumer::start(&prefix, "c");
    check_same_as_embedded(&finish(start_wait(&prefix, "20000")), "20000");
    assert_eq!(queue_messages(&topology.dead_letter_queue()), 1);
    // It is kept as it came, with why and where from.
    let (data, headers) = runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "inspect")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let got = ch
            .basic_get(
                topology.dead_letter_queue().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
            .expect("the dead letter");
        let headers = got
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        (got.delivery.data.clone(), headers)
    });
    assert_eq!(data, b"\xff\xfe garbage, not a batch");
    let header = |name: &str| match headers.inner().get(name) {
        Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(header(mcp_broker_amqp::REASON_HEADER).starts_with("not an mcp message"));
    assert_eq!(
        header(mcp_broker_amqp::QUEUE_HEADER),
        topology.scenarios_queue()
    );
}

#[test]
fn a_model_that_does_not_load_has_its_batches_dead_lettered_and_the_consumer_lives() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    // A producer that skipped validation: the model's bytes are not Wasm.
    let spec = mcp_spec::Spec::parse(
        "[simulation]\nscenarios = 3\nseed = 1\nbatch = 1\n[variables]\nx = { dist = \"constant\", value = 1 }\n",
        "vars.toml",
    )
    .unwrap();
    let model = mcp_protocol::JobModel {
        job: "broken".into(),
        info: mcp_protocol::ModelInfo {
            name: "broken".into(),
            version: "1".into(),
            inputs: vec!["x".into()],
            outputs: vec!["y".into()],
            digest: "sha256:00".into(),
        },
        spec,
        wasm: b"not wasm at all".to_vec(),
    };
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "broken")
            .await
            .unwrap();
        let ch = confirming_channel(&conn).await;
        topology.declare(&ch).await.unwrap();
        let publish = |queue: String, body: Vec<u8>| {
            let ch = ch.clone();
            async move {
                ch.basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
            }
        };
        publish(topology.model_queue(), mcp_protocol::encode(&model)).await;
        for index in 0..3 {
            let message = mcp_protocol::BatchMessage {
                job: "broken".into(),
                batch: mcp_protocol::ScenarioBatch {
                    index,
                    start: index,
                    count: 1,
                },
            };
            publish(topology.scenarios_queue(), mcp_protocol::encode(&message)).await;
        }
    });
    let mut consumer = Consumer::start(&prefix, "c");
    wait_for_queue(&topology.dead_letter_queue(), |ready, _| ready == 3);
    assert!(
        consumer.0.try_wait().unwrap().is_none(),
        "the consumer must survive a broken model"
    );
    // And it still takes real work.
    check_same_as_embedded(&finish(start_wait(&prefix, "10240")), "10240");
}

#[test]
fn a_new_submission_supersedes_the_running_job() {
    let _broker = shared();
    let prefix = Prefix::new();
    // Job A is published with no consumer running, then job B, which supersedes it: A's
    // batches are first in the queue, but B's model is the current one, so consumers discard
    // A's batches, and whoever waits for A is told.
    let (model, spec) = pricing();
    let args = submit_args(
        &prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        "200000",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let job_a = stdout(&out).trim().to_string();
    assert!(!job_a.is_empty(), "submit without --wait prints the job id");
    let waiter_a = start_wait(&prefix, "100000");
    wait_for_queue(&prefix.topology().scenarios_queue(), |ready, _| {
        ready >= 196 + 98
    });
    let submit_b = start_wait(&prefix, "40000");
    wait_for_queue(&prefix.topology().scenarios_queue(), |ready, _| {
        ready >= 196 + 98 + 40
    });
    let _c = Consumer::start(&prefix, "c");
    check_same_as_embedded(&finish(submit_b), "40000");
    let mut waiter_a = waiter_a;
    let out = waiter_a.0.take().unwrap().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(" was superseded by job "),
        "{}",
        stderr(&out)
    );
    let partial: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(partial["scenarios"], 0, "none of A's batches ran");
}

pub(crate) fn control(prefix: &Prefix, args: &[&str]) {
    let url = broker_url();
    let mut all = vec!["control"];
    all.extend_from_slice(args);
    all.extend(["--broker", &url, "--prefix", &prefix.0]);
    let out = mcp(&all);
    assert!(out.status.success(), "mcp {all:?}: {}", stderr(&out));
}

#[test]
fn a_paused_consumer_takes_no_batches_until_resumed() {
    let _broker = shared();
    let prefix = Prefix::new();
    let scenarios = prefix.topology().scenarios_queue();
    let _c = Consumer::start(&prefix, "c");
    wait_for_queue(&scenarios, |_, consumers| consumers == 1);
    control(&prefix, &["pause", "--consumer", "c"]);
    // Pausing cancels the consumer's subscription: the queue sees no consumer at all.
    wait_for_queue(&scenarios, |_, consumers| consumers == 0);
    let submit = start_wait(&prefix, "20480");
    wait_for_queue(&scenarios, |ready, consumers| ready == 20 && consumers == 0);
    control(&prefix, &["resume"]);
    check_same_as_embedded(&finish(submit), "20480");
}

/// Runs a job on one consumer, stops it with `stop` once results flow, checks that it exits 0,
/// and lets a second consumer finish the job with exact totals.
fn drain_mid_job(stop: impl FnOnce(&Prefix, &Consumer)) {
    let prefix = Prefix::new();
    let mut first = Consumer::start(&prefix, "first");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    results.wait_for_first();
    stop(&prefix, &first);
    assert!(first.exit_status().success(), "a drained consumer exits 0");
    let _second = Consumer::start(&prefix, "second");
    check_same_as_embedded(&finish(submit), "300000");
}

#[test]
fn a_drained_consumer_exits_cleanly_and_another_finishes_the_job() {
    let _broker = shared();
    drain_mid_job(|prefix, _| control(prefix, &["drain", "--consumer", "first"]));
}

#[test]
fn sigterm_drains_a_consumer() {
    let _broker = shared();
    drain_mid_job(|_, consumer| {
        let pid = consumer.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    });
}

#[test]
fn credentials_come_from_a_file_and_are_never_printed() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "guest:guest\n").unwrap();
    let (host, file_arg) = ("amqp://127.0.0.1:5672/%2f", file.to_str().unwrap());
    let ok = mcp(&[
        "control",
        "pause",
        "--broker",
        host,
        "--broker-credentials",
        file_arg,
        "--prefix",
        &prefix.0,
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let refused = mcp(&[
        "control",
        "pause",
        "--broker",
        "amqp://guest:hunter2@127.0.0.1:5672/%2f",
        "--prefix",
        &prefix.0,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains("amqp://guest:***@127.0.0.1:5672/%2f"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "the password leaked: {text}");
}

#[test]
fn a_queue_with_other_arguments_stops_a_consumer_with_the_fix() {
    let _broker = shared();
    let prefix = Prefix::new();
    let results = prefix.topology().results_queue();
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "misconfigure")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let mut other = FieldTable::default();
        other.insert(
            "x-max-length".into(),
            lapin::types::AMQPValue::LongLongInt(7),
        );
        ch.queue_declare(
            results.as_str().into(),
            QueueDeclareOptions::durable(),
            other,
        )
        .await
        .unwrap();
    });
    // Retrying cannot help, so the consumer does not wait for the broker: it stops and says why.
    let mut consumer = Consumer::start(&prefix, "c");
    assert_eq!(consumer.exit_status().code(), Some(1));
}

#[test]
fn consumers_send_heartbeats() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _c = Consumer::start(&prefix, "beat");
    let queue = prefix.topology().consumer_stats_queue();
    wait_for_queue(&queue, |ready, _| ready >= 1);
    let status: mcp_protocol::ConsumerStatus = runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "heartbeat")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let m = ch
            .basic_get(
                queue.as_str().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
            .expect("a heartbeat");
        mcp_protocol::decode(&m.delivery.data).unwrap()
    });
    assert_eq!(status.id, "beat");
    assert!(!status.host.is_empty());
    assert_eq!(status.state, mcp_protocol::ConsumerState::Active);
    assert!(status.rss_bytes > 1 << 20, "rss {}", status.rss_bytes);
    assert!(status.sent_at_ms > 1_700_000_000_000);
}

#[test]
fn a_broker_restart_mid_job_loses_nothing() {
    let _broker = BROKER.write().unwrap_or_else(|e| e.into_inner());
    let prefix = Prefix::new();
    let _a = Consumer::start(&prefix, "a");
    let _b = Consumer::start(&prefix, "b");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    results.wait_for_first();
    rabbitmqctl(&["stop_app"]);
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    check_same_as_embedded(&finish(submit), "300000");
}

/// A channel whose publishes the broker confirms: awaiting a publish then means the broker has
/// the message (without confirms, dropping the connection can lose messages still in flight).
pub(crate) async fn confirming_channel(conn: &lapin::Connection) -> lapin::Channel {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    ch
}

pub(crate) fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl must be on PATH (cargo xtask test installs RabbitMQ)");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        stderr(&out)
    );
}

/// Messages ready in `queue`; 0 while it does not exist yet.
fn queue_messages(queue: &str) -> u32 {
    queue_state(queue).0
}

/// Polls until `queue`'s (ready messages, consumers) satisfy `done`.
fn wait_for_queue(queue: &str, done: impl Fn(u32, u32) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (ready, consumers) = queue_state(queue);
        if done(ready, consumers) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{queue} stayed at {ready} ready, {consumers} consumers"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// (Messages ready, consumers) of `queue`; (0, 0) while it does not exist yet.
fn queue_state(queue: &str) -> (u32, u32) {
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "inspect")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match ch
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
        {
            Ok(q) => (q.message_count(), q.consumer_count()),
            Err(e) if e.to_string().contains("NOT_FOUND") => (0, 0),
            Err(e) => panic!("inspecting {queue}: {e}"),
        }
    })
}

/// Polls until `queue` holds at least `n` messages (the broker is the synchronisation point).
pub(crate) fn wait_for_queue_messages(queue: &str, n: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while queue_messages(queue) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{queue} never held {n} messages"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A private queue on the results exchange, to see results as they flow.
struct ResultTap {
    runtime: tokio::runtime::Runtime,
    consumer: lapin::Consumer,
    _conn: lapin::Connection,
}

impl ResultTap {
    fn new(prefix: &Prefix) -> ResultTap {
        let runtime = runtime();
        let topology = prefix.topology();
        let (conn, consumer) = runtime.block_on(async {
            let conn = mcp_broker_amqp::connect(&broker_url(), "tap")
                .await
                .unwrap();
            let ch = conn.create_channel().await.unwrap();
            topology.declare(&ch).await.unwrap();
            let q = ch
                .queue_declare(
                    "".into(),
                    QueueDeclareOptions {
                        exclusive: true,
                        auto_delete: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            let name = q.name().to_string();
            topology
                .bind(&ch, &name, &topology.results_exchange(), "")
                .await
                .unwrap();
            let consumer = ch
                .basic_consume(
                    name.into(),
                    "tap".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            (conn, consumer)
        });
        ResultTap {
            runtime,
            consumer,
            _conn: conn,
        }
    }

    fn wait_for_first(mut self) {
        let first = self.runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(60), self.consumer.next()).await
        });
        assert!(matches!(first, Ok(Some(Ok(_)))), "no result arrived");
    }
}
