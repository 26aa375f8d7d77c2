//! The transport between the roles, and its in-memory implementation for embedded runs.
//!
//! Producer, consumers and coordinator talk only through the three link traits here, so the same
//! role code runs in one process (over [`InMemoryBroker`]) or across machines (over RabbitMQ, in
//! `mcp-broker-amqp`). The in-memory broker is a bounded work queue of scenario batches, so a fast
//! producer blocks instead of filling memory (backpressure), and an unbounded results queue
//! drained by the coordinator. It knows nothing of Wasm or statistics.

mod memory;

pub use memory::InMemoryBroker;

use mcp_protocol::{
    ConsumerStatus, JobAnnouncement, JobId, JobModel, ProducerStatus, ResultBatch, ScenarioBatch,
};
use std::sync::Arc;
use std::time::Duration;

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

/// What a producer needs: publish a job's model, then its batches.
pub trait ProducerLink: Send + Sync {
    /// Makes `model` the current model, replacing any previous one.
    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError>;
    /// Queues one batch; blocks while the queue is full.
    fn publish_batch(&self, batch: ScenarioBatch) -> Result<(), BrokerError>;
    /// Says that no more batches will come for the current job; returns once every batch is
    /// safely with the transport.
    fn finish(&self) -> Result<(), BrokerError>;
}

/// What a consumer needs: the current model, batches, and a way to send results.
pub trait ConsumerLink: Send + Sync {
    /// The current model, if there is one (a job whose time-out passed has none).
    fn current_model(&self) -> Result<Option<Arc<JobModel>>, BrokerError>;
    /// The next batch, waiting at most `wait`.
    fn next_batch(&self, wait: Duration) -> Result<Polled<ScenarioBatch>, BrokerError>;
    /// Publishes a result of `job`; returns once the transport has taken responsibility for it.
    fn publish_result(&self, job: &str, result: ResultBatch) -> Result<(), BrokerError>;
    /// Acknowledges a batch, after its result was published.
    fn ack_batch(&self, tag: u64) -> Result<(), BrokerError>;

    /// Refuses a batch that can never be evaluated (its model does not load): the transport
    /// sets it aside (RabbitMQ: the dead-letter queue) instead of redelivering it.
    fn reject_batch(&self, tag: u64) -> Result<(), BrokerError> {
        self.ack_batch(tag)
    }

    /// Publishes the result of a batch and acknowledges the batch once the result is safe. A
    /// transport may do both later, in order, to keep several results in flight; [`flush`]
    /// waits for them.
    ///
    /// [`flush`]: ConsumerLink::flush
    fn complete(&self, job: &str, result: ResultBatch, tag: u64) -> Result<(), BrokerError> {
        self.publish_result(job, result)?;
        self.ack_batch(tag)
    }

    /// Waits until every completed batch's result is safe and the batch acknowledged.
    fn flush(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    /// Stops (or restarts) the flow of new batches to this consumer; batches already received
    /// still come out of `next_batch`.
    fn set_paused(&self, paused: bool) -> Result<(), BrokerError> {
        let _ = paused;
        Ok(())
    }

    /// Whether batches received before a pause still come out of `next_batch` while paused
    /// (RabbitMQ: the prefetched ones, finished before the consumer idles). When not, a paused
    /// consumer takes nothing until resumed.
    fn drains_while_paused(&self) -> bool {
        false
    }
}

/// What a coordinator needs: results, acknowledged once recorded.
pub trait CoordinatorLink: Send + Sync {
    /// The next result, waiting at most `wait`; `Ok(None)` on time-out.
    fn next_result(&self, wait: Duration) -> Result<Option<Delivery<ResultBatch>>, BrokerError>;
    /// Acknowledges a result after it was recorded.
    fn ack_result(&self, tag: u64) -> Result<(), BrokerError>;
}

/// What reaches a long-running coordinator (`mcp serve`).
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A job was submitted; acknowledge once recorded.
    Job(Box<Delivery<JobAnnouncement>>),
    /// A result batch; acknowledge once recorded.
    Result(Delivery<ResultBatch>),
    /// A consumer's heartbeat (nothing to acknowledge).
    Consumer(ConsumerStatus),
    /// A producer's progress report (nothing to acknowledge).
    Producer(ProducerStatus),
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

/// What the long-running coordinator needs: job announcements, results and telemetry, in one
/// stream, acknowledged once recorded; and the queues' depths.
pub trait ServeLink: Send + Sync {
    /// The next message, waiting at most `wait`; job announcements come before results that
    /// are waiting at the same time. `Ok(None)` on time-out.
    fn next(&self, wait: Duration) -> Result<Option<Incoming>, BrokerError>;
    /// Acknowledges a job announcement or a result batch after it was recorded.
    fn ack(&self, tag: u64) -> Result<(), BrokerError>;
    /// The depths of the installation's queues.
    fn queue_depths(&self) -> Result<Vec<QueueDepth>, BrokerError>;
}
