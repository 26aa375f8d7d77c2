//! How a job is followed from its announcement to its summary, and how it ends.
//!
//! A [`Job`] counts each result batch once (its [`Aggregator`]), keeps live statistics when a
//! live view wants them, and ends for one of these causes, in one of these states:
//!
//! | cause ([`EndCause`]) | state ([`JobState`]) | noticed by |
//! |---|---|---|
//! | every batch counted | `completed`, or `failed` when every scenario failed | [`Job::settled`], after each recorded batch |
//! | its `[stop]` rule holds on the prefix of batches counted (precision, or `max_scenarios`) | `completed`, the summary saying `stopped` | [`Job::settled`], after each recorded batch |
//! | `limits.timeout_s` passed since the coordinator first heard of it, on its own clock | `timed_out` | [`Job::settled`], once a second |
//! | another job was announced after it (in the order the coordinator heard them) | `superseded` | [`Book::announce`](crate::Book::announce) |
//! | a user cancelled it | `cancelled` | [`Book::cancel`](crate::Book::cancel) |
//! | every live consumer refuses it (over its ceilings, or the model does not load there) | `failed` | [`Book::consumer_status`](crate::Book::consumer_status), [`Book::tick`](crate::Book::tick) |
//! | `mcp serve` stopped it (heard by a follower) | as `mcp serve` said | [`Book::stopped`](crate::Book::stopped) |
//!
//! Whatever the cause, the job ends with a summary of the batches counted until then, merged in
//! batch order: a partial summary is as deterministic as a complete one.

use crate::aggregator::{Added, Aggregator, Progress};
use crate::live::Live;
use mcp_protocol::{
    FailureTally, JobAnnouncement, JobId, JobSummary, KeptScenario, ModelRef, OutputSummaries,
    ProducerStatus, ResultBatch, StopCause,
};
use mcp_spec::StopReason;
use serde::Serialize;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Batches are being evaluated.
    Running,
    /// Every scenario was evaluated (some may have failed).
    Completed,
    /// A newer submission replaced it; its summary covers the batches evaluated before.
    Superseded,
    /// Its time-out passed before every scenario was evaluated.
    TimedOut,
    /// It cannot finish: its model does not load, or every scenario failed.
    Failed,
    /// A user cancelled it; its summary covers the batches evaluated before.
    Cancelled,
}

impl JobState {
    /// Every state, in order.
    pub const ALL: [JobState; 6] = [
        JobState::Running,
        JobState::Completed,
        JobState::Superseded,
        JobState::TimedOut,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// Its name in the API, the history and the metrics: `running`, `timed_out`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Superseded => "superseded",
            JobState::TimedOut => "timed_out",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// Why a job ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// Every batch was counted.
    Complete,
    /// The spec's `[stop]` rule held on a prefix of the batches: the job is complete with
    /// that prefix.
    Stopped {
        /// Which part of the rule.
        reason: StopReason,
    },
    /// Its time-out passed.
    TimedOut,
    /// Job `by`, submitted later, was announced.
    Superseded {
        /// The newer job.
        by: JobId,
    },
    /// A user cancelled it.
    Cancelled,
    /// Every live consumer refuses it.
    Refused {
        /// Each consumer's id and why it refuses.
        by: Vec<(String, String)>,
    },
    /// It cannot run, for the reason given (a follower hears it from `mcp serve`).
    Failed {
        /// Why.
        reason: String,
    },
}

/// Most consumers named in a job's failure message when all of them refuse it.
const REFUSALS_NAMED: usize = 16;

impl EndCause {
    /// What the coordinator tells the job's producer, follower and consumers when the job
    /// ends this way; `None` for a job that ran to its end.
    pub fn stop(&self, message: Option<&str>) -> Option<StopCause> {
        match self {
            EndCause::Complete => None,
            EndCause::Stopped { reason } => Some(StopCause::Finished { reason: *reason }),
            EndCause::TimedOut => Some(StopCause::TimedOut),
            EndCause::Superseded { by } => Some(StopCause::Superseded { by: by.clone() }),
            EndCause::Cancelled => Some(StopCause::Cancelled),
            EndCause::Refused { .. } | EndCause::Failed { .. } => Some(StopCause::Failed {
                reason: message.unwrap_or("it cannot run").to_string(),
            }),
        }
    }
}

impl From<StopCause> for EndCause {
    fn from(cause: StopCause) -> EndCause {
        match cause {
            StopCause::Cancelled => EndCause::Cancelled,
            StopCause::Superseded { by } => EndCause::Superseded { by },
            StopCause::TimedOut => EndCause::TimedOut,
            StopCause::Finished { reason } => EndCause::Stopped { reason },
            StopCause::Failed { reason } => EndCause::Failed { reason },
        }
    }
}

/// The failure message of a job every consumer refuses: each one's reason, the first
/// [`REFUSALS_NAMED`] of them.
fn refused_by(by: &[(String, String)]) -> String {
    let mut message = String::from("no consumer can run it: ");
    for (k, (consumer, why)) in by.iter().take(REFUSALS_NAMED).enumerate() {
        if k > 0 {
            message.push_str("; ");
        }
        message.push_str(&format!("consumer {consumer}: {why}"));
    }
    if by.len() > REFUSALS_NAMED {
        message.push_str(&format!("; and {} more", by.len() - REFUSALS_NAMED));
    }
    message
}

/// A running job.
#[derive(Debug)]
pub struct Job {
    announcement: JobAnnouncement,
    aggregator: Aggregator,
    live: Option<Live>,
    producer: Option<ProducerStatus>,
    /// The live consumers that refuse it, and why (from their last heartbeats).
    refusals: Vec<(String, String)>,
}

/// A job that ended: what the history records of it, and what its follower reports.
#[derive(Debug, Clone)]
pub struct Ended {
    /// How it was announced.
    pub announcement: JobAnnouncement,
    /// How it ended.
    pub state: JobState,
    /// Why, for the states that need saying (`failed`, `cancelled`).
    pub message: Option<String>,
    /// The job that superseded it, when one did.
    pub superseded_by: Option<JobId>,
    /// Its summary: of every batch, or of those counted before it ended.
    pub summary: JobSummary,
    /// Failures per kind, and the first failed scenarios.
    pub failures: FailureTally,
    /// When it ended, in milliseconds since the Unix epoch.
    pub ended_at_ms: u64,
    /// Its live statistics, when they were kept.
    pub live: Option<Live>,
    /// How many scenarios its spec keeps whole (`simulation.keep`).
    pub kept_count: u64,
    /// Those scenarios, in scenario order, until the history has them
    /// ([`Book::kept`](crate::Book::kept) reads them there).
    pub kept: Vec<KeptScenario>,
}

impl Ended {
    /// A job refused at its announcement (a spec or a model description past a bound, which
    /// only a producer that skipped validation can send): it ends at once as `failed`, with
    /// an empty summary and the reason, and nothing is sized by what it announced.
    pub fn refused(announcement: JobAnnouncement, reason: &str, now_ms: u64) -> Ended {
        let info = &announcement.info;
        Ended {
            summary: JobSummary {
                model: ModelRef {
                    name: info.name.clone(),
                    version: info.version.clone(),
                    digest: info.digest.clone(),
                },
                seed: announcement.spec.simulation.seed,
                scenarios: 0,
                failed: 0,
                elapsed_s: 0.0,
                outputs: OutputSummaries::default(),
                provenance: None,
                stopped: None,
                sobol: None,
                tornado: None,
            },
            state: JobState::Failed,
            message: Some(format!("refused: {reason}")),
            superseded_by: None,
            failures: FailureTally::default(),
            ended_at_ms: now_ms,
            live: None,
            kept_count: 0,
            kept: Vec::new(),
            announcement,
        }
    }
}

impl Job {
    /// Starts following the announced job; `live` keeps live statistics for a live view.
    pub fn new(announcement: JobAnnouncement, live: bool) -> Job {
        Job {
            aggregator: Aggregator::new(announcement.info.clone(), &announcement.spec),
            live: live.then(|| {
                Live::with_risk(&announcement.info.outputs, Some(&announcement.spec))
                    .with_inputs(&announcement.info.inputs)
                    .with_sobol(&announcement.spec)
            }),
            producer: None,
            refusals: Vec::new(),
            announcement,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.announcement.job
    }

    /// How it was announced.
    pub fn announcement(&self) -> &JobAnnouncement {
        &self.announcement
    }

    /// Whether `result` is a consistent result of one of this job's batches (see
    /// [`Aggregator::check`]).
    pub fn check(&self, result: &ResultBatch) -> Result<(), String> {
        self.aggregator.check(result)
    }

    /// Counts a result batch, unless it was counted before or is not consistent.
    pub fn add(&mut self, result: ResultBatch) -> Added {
        if let Some(live) = &mut self.live
            && !self.aggregator.has(result.batch.index)
            && self.aggregator.check(&result).is_ok()
        {
            live.add(&result);
        }
        self.aggregator.add(result)
    }

    /// Whether batch `index` was counted.
    pub fn counted(&self, index: u64) -> bool {
        self.aggregator.has(index)
    }

    /// Scenarios done so far.
    pub fn progress(&self) -> Progress {
        self.aggregator.progress()
    }

    /// Failures so far.
    pub fn failures(&self) -> &FailureTally {
        self.aggregator.failures()
    }

    /// The producer's last report.
    pub fn producer(&self) -> Option<&ProducerStatus> {
        self.producer.as_ref()
    }

    /// Takes a producer's report.
    pub fn set_producer(&mut self, status: ProducerStatus) {
        self.producer = Some(status);
    }

    /// The live consumers that refuse it, by id, and why.
    pub fn refusals(&self) -> &[(String, String)] {
        &self.refusals
    }

    /// Sets the live consumers that refuse it.
    pub fn set_refusals(&mut self, refusals: Vec<(String, String)>) {
        self.refusals = refusals;
    }

    /// How many scenarios it keeps whole so far (`simulation.keep`).
    pub fn kept(&self) -> u64 {
        self.aggregator.kept()
    }

    /// Its live statistics, when kept.
    pub fn live(&self) -> Option<&Live> {
        self.live.as_ref()
    }

    /// Adds a point to the live convergence series.
    pub fn sample(&mut self) {
        if let Some(live) = &mut self.live {
            live.sample();
        }
    }

    /// Why the job ends by itself at `now_ms`, if it does: every batch counted, its `[stop]`
    /// rule held, or its time-out (counted from when the coordinator first heard of it, on its
    /// own clock) passed.
    pub fn settled(&self, now_ms: u64) -> Option<EndCause> {
        if let Some(reason) = self.aggregator.stopped() {
            return Some(EndCause::Stopped { reason });
        }
        if self.aggregator.is_complete() {
            return Some(EndCause::Complete);
        }
        let timeout_ms = self.announcement.spec.limits.timeout_s.saturating_mul(1000);
        (now_ms > self.announcement.submitted_at_ms.saturating_add(timeout_ms))
            .then_some(EndCause::TimedOut)
    }

    /// Ends the job for `cause` at `now_ms`, with the summary of the batches counted.
    pub fn end(mut self, cause: EndCause, now_ms: u64) -> Ended {
        self.sample();
        let progress = self.aggregator.progress();
        let (state, message, superseded_by) = match cause {
            EndCause::Complete if progress.failed == progress.total => (
                JobState::Failed,
                Some("every scenario failed; see the failures".to_string()),
                None,
            ),
            EndCause::Complete | EndCause::Stopped { .. } => (JobState::Completed, None, None),
            EndCause::TimedOut => (JobState::TimedOut, None, None),
            EndCause::Superseded { by } => (JobState::Superseded, None, Some(by)),
            EndCause::Cancelled => (
                JobState::Cancelled,
                Some("cancelled by a user".to_string()),
                None,
            ),
            EndCause::Refused { by } => (JobState::Failed, Some(refused_by(&by)), None),
            EndCause::Failed { reason } => (JobState::Failed, Some(reason), None),
        };
        let failures = self.aggregator.failures().clone();
        let elapsed_s = now_ms.saturating_sub(self.announcement.submitted_at_ms) as f64 / 1e3;
        let kept = self.aggregator.take_kept();
        Ended {
            summary: self.aggregator.into_summary(elapsed_s),
            kept_count: kept.len() as u64,
            kept,
            announcement: self.announcement,
            state,
            message,
            superseded_by,
            failures,
            ended_at_ms: now_ms,
            live: self.live,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_testkit::fixtures::{announcement, result};

    #[test]
    fn a_job_completes_when_every_batch_is_counted_and_fails_when_every_scenario_failed() {
        let mut job = Job::new(announcement("j", 4, 2, 0), true);
        assert_eq!(job.settled(1), None);
        job.add(result(1, 2, vec![1.0, 2.0]));
        job.add(result(1, 2, vec![1.0, 2.0]));
        assert_eq!(job.settled(1), None);
        job.add(result(0, 2, vec![3.0, 4.0]));
        assert_eq!(job.settled(1), Some(EndCause::Complete));
        let ended = job.end(EndCause::Complete, 1500);
        assert_eq!((ended.state, ended.message), (JobState::Completed, None));
        assert_eq!((ended.summary.scenarios, ended.summary.elapsed_s), (4, 1.5));
        assert_eq!(ended.live.unwrap().view(None).outputs[0].count, 4);

        let mut failing = Job::new(announcement("f", 2, 2, 0), false);
        let mut all_failed = result(0, 2, vec![]);
        all_failed.batch.count = 2;
        all_failed.failures = (0..2)
            .map(|scenario| mcp_protocol::ScenarioFailure {
                scenario,
                kind: mcp_protocol::FailureKind::Trap,
                message: "trap".into(),
            })
            .collect();
        assert_eq!(failing.add(all_failed), Added::New);
        let ended = failing.end(EndCause::Complete, 1);
        assert_eq!(ended.state, JobState::Failed);
        assert_eq!(
            ended.message.as_deref(),
            Some("every scenario failed; see the failures")
        );
        assert!(ended.live.is_none());
    }

    #[test]
    fn a_job_times_out_on_the_coordinators_clock_and_keeps_its_partial_summary() {
        let mut a = announcement("slow", 6, 2, 1_000);
        a.spec.limits.timeout_s = 10;
        let mut job = Job::new(a, false);
        job.add(result(1, 2, vec![5.0, 6.0]));
        assert_eq!(job.settled(11_000), None);
        assert_eq!(job.settled(11_001), Some(EndCause::TimedOut));
        let ended = job.end(EndCause::Superseded { by: "new".into() }, 11_001);
        assert_eq!(ended.state, JobState::Superseded);
        assert_eq!(ended.superseded_by.as_deref(), Some("new"));
        assert_eq!(ended.summary.scenarios, 2);
    }
}
