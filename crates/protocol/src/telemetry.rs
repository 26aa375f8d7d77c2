//! Telemetry: what producers and consumers report about themselves, at least once a second.

use serde::{Deserialize, Serialize};

/// A consumer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerState {
    /// Waiting for or evaluating batches.
    Active,
    /// Told to pause: takes no new batches.
    Paused,
    /// Finishing its batches in flight, then exiting.
    Draining,
    /// Gone (its last message said so).
    Stopped,
}

/// A consumer's heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerStatus {
    /// The consumer's id.
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// What it is doing.
    pub state: ConsumerState,
    /// Batches evaluated since it started.
    pub batches: u64,
    /// Scenarios evaluated since it started.
    pub scenarios: u64,
    /// Scenarios evaluated per second, over the last interval.
    pub scenarios_per_s: f64,
    /// Seconds per scenario of the last batch.
    pub last_s_per_scenario: f64,
    /// Seconds per scenario, averaged since it started.
    pub mean_s_per_scenario: f64,
    /// Scenarios that failed since it started.
    pub failures: u64,
    /// Scenarios of superseded or timed-out jobs it discarded.
    pub expired: u64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
    /// CPU use over the last interval, in percent of one core.
    pub cpu_percent: f64,
    /// When it sent this, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
    /// The job this consumer refuses while it is current (over its ceilings, or the model
    /// does not load there), and why.
    #[serde(default)]
    pub refused: Option<RefusedModel>,
}

impl ConsumerStatus {
    /// The heartbeat with its texts cut to what a coordinator keeps: ids and host names of at
    /// most 256 bytes, a refusal's error of at most 4 KiB (a heartbeat is decoded from any
    /// message that reaches the stats queue).
    pub fn bounded(mut self) -> ConsumerStatus {
        self.id = crate::clip(&self.id, 256);
        self.host = crate::clip(&self.host, 256);
        if let Some(refused) = &mut self.refused {
            refused.job = crate::clip(&refused.job, 256);
            refused.error = crate::clip(&refused.error, 4096);
        }
        self
    }
}

/// A job a consumer refuses: it gives the job's batches back for other consumers, and the
/// coordinator fails the job when every live consumer refuses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedModel {
    /// The job.
    pub job: String,
    /// Why: the ceiling it is over, or why the model does not load.
    pub error: String,
}

/// A producer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProducerState {
    /// Publishing batches.
    Publishing,
    /// Every batch published.
    Done,
    /// Stopped early.
    Stopped,
}

/// A producer's progress report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducerStatus {
    /// The job.
    pub job: String,
    /// Scenarios published so far.
    pub generated: u64,
    /// Scenarios in the job.
    pub total: u64,
    /// Scenarios published per second since the start.
    pub rate: f64,
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Estimated seconds until every batch is published.
    pub eta_s: f64,
    /// What it is doing.
    pub state: ProducerState,
}

/// What a control message asks consumers to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// Take no new batches until resumed (batches already received are finished).
    Pause,
    /// Take batches again.
    Resume,
    /// Finish the batches in flight, acknowledge them and exit.
    Drain,
    /// Stop evaluating the job named in the command: its remaining batches are discarded.
    Cancel,
}

/// A command to one consumer or to all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlCommand {
    /// What to do.
    pub action: ControlAction,
    /// The consumer's id, or every consumer when `None`.
    pub consumer: Option<String>,
    /// The job a `Cancel` is about.
    #[serde(default)]
    pub job: Option<String>,
    /// Why a `Cancel`'s job was stopped, for its producer and follower to say (absent: a user
    /// cancelled it).
    #[serde(default)]
    pub cause: Option<StopCause>,
}

impl ControlCommand {
    /// Stops `job`'s work everywhere: consumers drop its batches, its producer stops
    /// publishing, its follower ends it with `cause`.
    pub fn stop(job: &str, cause: StopCause) -> ControlCommand {
        ControlCommand {
            action: ControlAction::Cancel,
            consumer: None,
            job: Some(job.to_string()),
            cause: Some(cause),
        }
    }

    /// `action` for one consumer (`Some(id)`) or for all of them.
    pub fn to(action: ControlAction, consumer: Option<String>) -> ControlCommand {
        ControlCommand {
            action,
            consumer,
            job: None,
            cause: None,
        }
    }
}

/// Why a job was stopped before every batch was evaluated, as the coordinator decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// A user cancelled it.
    Cancelled,
    /// A job announced after it replaced it.
    Superseded {
        /// The newer job.
        by: String,
    },
    /// Its time-out passed.
    TimedOut,
    /// Its `[stop]` rule ended it, complete: the summary covers the prefix of batches the rule
    /// was judged on, and the batches past it are not needed.
    Finished {
        /// Which part of the rule.
        reason: mcp_spec::StopReason,
    },
    /// It cannot run: refused by the coordinator, or by every consumer (the reason says which).
    Failed {
        /// Why.
        reason: String,
    },
}

impl StopCause {
    /// The cause with its texts cut to a length worth showing (it is read from a message
    /// anyone who may publish on the control exchange can send).
    pub fn bounded(self) -> StopCause {
        match self {
            StopCause::Superseded { by } => StopCause::Superseded {
                by: crate::clip(&by, 256),
            },
            StopCause::Failed { reason } => StopCause::Failed {
                reason: crate::clip(&reason, 8192),
            },
            other => other,
        }
    }
}
