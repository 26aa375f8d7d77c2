//! `cargo xtask broker`: the RabbitMQ the tests use, installed and started when it is missing,
//! with a TLS listener under a throwaway CA.

use crate::{apt_install, on_path, run};
use anyhow::{Context, Result, bail};
use mcp_testkit::within;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The brokers the tests use: plain AMQP and AMQP over TLS to the same RabbitMQ.
pub(crate) struct TestBroker {
    pub(crate) url: String,
    pub(crate) tls_url: String,
    pub(crate) ca: PathBuf,
}

/// The broker the tests use: `MCP_TEST_BROKER` (with `MCP_TEST_BROKER_TLS` and
/// `MCP_TEST_BROKER_CA`) if set; else a RabbitMQ on 127.0.0.1:5672 with a TLS listener on 5671
/// under a throwaway test CA, started (and installed, where apt-get can) when it is not running.
/// Fails, never skips, without one.
pub(crate) fn ensure_broker() -> Result<TestBroker> {
    if let Ok(url) = std::env::var("MCP_TEST_BROKER") {
        let (Ok(tls_url), Ok(ca)) = (
            std::env::var("MCP_TEST_BROKER_TLS"),
            std::env::var("MCP_TEST_BROKER_CA"),
        ) else {
            bail!(
                "MCP_TEST_BROKER is set, so the tests use that broker; also set \
                 MCP_TEST_BROKER_TLS (its amqps:// URL) and MCP_TEST_BROKER_CA (the PEM file of \
                 the CA that signed its certificate)"
            );
        };
        return Ok(TestBroker {
            url,
            tls_url,
            ca: ca.into(),
        });
    }
    const ADDR: &str = "127.0.0.1:5672";
    const TLS_ADDR: &str = "127.0.0.1:5671";
    let broker = TestBroker {
        url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
        tls_url: "amqps://guest:guest@localhost:5671/%2f".into(),
        ca: Path::new(TEST_TLS_DIR).join("ca.pem"),
    };
    if listening(ADDR) && listening(TLS_ADDR) {
        return Ok(broker);
    }
    if !on_path("rabbitmq-server") {
        if !on_path("apt-get") {
            bail!("{}", no_broker_message());
        }
        apt_install(&["rabbitmq-server"])?;
    }
    configure_test_tls()?;
    if listening(ADDR) {
        // Running without the TLS listener: it reads its configuration only when it starts.
        eprintln!("restarting RabbitMQ to open its TLS listener on {TLS_ADDR}");
        run(Command::new("rabbitmqctl").arg("stop"))?;
    }
    run(Command::new("rabbitmq-server").arg("-detached"))?;
    let up = within(Duration::from_secs(120), || {
        (listening(ADDR) && listening(TLS_ADDR)).then_some(())
    });
    if up.is_none() {
        bail!(
            "rabbitmq-server started but nothing listens on {ADDR} and {TLS_ADDR} after 120 s; \
             see /var/log/rabbitmq/"
        );
    }
    // The port opens before the node is fully booted; this returns once it is.
    run(Command::new("rabbitmqctl").args(["await_startup"]))?;
    Ok(broker)
}

/// Where the test broker's throwaway CA and certificate live.
const TEST_TLS_DIR: &str = "/etc/rabbitmq/mcp-test-tls";
/// Marks the block this task adds to rabbitmq.conf.
const TLS_CONF_MARK: &str = "# mcp test TLS listener (added by `cargo xtask test`)";

/// Makes a throwaway CA and a certificate for localhost signed by it (openssl), and has the
/// local RabbitMQ listen for TLS on 5671 with them. Test-only: the key is world-readable.
fn configure_test_tls() -> Result<()> {
    let dir = Path::new(TEST_TLS_DIR);
    if !dir.join("server.pem").is_file() {
        if !on_path("openssl") {
            apt_install(&["openssl"])?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {TEST_TLS_DIR}"))?;
        let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=mcp test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ])?;
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ])?;
        // RabbitMQ runs as its own user and must read the key.
        run(Command::new("chmod")
            .args(["644", "server.key"])
            .current_dir(dir))?;
    }
    let conf = Path::new("/etc/rabbitmq/rabbitmq.conf");
    let text = std::fs::read_to_string(conf).unwrap_or_default();
    if !text.contains(TLS_CONF_MARK) {
        let block = format!(
            "\n{TLS_CONF_MARK}\nlisteners.ssl.default = 5671\n\
             ssl_options.cacertfile = {TEST_TLS_DIR}/ca.pem\n\
             ssl_options.certfile = {TEST_TLS_DIR}/server.pem\n\
             ssl_options.keyfile = {TEST_TLS_DIR}/server.key\n\
             ssl_options.verify = verify_none\n\
             ssl_options.fail_if_no_peer_cert = false\n"
        );
        std::fs::write(conf, text + &block)
            .with_context(|| format!("could not write {}", conf.display()))?;
    }
    Ok(())
}

fn no_broker_message() -> String {
    "no RabbitMQ on 127.0.0.1:5672 and no way to install one here; start one (for example \
     `apt-get install rabbitmq-server && rabbitmq-server -detached`, or \
     `docker run -d -p 5672:5672 rabbitmq:3`) or point MCP_TEST_BROKER at one"
        .to_string()
}

fn listening(addr: &str) -> bool {
    let addr: std::net::SocketAddr = addr.parse().expect("a socket address");
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Deletes the queues a run under `prefix` left on the local broker (best effort).
pub(crate) fn delete_queues(prefix: &str) {
    for q in [
        "model",
        "scenarios",
        "results",
        "jobs",
        "stats.producer",
        "stats.consumers",
        "dead-letters",
    ] {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_queue", &format!("{prefix}.{q}")])
            .output();
    }
}
