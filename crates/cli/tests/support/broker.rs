//! The test broker (`MCP_TEST_BROKER`, started by `cargo xtask test`): a fresh prefix per test,
//! `mcp consumer` and `mcp submit` processes on it, and the broker's own view of its queues,
//! which is what tests synchronise on.

use super::{PATIENCE, Process, mcp, mcp_command, pricing, stderr};
use futures_lite::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mcp_broker_amqp::Topology;
use mcp_testkit::within;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Tests share the broker; the one that restarts it takes it for itself.
static BROKER: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// The broker, shared with the other tests.
pub fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    BROKER.read().unwrap_or_else(|e| e.into_inner())
}

/// The broker, for this test alone (it restarts it).
pub fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    BROKER.write().unwrap_or_else(|e| e.into_inner())
}

pub fn broker_url() -> String {
    std::env::var("MCP_TEST_BROKER")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A fresh prefix, whose queues and exchanges are deleted when it goes.
pub struct Prefix(pub String);

impl Prefix {
    pub fn new() -> Prefix {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        Prefix(format!(
            "mcp-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    pub fn topology(&self) -> Topology {
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

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A connection to the test broker named `name`, on a runtime of its own.
pub fn connect(name: &str) -> (tokio::runtime::Runtime, lapin::Connection) {
    let runtime = runtime();
    let conn = runtime
        .block_on(mcp_broker_amqp::connect(&broker_url(), name))
        .unwrap();
    (runtime, conn)
}

/// The command line of `mcp consumer` `id` on `broker` under `prefix`, one thread.
pub fn consumer_command(broker: &str, prefix: &Prefix, id: &str) -> Command {
    let mut command = mcp_command(&["consumer", "--broker", broker, "--prefix", &prefix.0]);
    command
        .args(["--id", id, "--threads", "1"])
        .env_remove("MCP_BROKER_CA")
        .stderr(Stdio::null());
    command
}

/// An `mcp consumer` process on the test broker, killed (SIGKILL) when dropped.
pub fn start_consumer(prefix: &Prefix, id: &str) -> Process {
    Process::spawn(consumer_command(&broker_url(), prefix, id))
}

/// The arguments of `mcp submit MODEL --spec SPEC --scenarios N` on the test broker.
pub fn submit_args(prefix: &Prefix, model: &str, spec: &str, n: &str) -> Vec<String> {
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

/// `mcp submit MODEL --spec SPEC --scenarios N --wait --json` on the test broker, which must
/// succeed; its summary.
pub fn submit_and_wait(prefix: &Prefix, model: &Path, spec: &Path, n: &str) -> Value {
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let mut args = submit_args(prefix, m, s, n);
    args.extend(["--wait".to_string(), "--json".to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The command line of `mcp submit pricing --wait --json` on `broker` (stdout piped).
pub fn submit_wait_command(broker: &str, prefix: &Prefix, scenarios: &str) -> Command {
    let (model, spec) = pricing();
    let (model, spec) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let mut command = mcp_command(&["submit", model, "--spec", spec, "--scenarios", scenarios]);
    command
        .args([
            "--broker", broker, "--prefix", &prefix.0, "--wait", "--json",
        ])
        .stdout(Stdio::piped());
    command
}

/// `mcp submit pricing --wait --json` on the test broker, started as a child process.
pub fn start_wait(prefix: &Prefix, scenarios: &str) -> Process {
    let mut command = submit_wait_command(&broker_url(), prefix, scenarios);
    command.stderr(Stdio::piped());
    Process::spawn(command)
}

/// [`start_wait`] with one batch a message, for a test that counts the queue's messages.
pub fn start_wait_unpacked(prefix: &Prefix, scenarios: &str) -> Process {
    let mut command = submit_wait_command(&broker_url(), prefix, scenarios);
    command
        .args(["--batches-per-message", "1"])
        .stderr(Stdio::piped());
    Process::spawn(command)
}

/// Waits for a `mcp submit --wait --json` to succeed; its summary.
pub fn finish(submit: Process) -> Value {
    let out = submit.output();
    assert!(out.status.success(), "submit failed:\n{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `mcp control ARGS` on the test broker under `prefix`, which must succeed.
pub fn control(prefix: &Prefix, args: &[&str]) {
    let url = broker_url();
    let mut all = vec!["control"];
    all.extend_from_slice(args);
    all.extend(["--broker", &url, "--prefix", &prefix.0]);
    let out = mcp(&all);
    assert!(out.status.success(), "mcp {all:?}: {}", stderr(&out));
}

pub fn rabbitmqctl(args: &[&str]) {
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

/// A channel whose publishes the broker confirms: awaiting a publish then means the broker has
/// the message (without confirms, dropping the connection can lose messages still in flight).
pub async fn confirming_channel(conn: &lapin::Connection) -> lapin::Channel {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    ch
}

/// Publishes `body` to `exchange` with `key`, confirmed.
pub async fn publish_to(ch: &lapin::Channel, exchange: &str, key: &str, body: &[u8]) {
    ch.basic_publish(
        exchange.into(),
        key.into(),
        lapin::options::BasicPublishOptions::default(),
        body,
        lapin::BasicProperties::default(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

/// Takes (and acknowledges) the next message of `queue`, with its headers.
pub fn take(queue: &str) -> Option<(Vec<u8>, FieldTable)> {
    let (runtime, conn) = connect("inspect");
    runtime.block_on(async {
        let ch = conn.create_channel().await.unwrap();
        let got = ch
            .basic_get(
                queue.into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()?;
        let headers = got
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        Some((got.delivery.data.clone(), headers))
    })
}

/// The text of header `name`.
pub fn header(headers: &FieldTable, name: &str) -> String {
    match headers.inner().get(name) {
        Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("{name}: {other:?}"),
    }
}

/// (Messages ready, consumers) of `queue`; (0, 0) while it does not exist yet.
pub fn queue_state(queue: &str) -> (u32, u32) {
    let (runtime, conn) = connect("inspect");
    runtime.block_on(async {
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

/// Waits until `queue`'s (ready messages, consumers) satisfy `done`.
pub fn wait_for_queue(queue: &str, done: impl Fn(u32, u32) -> bool) {
    let mut last = (0, 0);
    let found = within(PATIENCE, || {
        last = queue_state(queue);
        done(last.0, last.1).then_some(())
    });
    found.unwrap_or_else(|| panic!("{queue} stayed at {} ready, {} consumers", last.0, last.1))
}

/// Waits until `queue` holds at least `n` messages (the broker is the synchronisation point).
pub fn wait_for_queue_messages(queue: &str, n: u32) {
    wait_for_queue(queue, |ready, _| ready >= n)
}

/// A private queue on the results exchange, to see results as they flow.
pub struct ResultTap {
    runtime: tokio::runtime::Runtime,
    consumer: lapin::Consumer,
    _conn: lapin::Connection,
}

impl ResultTap {
    pub fn new(prefix: &Prefix) -> ResultTap {
        let topology = prefix.topology();
        let (runtime, conn) = connect("tap");
        let consumer = runtime.block_on(async {
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
            ch.basic_consume(
                name.into(),
                "tap".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
        });
        ResultTap {
            runtime,
            consumer,
            _conn: conn,
        }
    }

    /// Waits for the first result to flow.
    pub fn wait_for_first(mut self) {
        let first = self
            .runtime
            .block_on(async { tokio::time::timeout(PATIENCE, self.consumer.next()).await });
        assert!(matches!(first, Ok(Some(Ok(_)))), "no result arrived");
    }
}

/// A RabbitMQ user that exists for one test, with a password that shows nowhere else.
pub struct BrokerUser {
    pub name: String,
    pub password: String,
}

impl BrokerUser {
    /// User `mcp-test-PID-TAG` with `permissions` (configure, write, read) on vhost `/`.
    pub fn new(tag: &str, permissions: [&str; 3]) -> BrokerUser {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let user = BrokerUser {
            name: format!("mcp-test-{}-{tag}", std::process::id()),
            password: format!("pw-{nanos:x}-never-shown"),
        };
        rabbitmqctl(&["add_user", &user.name, &user.password]);
        let [configure, write, read] = permissions;
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            "/",
            &user.name,
            configure,
            write,
            read,
        ]);
        user
    }

    /// The test broker's URL, with this user's credentials.
    pub fn url(&self) -> String {
        let url = broker_url();
        let host = url.rsplit_once('@').map_or(url.as_str(), |(_, h)| h);
        let host = host.trim_start_matches("amqp://");
        format!("amqp://{}:{}@{host}", self.name, self.password)
    }
}

impl Drop for BrokerUser {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_user", &self.name])
            .output();
    }
}
