//! The link traits: what each role needs of a transport, and nothing more.
//!
//! | role | trait | what it does with it |
//! |---|---|---|
//! | producer | [`ProducerLink`] | announces a job, publishes its model and runs of batches, reports progress |
//! | consumer thread | [`ConsumerLink`] | reads the current model, takes runs of batches, publishes their results, acknowledges |
//! | consumer process | [`ConsumerSession`] | opens one [`ConsumerLink`] per thread, reads control commands, sends heartbeats |
//! | operator, API | [`ControlLink`] | pauses, resumes, drains consumers; stops a cancelled job's work |
//! | coordinator | [`CoordinatorLink`] | reads announcements, results and telemetry in one stream, acknowledges once recorded |

use crate::{BrokerError, Incoming, Polled, QueueDepth};
use mcp_protocol::{
    ConsumerStatus, ControlCommand, JobAnnouncement, JobModel, ProducerStatus, ResultBatch,
    ScenarioRun, StopCause,
};
use std::sync::Arc;
use std::time::Duration;

/// What a producer needs: announce a job, publish its model, then its batches, in runs of
/// consecutive batches (one message each).
pub trait ProducerLink: Send + Sync {
    /// Tells the coordinator about a job, before any of its results can reach it.
    fn announce(&self, job: &JobAnnouncement) -> Result<(), BrokerError>;
    /// Makes `model` the current model, replacing any previous one.
    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError>;
    /// Queues one run of batches; blocks while the queue is full.
    fn publish_run(&self, run: ScenarioRun) -> Result<(), BrokerError>;
    /// Says that no more batches will come for the current job; returns once every batch is
    /// safely with the transport.
    fn finish(&self) -> Result<(), BrokerError>;
    /// Sends a progress report (telemetry: it may be lost).
    fn report(&self, status: &ProducerStatus) -> Result<(), BrokerError>;
    /// How many of the runs published last may be lost if the link fails now (published but
    /// not yet confirmed): a producer resuming on a new link publishes them again.
    fn unconfirmed_limit(&self) -> u64 {
        0
    }
    /// Whether `job` was stopped elsewhere since the last call, and why: cancelled, failed or
    /// (on RabbitMQ) superseded by a job announced after it. A producer asks a few times a
    /// second and stops publishing when told. A transport whose producer is stopped by other
    /// means (an embedded run) says `None`.
    fn stopped(&self, job: &str) -> Result<Option<StopCause>, BrokerError> {
        let _ = job;
        Ok(None)
    }
}

/// What a consumer thread needs: the current model, runs of batches, and a way to send their
/// results. A run is taken, acknowledged, rejected or given back whole.
pub trait ConsumerLink: Send + Sync {
    /// The current model, if there is one (a job whose time-out passed has none).
    fn current_model(&self) -> Result<Option<Arc<JobModel>>, BrokerError>;
    /// The next run of batches, waiting at most `wait`.
    fn next_run(&self, wait: Duration) -> Result<Polled<ScenarioRun>, BrokerError>;
    /// Publishes results of `job` as one message; returns once the transport has taken
    /// responsibility for them.
    fn publish_results(&self, job: &str, results: Vec<ResultBatch>) -> Result<(), BrokerError>;
    /// Acknowledges a run, after its results were published.
    fn ack_run(&self, tag: u64) -> Result<(), BrokerError>;

    /// Refuses a run that can never be evaluated (it is not a run of its job's batches), saying
    /// why: the transport sets it aside (RabbitMQ: the dead-letter queue, with `reason`)
    /// instead of redelivering it.
    fn reject_run(&self, tag: u64, reason: &str) -> Result<(), BrokerError> {
        let _ = reason;
        self.ack_run(tag)
    }

    /// Gives back a run this consumer will not evaluate although its job may still run (its
    /// model is over this consumer's ceilings, or does not load here): another consumer takes
    /// it. `job` and `run` are the delivery's.
    fn release_run(&self, job: &str, run: ScenarioRun, tag: u64) -> Result<(), BrokerError>;

    /// Publishes the results of a run as one message and acknowledges the run once they are
    /// safe. A transport may do both later, in order, to keep several messages in flight;
    /// [`flush`] waits for them.
    ///
    /// [`flush`]: ConsumerLink::flush
    fn complete(&self, job: &str, results: Vec<ResultBatch>, tag: u64) -> Result<(), BrokerError> {
        self.publish_results(job, results)?;
        self.ack_run(tag)
    }

    /// Waits until every completed run's results are safe and the run acknowledged.
    fn flush(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    /// Stops (or restarts) the flow of new runs to this consumer; runs already received still
    /// come out of `next_run`.
    fn set_paused(&self, paused: bool) -> Result<(), BrokerError> {
        let _ = paused;
        Ok(())
    }

    /// Whether runs received before a pause still come out of `next_run` while paused
    /// (RabbitMQ: the prefetched ones, finished before the consumer idles). When not, a paused
    /// consumer takes nothing until resumed.
    fn drains_while_paused(&self) -> bool {
        false
    }
}

/// What a consumer process needs besides a link per evaluating thread: the operator's
/// commands, and somewhere to send its heartbeats.
pub trait ConsumerSession: Send + Sync {
    /// A link for one evaluating thread, named `name` at the broker.
    fn link(&self, name: &str) -> Result<Box<dyn ConsumerLink>, BrokerError>;
    /// The next control command, waiting at most `wait`; `Err` when the session is gone.
    fn next_command(&self, wait: Duration) -> Result<Option<ControlCommand>, BrokerError>;
    /// Sends a heartbeat (telemetry: it may be lost).
    fn send_status(&self, status: &ConsumerStatus) -> Result<(), BrokerError>;
}

/// What the operator (the CLI, the HTTP API) needs to steer consumers.
pub trait ControlLink: Send + Sync {
    /// Sends a command to one consumer or to all of them.
    fn send(&self, command: &ControlCommand) -> Result<(), BrokerError>;
    /// Stops the work of a cancelled job: no consumer starts it again, and those on it drop
    /// its remaining batches.
    fn cancel(&self, job: &str) -> Result<(), BrokerError>;
}

/// What the coordinator needs: job announcements, results and telemetry in one stream,
/// acknowledged once recorded; and the queues' depths.
pub trait CoordinatorLink: Send + Sync {
    /// The next message, waiting at most `wait`; job announcements come before results that
    /// are waiting at the same time. `Ok(None)` on time-out.
    fn next(&self, wait: Duration) -> Result<Option<Incoming>, BrokerError>;
    /// Acknowledges a job announcement or a result message after it was recorded.
    fn ack(&self, tag: u64) -> Result<(), BrokerError>;
    /// The depths of the installation's queues (none for a transport without queues).
    fn queue_depths(&self) -> Result<Vec<QueueDepth>, BrokerError> {
        Ok(Vec::new())
    }
    /// Tells everyone working on `job` that it ended early (`cause`): consumers drop its
    /// batches, its producer stops, its follower ends it. What `mcp serve` does when it ends a
    /// job for any reason but completion; a transport that stops its job by other means (an
    /// embedded run) or a follower does nothing.
    fn stop_job(&self, job: &str, cause: &StopCause) -> Result<(), BrokerError> {
        let _ = (job, cause);
        Ok(())
    }
}
