//! The broker connection under faults and in the open: a broker that is not there when the roles
//! start, `amqps://` with a private CA, and broker credentials that must never show.

use crate::support::broker::*;
use crate::support::serve::Serve;
use crate::support::*;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

/// `mcp serve` on `broker` with a fresh history in `dir`, its stderr piped.
fn serve_command(broker: &str, prefix: &Prefix, dir: &Path) -> Command {
    let mut command = Serve::command(broker, prefix, &dir.join("history.sqlite3"));
    command.stderr(Stdio::piped());
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
    let (runtime, conn) = connect("setup");
    runtime.block_on(async {
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
    let mut submit = Role::spawn(submit_wait_command(&url, &prefix, "40000"));
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
    let mut command = submit_wait_command(&url, &prefix, "50000");
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
    let user = BrokerUser::new("secretive", [".*", ".*", ".*"]);
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
    let mut submit = Role::spawn(with_secret(submit_wait_command(&url, &prefix, "20000")));
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "20000");
    let jobs = serve.wait_for("/api/jobs", |jobs| jobs[0]["state"] == "completed");
    serve.wait_for("/api/consumers", |c| c.to_string().contains("secretive"));

    let secret = &user.password;
    for (pid, what) in [
        (consumer.process.id(), "consumer"),
        (serve.process.id(), "serve"),
    ] {
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
