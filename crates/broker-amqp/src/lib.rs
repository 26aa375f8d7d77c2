//! The RabbitMQ transport: the queue topology every role declares, and the AMQP connection.
//!
//! The only crate that knows lapin. Every name lives under a prefix (`mcp` by default) so that
//! several installations, or several tests, share one broker without meeting. Declaring is
//! idempotent: every role declares the whole topology when it starts, and a queue that already
//! exists with other arguments is reported with the command that removes it. The roles reach the
//! broker only through the link traits of `mcp-broker`.

pub mod topology;

pub use topology::{Topology, TopologyError};

/// Connects to `url` (`amqp://user:pass@host:port/vhost`), naming the connection `name` in
/// the broker's management tools.
pub async fn connect(url: &str, name: &str) -> Result<lapin::Connection, lapin::Error> {
    let properties = lapin::ConnectionProperties::default().with_connection_name(name.into());
    lapin::Connection::connect(url, properties).await
}
