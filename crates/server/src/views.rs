//! What the API answers about jobs, consumers and queues: `GET /api/jobs`, `/api/jobs/{id}`,
//! `/api/consumers`, `/api/queues`, and the parts of the live snapshot (see `events.rs`).

use crate::Api;
use mcp_broker::QueueDepth;
use mcp_coordinator::{Job, JobEntry, JobRecord, JobState, SeenConsumer, SeenState, StoreResult};
use mcp_protocol::{
    ConsumerStatus, FailureTally, JobAnnouncement, JobId, JobSummary, ModelRef, OutputSummaries,
    ProducerStatus, Provenance, Tornado,
};
use mcp_spec::{Spec, StopReason};
use serde::Serialize;

/// A job: the summary's shape (`model`, `seed`, `scenarios`, `failed`, `elapsed_s`, `outputs`)
/// and what the history knows besides. `GET /api/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    /// The job's id.
    pub id: JobId,
    /// Where it stands.
    pub state: JobState,
    /// The model.
    pub model: ModelRef,
    /// The job's seed.
    pub seed: u64,
    /// Scenarios evaluated so far (succeeded or failed).
    pub scenarios: u64,
    /// Scenarios that failed so far.
    pub failed: u64,
    /// Scenarios in the job.
    pub total: u64,
    /// Seconds from submission to its end (or until now, while it runs).
    pub elapsed_s: f64,
    /// Per output, in model order; empty while the job runs.
    pub outputs: OutputSummaries,
    /// Failures per kind and the first failed scenarios.
    pub failures: FailureTally,
    /// When it was submitted, in milliseconds since the Unix epoch.
    pub submitted_at_ms: u64,
    /// When it ended.
    pub ended_at_ms: Option<u64>,
    /// Why it failed, when it did.
    pub message: Option<String>,
    /// The producer's last report, while the job runs.
    pub producer: Option<ProducerStatus>,
    /// The live consumers that refuse the job while it runs (over their ceilings, or the
    /// model does not load there), and why; the first [`REFUSALS_SHOWN`]. Others run it; when
    /// every consumer refuses it, it fails with their reasons.
    pub refused_by: Vec<Refusal>,
    /// The job's spec.
    pub spec: Spec,
    /// What its result depends on (`mcp rerun` checks a rerun against it).
    pub provenance: Provenance,
    /// Why its `[stop]` rule ended it (`precision`, `max_scenarios`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
    /// First-order and total Sobol indices, once a job with `[sensitivity]` ended (while it
    /// runs, the live view has them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sobol: Option<mcp_protocol::SobolSummary>,
    /// How many scenarios it keeps whole (`simulation.keep`) so far: what
    /// `GET /api/jobs/{id}/scenarios` exports once it ended.
    pub kept_scenarios: u64,
    /// Each input's rank correlation with each output (the summary's); absent while the job
    /// runs (the live view has its running estimate) and when no batch was large enough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tornado: Option<Tornado>,
}

/// Most refusing consumers a job's view lists.
pub const REFUSALS_SHOWN: usize = 100;

/// A consumer that refuses a job, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The consumer's id.
    pub consumer: String,
    /// Why it refuses the job.
    pub reason: String,
}

impl JobView {
    /// The view of a job as the books know it, at `now_ms`.
    pub fn of(entry: JobEntry<'_>, now_ms: u64) -> JobView {
        match entry {
            JobEntry::Running(job) => JobView::running(job, now_ms),
            JobEntry::Recorded(record) => JobView::recorded(*record),
        }
    }

    /// A running job, at `now_ms`.
    pub fn running(job: &Job, now_ms: u64) -> JobView {
        let a = job.announcement();
        let progress = job.progress();
        JobView {
            id: a.job.clone(),
            state: JobState::Running,
            model: model_ref(a),
            seed: a.spec.simulation.seed,
            scenarios: progress.scenarios,
            failed: progress.failed,
            total: progress.total,
            elapsed_s: now_ms.saturating_sub(a.submitted_at_ms) as f64 / 1e3,
            outputs: OutputSummaries::default(),
            failures: job.failures().clone(),
            submitted_at_ms: a.submitted_at_ms,
            ended_at_ms: None,
            message: None,
            producer: job.producer().cloned(),
            refused_by: job
                .refusals()
                .iter()
                .take(REFUSALS_SHOWN)
                .map(|(consumer, reason)| Refusal {
                    consumer: consumer.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            provenance: Provenance::of(&a.info, &a.spec),
            stopped: None,
            sobol: None,
            kept_scenarios: job.kept(),
            tornado: None,
            spec: a.spec.clone(),
        }
    }

    /// A job as the history records it.
    pub fn recorded(record: JobRecord) -> JobView {
        let a = record.announcement;
        let summary = record.summary.unwrap_or_else(|| JobSummary {
            model: model_ref(&a),
            seed: a.spec.simulation.seed,
            scenarios: 0,
            failed: 0,
            elapsed_s: 0.0,
            outputs: OutputSummaries::default(),
            provenance: None,
            stopped: None,
            sobol: None,
            tornado: None,
        });
        JobView {
            id: a.job.clone(),
            state: record.state,
            model: summary.model,
            seed: summary.seed,
            scenarios: summary.scenarios,
            failed: summary.failed,
            total: a.spec.simulation.scenarios,
            elapsed_s: summary.elapsed_s,
            outputs: summary.outputs,
            failures: record.failures.unwrap_or_default(),
            submitted_at_ms: a.submitted_at_ms,
            ended_at_ms: record.ended_at_ms,
            message: record.message,
            producer: None,
            refused_by: Vec::new(),
            stopped: summary.stopped,
            sobol: summary.sobol,
            kept_scenarios: record.kept,
            tornado: summary.tornado,
            provenance: summary
                .provenance
                .unwrap_or_else(|| Provenance::of(&a.info, &a.spec)),
            spec: a.spec,
        }
    }
}

/// The `limit` latest jobs, newest first: the history is read on its own connection, without
/// the book's lock (which the result path needs), and only the running jobs' figures are taken
/// from the book, briefly. A history in memory is read through the book.
pub(crate) fn latest_jobs(api: &Api, limit: usize, now_ms: u64) -> StoreResult<Vec<JobView>> {
    let records = match &api.history {
        Some(history) => history.jobs(limit)?,
        None => api.book().history(limit)?,
    };
    let book = api.book();
    Ok(records
        .into_iter()
        .map(|record| match book.running(&record.announcement.job) {
            Some(job) => JobView::running(job, now_ms),
            None => JobView::recorded(record),
        })
        .collect())
}

/// One job, running (from the book) or as the history records it (read as
/// [`latest_jobs`] reads).
pub(crate) fn one_job(api: &Api, id: &str, now_ms: u64) -> StoreResult<Option<JobView>> {
    let Some(history) = &api.history else {
        let book = api.book();
        return Ok(book.job(id)?.map(|entry| JobView::of(entry, now_ms)));
    };
    if let Some(job) = api.book().running(id) {
        return Ok(Some(JobView::running(job, now_ms)));
    }
    Ok(history.job(id)?.map(JobView::recorded))
}

fn model_ref(a: &JobAnnouncement) -> ModelRef {
    ModelRef {
        name: a.info.name.clone(),
        version: a.info.version.clone(),
        digest: a.info.digest.clone(),
    }
}

/// A job in a list: no spec, no outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobBrief {
    /// The job's id.
    pub id: JobId,
    /// Where it stands.
    pub state: JobState,
    /// The model's name.
    pub model: String,
    /// Scenarios evaluated.
    pub scenarios: u64,
    /// Scenarios that failed.
    pub failed: u64,
    /// Scenarios in the job.
    pub total: u64,
    /// When it was submitted, in milliseconds since the Unix epoch.
    pub submitted_at_ms: u64,
    /// When it ended.
    pub ended_at_ms: Option<u64>,
}

impl From<&JobView> for JobBrief {
    fn from(v: &JobView) -> JobBrief {
        JobBrief {
            id: v.id.clone(),
            state: v.state,
            model: v.model.name.clone(),
            scenarios: v.scenarios,
            failed: v.failed,
            total: v.total,
            submitted_at_ms: v.submitted_at_ms,
            ended_at_ms: v.ended_at_ms,
        }
    }
}

/// A consumer. `GET /api/consumers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerView {
    /// Its last heartbeat; `state` there is what the consumer said.
    #[serde(flatten)]
    pub status: ConsumerStatus,
    /// What the coordinator makes of it: the consumer's own state, or `lost` when it has been
    /// silent too long.
    pub seen_state: SeenState,
    /// Seconds since its last heartbeat arrived.
    pub silent_s: f64,
}

impl From<SeenConsumer> for ConsumerView {
    fn from(c: SeenConsumer) -> ConsumerView {
        ConsumerView {
            status: c.status,
            seen_state: c.state,
            silent_s: c.silent.as_secs_f64(),
        }
    }
}

/// A queue's depth. `GET /api/queues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueView {
    /// Its name.
    pub name: String,
    /// Messages ready.
    pub messages: u32,
    /// Subscribers.
    pub consumers: u32,
}

impl From<&QueueDepth> for QueueView {
    fn from(q: &QueueDepth) -> QueueView {
        QueueView {
            name: q.name.clone(),
            messages: q.messages,
            consumers: q.consumers,
        }
    }
}
