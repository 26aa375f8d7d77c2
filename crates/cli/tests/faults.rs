//! The broker connection under faults and in the open: a broker that is not there when the roles
//! start, `amqps://` with a private CA, and broker credentials that must never show.

use super::distributed::{
    Prefix, broker_url, check_same_as_embedded, rabbitmqctl, runtime, shared,
};
use super::serve::Serve;
use super::*;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The lines a child process prints on one stream, collected as they come.
struct Lines {
    incoming: mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    fn of(stream: impl Read + Send + 'static) -> Lines {
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

    /// Waits (at most a minute) for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => panic!("never printed {needle:?}; so far:\n{}", self.seen),
            }
        }
    }

    /// Everything printed so far.
    fn text(&mut self) -> &str {
        while let Ok(line) = self.incoming.try_recv() {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        &self.seen
    }
}

/// A child process with its stderr collected, killed when dropped.
struct Role {
    child: Child,
    stderr: Lines,
}

impl Role {
    fn spawn(mut command: Command) -> Role {
        let mut child = command.stderr(Stdio::piped()).spawn().expect("start mcp");
        let stderr = Lines::of(child.stderr.take().unwrap());
        Role { child, stderr }
    }

    /// Waits (at most two minutes) for the process to exit; returns its status and stdout.
    fn finish(&mut self) -> (std::process::ExitStatus, String) {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, stdout);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit",
                self.child.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mcp_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    command
}

fn consumer_command(broker: &str, prefix: &Prefix, id: &str) -> Command {
    let mut command = mcp_command(&["consumer", "--broker", broker, "--prefix", &prefix.0]);
    command
        .args(["--id", id, "--threads", "1"])
        .env_remove("MCP_BROKER_CA");
    command
}

/// `mcp serve` on `broker` with a fresh history in `dir`, its stderr piped.
fn serve_command(broker: &str, prefix: &Prefix, dir: &Path) -> Command {
    let mut command = Serve::command(broker, prefix, &dir.join("history.sqlite3"));
    command.stderr(Stdio::piped());
    command
}

/// `mcp submit pricing --wait --json` on `broker`.
fn submit_command(broker: &str, prefix: &Prefix, scenarios: &str) -> Command {
    let (model, spec) = pricing();
    let mut command = mcp_command(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenarios",
        scenarios,
        "--broker",
        broker,
        "--prefix",
        &prefix.0,
        "--wait",
        "--json",
    ]);
    command.stdout(Stdio::piped());
    command
}

/// The address of the test broker's plain AMQP listener.
fn broker_address() -> SocketAddr {
    let url = broker_url();
    let host = url
        .rsplit_once('@')
        .map_or(url.as_str(), |(_, h)| h)
        .trim_start_matches("amqp://");
    let host = host.split('/').next().unwrap();
    std::net::ToSocketAddrs::to_socket_addrs(host)
        .unwrap()
        .next()
        .unwrap()
}

/// A loopback port nothing listens on (just released by the kernel).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Forwards every connection to `listener` to `to`: a broker that comes up late.
fn forward(listener: TcpListener, to: SocketAddr) {
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(upstream) = TcpStream::connect(to) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                (upstream, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
}

/// Declares `prefix`'s topology and binds the coordinator's queues, as a `mcp serve` that ran
/// on this broker before would have left them: then no announcement or result is missed,
/// whichever role reaches the broker first.
fn coordinator_ran_before(prefix: &Prefix) {
    let topology = prefix.topology();
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(&broker_url(), "setup")
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        topology.declare(&ch).await.unwrap();
        for (queue, exchange) in [
            (topology.results_queue(), topology.results_exchange()),
            (topology.jobs_queue(), topology.jobs_exchange()),
        ] {
            topology.bind(&ch, &queue, &exchange, "").await.unwrap();
        }
    });
}

#[test]
fn every_role_waits_for_a_broker_that_is_not_there_yet() {
    let _broker = shared();
    let prefix = Prefix::new();
    coordinator_ran_before(&prefix);
    let port = free_port();
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let waiting = format!("waiting for RabbitMQ at amqp://guest:***@127.0.0.1:{port}/%2f");
    let dir = tempfile::tempdir().unwrap();

    let mut consumer = Role::spawn(consumer_command(&url, &prefix, "early"));
    let mut serve = Serve::spawn(serve_command(&url, &prefix, dir.path()));
    let mut serve_log = Lines::of(serve.take_stderr());
    let mut submit = Role::spawn(submit_command(&url, &prefix, "40000"));
    // Each role says what it waits for, and keeps trying.
    consumer.stderr.wait_for(&waiting);
    serve_log.wait_for(&waiting);
    submit.stderr.wait_for(&waiting);
    submit.stderr.wait_for("retrying in 0.50 s");

    forward(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        broker_address(),
    );
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "40000");
    let jobs = serve.wait_for("/api/jobs", |jobs| jobs[0]["state"] == "completed");
    assert_eq!(jobs[0]["scenarios"], 40000, "{jobs}");
}

/// The TLS listener of the test broker, and the CA that signed its certificate.
fn tls() -> (String, String) {
    (
        std::env::var("MCP_TEST_BROKER_TLS")
            .unwrap_or_else(|_| "amqps://guest:guest@localhost:5671/%2f".into()),
        std::env::var("MCP_TEST_BROKER_CA")
            .unwrap_or_else(|_| "/etc/rabbitmq/mcp-test-tls/ca.pem".into()),
    )
}

#[test]
fn amqps_with_a_private_ca_gives_the_embedded_answer() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (url, ca) = tls();
    let _consumers: Vec<Role> = ["a", "b"]
        .iter()
        .map(|id| {
            let mut command = consumer_command(&url, &prefix, id);
            command.args(["--broker-ca", &ca]);
            Role::spawn(command)
        })
        .collect();
    let mut command = submit_command(&url, &prefix, "50000");
    command.env("MCP_BROKER_CA", &ca);
    let mut submit = Role::spawn(command);
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "50000");
}

#[test]
fn a_broker_certificate_nobody_trusts_is_refused() {
    let (url, _) = tls();
    let prefix = Prefix::new();
    let out = mcp_command(&["control", "pause", "--broker", &url, "--prefix", &prefix.0])
        .env_remove("MCP_BROKER_CA")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("could not connect to RabbitMQ at amqps://guest:***@localhost:5671"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "guest:guest").unwrap();
    let out = mcp_command(&["control", "pause", "--broker", &url])
        .args(["--broker-ca", not_pem.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("holds no PEM certificate"),
        "{}",
        stderr(&out)
    );
}

/// A RabbitMQ user that exists for one test.
struct BrokerUser {
    name: String,
    password: String,
}

impl BrokerUser {
    fn new() -> BrokerUser {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let user = BrokerUser {
            name: format!("mcp-test-{}", std::process::id()),
            password: format!("pw-{nanos:x}-never-shown"),
        };
        rabbitmqctl(&["add_user", &user.name, &user.password]);
        rabbitmqctl(&["set_permissions", "-p", "/", &user.name, ".*", ".*", ".*"]);
        user
    }
}

impl Drop for BrokerUser {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_user", &self.name])
            .output();
    }
}

/// Whether a process's command line or environment holds `secret` (what `ps e` shows).
fn process_shows(pid: u32, secret: &str) -> bool {
    ["cmdline", "environ"].iter().any(|f| {
        let bytes = std::fs::read(format!("/proc/{pid}/{f}")).unwrap();
        String::from_utf8_lossy(&bytes).contains(secret)
    })
}

#[test]
fn broker_credentials_never_show_in_ps_logs_or_the_api() {
    let _broker = shared();
    let prefix = Prefix::new();
    let user = BrokerUser::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, format!("{}:{}\n", user.name, user.password)).unwrap();
    let address = broker_address();
    // No credentials in the URL; they come from the file, with every log line switched on.
    let url = format!("amqp://{address}/%2f");
    let with_secret = |mut command: Command| {
        command
            .env("MCP_BROKER_CREDENTIALS", &file)
            .env("RUST_LOG", "debug");
        command
    };

    let mut consumer = Role::spawn(with_secret(consumer_command(&url, &prefix, "secretive")));
    let mut serve = Serve::spawn(with_secret(serve_command(&url, &prefix, dir.path())));
    let mut serve_log = Lines::of(serve.take_stderr());
    let mut submit = Role::spawn(with_secret(submit_command(&url, &prefix, "20000")));
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "20000");
    let jobs = serve.wait_for("/api/jobs", |jobs| jobs[0]["state"] == "completed");
    serve.wait_for("/api/consumers", |c| c.to_string().contains("secretive"));

    let secret = &user.password;
    for (pid, what) in [(consumer.child.id(), "consumer"), (serve.pid(), "serve")] {
        assert!(
            !process_shows(pid, secret),
            "ps shows the password of mcp {what}"
        );
    }
    let id = jobs[0]["id"].as_str().unwrap();
    for path in [
        "/api/jobs",
        &format!("/api/jobs/{id}"),
        "/api/consumers",
        "/api/queues",
    ] {
        let body = serve.get(path).to_string();
        assert!(
            !body.contains(secret),
            "GET {path} shows the password: {body}"
        );
    }
    for (log, what) in [
        (consumer.stderr.text().to_string(), "consumer"),
        (serve_log.text().to_string(), "serve"),
        (submit.stderr.text().to_string(), "submit"),
        (stdout, "submit's stdout"),
    ] {
        assert!(
            !log.is_empty() || what == "submit's stdout",
            "mcp {what} logged nothing"
        );
        assert!(
            !log.contains(secret),
            "mcp {what} logged the password:\n{log}"
        );
    }
}
