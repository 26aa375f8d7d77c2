//! The RabbitMQ transport: the queue topology every role declares, and each role's link.
//!
//! The only crate that knows lapin. Every name lives under a prefix (`mcp` by default) so that
//! several installations, or several tests, share one broker without meeting. Declaring is
//! idempotent: every role declares the whole topology when it starts, and a queue that already
//! exists with other arguments is reported with the command that removes it. One module per
//! link, mirroring the traits of `mcp-broker`: [`producer`], [`consumer`] (a thread's link and
//! a process's session), [`coordinator`] (`mcp serve`'s link and a follower's), [`control`];
//! [`connection`] opens them all.

pub mod connection;
pub mod consumer;
pub mod control;
pub mod coordinator;
mod delivery;
mod listener;
pub mod producer;
mod refusal;
pub mod topology;

pub use connection::AmqpBroker;
pub use consumer::{AmqpConsumer, AmqpConsumerSession, RESULTS_IN_FLIGHT};
pub use control::AmqpController;
pub use coordinator::AmqpCoordinator;
pub use delivery::{JOB_QUEUE_EXPIRES_MS, QUEUE_HEADER, REASON_HEADER};
pub use producer::{AmqpProducer, MAX_UNCONFIRMED};
pub use refusal::user_and_vhost;
pub use topology::{BrokerRole, Topology, TopologyError};

/// `url` with its credentials replaced by `credentials` (`user:password`), which are
/// percent-encoded, so that secrets can live in a file instead of on the command line.
pub fn with_credentials(url: &str, credentials: &str) -> Result<String, String> {
    let (user, password) = credentials
        .trim()
        .split_once(':')
        .ok_or("credentials must read user:password")?;
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{}` is not an amqp:// or amqps:// URL", redact(url)))?;
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    Ok(format!(
        "{scheme}://{}:{}@{host}",
        percent_encode(user),
        percent_encode(password)
    ))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Extra CA certificates (PEM) that `amqps://` connections of this process trust.
static EXTRA_CA: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every later `amqps://` connection of this process trust the CA certificates in `pem`
/// besides the system's. The first call wins: a process talks to one broker.
pub fn trust_ca_certificates(pem: String) -> Result<(), String> {
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    let _ = EXTRA_CA.set(pem);
    Ok(())
}

/// Connects to `url` (`amqp://user:pass@host:port/vhost`, or `amqps://` for TLS, checked
/// against the system's CA certificates and those given to [`trust_ca_certificates`]), naming
/// the connection `name` in the broker's management tools.
pub async fn connect(url: &str, name: &str) -> Result<lapin::Connection, lapin::Error> {
    let properties = lapin::ConnectionProperties::default().with_connection_name(name.into());
    let tls = lapin::tcp::OwnedTLSConfig {
        identity: None,
        cert_chain: EXTRA_CA.get().cloned(),
    };
    lapin::Connection::connect_with_config(url, properties, tls, lapin::runtime::default_runtime()?)
        .await
}

#[cfg(test)]
mod tests {
    use super::{redact, with_credentials};

    #[test]
    fn credentials_from_a_file_replace_those_of_the_url() {
        assert_eq!(
            with_credentials("amqp://guest:guest@rabbit:5672/%2f", "mcp:s3cr@t/x\n").unwrap(),
            "amqp://mcp:s3cr%40t%2Fx@rabbit:5672/%2f"
        );
        assert_eq!(
            with_credentials("amqps://rabbit/vh", "u:p").unwrap(),
            "amqps://u:p@rabbit/vh"
        );
        assert_eq!(
            with_credentials("rabbit:5672", "u:p").unwrap_err(),
            "`rabbit:5672` is not an amqp:// or amqps:// URL"
        );
        assert_eq!(
            with_credentials("amqp://rabbit", "nopassword").unwrap_err(),
            "credentials must read user:password"
        );
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqps://u:p@w:rd@host/vh"), "amqps://u:***@host/vh");
        assert_eq!(redact("amqp://127.0.0.1:5672"), "amqp://127.0.0.1:5672");
    }
}
