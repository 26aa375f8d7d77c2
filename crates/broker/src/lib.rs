//! The transport between the roles: one link trait per role, and the in-memory transport.
//!
//! Producer, consumers and coordinator talk only through the traits in [`links`], so the same
//! role code runs in one process (over [`InMemoryBroker`]) or across machines (over RabbitMQ, in
//! `mcp-broker-amqp`). The in-memory broker is a bounded work queue of runs of scenario batches, so a
//! fast producer blocks instead of filling memory (backpressure), and one unbounded stream of
//! what the coordinator reads (announcements, results, heartbeats). [`Reconnect`] is how every
//! role waits for a broker that is away. This crate knows nothing of Wasm or statistics.

pub mod links;
mod memory;
mod reconnect;

pub use links::{ConsumerLink, ConsumerSession, ControlLink, CoordinatorLink, ProducerLink};
pub use memory::InMemoryBroker;
pub use reconnect::Reconnect;

use mcp_protocol::{
    ConsumerStatus, JobAnnouncement, JobId, ProducerStatus, ResultBatch, StopCause,
};

/// A transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The other side has gone away for good.
    Closed,
    /// The broker is set up in a way this mcp cannot use; retrying will not help.
    Misconfigured(String),
    /// Anything else, with a message for the user.
    Other(String),
}

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerError::Closed => f.write_str("the broker connection is closed"),
            BrokerError::Misconfigured(m) | BrokerError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BrokerError {}

/// A message taken from a queue, to be acknowledged once handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<T> {
    /// The job the message belongs to.
    pub job: JobId,
    /// The message.
    pub body: T,
    /// The transport's handle for acknowledging it.
    pub tag: u64,
    /// Whether the transport delivered it before (a redelivery).
    pub redelivered: bool,
}

/// The answer to polling a queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Polled<T> {
    /// A message.
    Ready(Delivery<T>),
    /// Nothing arrived while waiting; more may come.
    Empty,
    /// Nothing more will come.
    Finished,
}

/// What reaches the coordinator.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A job was submitted; acknowledge once recorded.
    Job(Box<Delivery<JobAnnouncement>>),
    /// Result batches, one message's; acknowledge once every one is recorded.
    Results(Delivery<Vec<ResultBatch>>),
    /// A consumer's heartbeat (nothing to acknowledge).
    Consumer(ConsumerStatus),
    /// A producer's progress report (nothing to acknowledge).
    Producer(ProducerStatus),
    /// The coordinator stopped a job (a follower hears this; nothing to acknowledge).
    Stopped {
        /// The job.
        job: JobId,
        /// Why.
        cause: StopCause,
    },
}

/// The depth of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// Its name.
    pub name: String,
    /// Messages ready for delivery.
    pub messages: u32,
    /// Subscribers.
    pub consumers: u32,
}
