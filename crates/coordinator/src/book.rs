//! The coordinator's books: every job with its state and aggregate, every consumer with its
//! last heartbeat, the queues' depths. Backed by the [`Store`], so a restart picks up each
//! running job from its recorded batches.

use crate::live::{Live, LiveView};
use crate::store::{JobRecord, JobState, Store, StoreResult};
use crate::{Added, Aggregator};
use mcp_broker::QueueDepth;
use mcp_protocol::{
    ConsumerState, ConsumerStatus, FailureTally, JobAnnouncement, JobId, JobSummary, ModelRef,
    OutputSummaries, ProducerStatus, ResultBatch,
};
use mcp_spec::Spec;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// A consumer silent for this long is shown as lost.
pub const LOST_AFTER: Duration = Duration::from_secs(5);
/// A consumer silent for this long (stopped or lost) is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// A running job: its announcement, its aggregate so far, the producer's last report.
#[derive(Debug)]
struct Running {
    announcement: JobAnnouncement,
    aggregator: Aggregator,
    live: Live,
    producer: Option<ProducerStatus>,
    /// Aggregated elsewhere (see [`Book::follow`]): nothing stored, ended by its owner.
    external: bool,
}

/// A consumer's last heartbeat and when it arrived (on this machine's clock).
#[derive(Debug)]
struct Seen {
    status: ConsumerStatus,
    at: Instant,
}

/// A job as the API shows it: the summary's shape (`model`, `seed`, `scenarios`, `failed`,
/// `elapsed_s`, `outputs`) and what the history knows besides.
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
    /// The job's spec.
    pub spec: Spec,
}

/// A consumer as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerView {
    /// Its last heartbeat; `state` there is what the consumer said.
    #[serde(flatten)]
    pub status: ConsumerStatus,
    /// What the coordinator makes of it: the consumer's own state, or `lost` when it has been
    /// silent for [`LOST_AFTER`].
    pub seen_state: SeenState,
    /// Seconds since its last heartbeat arrived.
    pub silent_s: f64,
}

/// A consumer's state as the coordinator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenState {
    /// Working or waiting for work.
    Active,
    /// Paused by a control command.
    Paused,
    /// Finishing its batches before it exits.
    Draining,
    /// Exited cleanly.
    Stopped,
    /// Silent for longer than [`LOST_AFTER`] without saying it stopped.
    Lost,
}

/// The coordinator's state.
#[derive(Debug)]
pub struct Book {
    store: Store,
    running: BTreeMap<JobId, Running>,
    /// Jobs known to have ended: their late results are dropped without a look-up.
    ended: HashSet<JobId>,
    consumers: BTreeMap<String, Seen>,
    queues: Vec<QueueDepth>,
    /// The job that ended last, with its live statistics, for the live view.
    last_ended: Option<(JobId, Live)>,
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

/// The job a live view follows, with its live statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentJob {
    /// The job (its summary once it ended).
    #[serde(flatten)]
    pub job: JobView,
    /// Running statistics per output, and time per scenario.
    pub live: LiveView,
}

/// Everything a live view shows, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The running job, else the one that ended last.
    pub job: Option<CurrentJob>,
    /// The consumers.
    pub consumers: Vec<ConsumerView>,
    /// The queues' depths.
    pub queues: Vec<QueueDepthView>,
    /// The latest jobs, newest first.
    pub jobs: Vec<JobBrief>,
}

/// A queue's depth, as views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueDepthView {
    /// Its name.
    pub name: String,
    /// Messages ready.
    pub messages: u32,
    /// Subscribers.
    pub consumers: u32,
}

/// Jobs a snapshot lists.
const SNAPSHOT_JOBS: usize = 20;

impl Book {
    /// Opens the history at `path` and picks up every job that was running, from its
    /// recorded batches.
    pub fn open(path: &Path, now_ms: u64) -> StoreResult<Book> {
        let store = Store::open(path)?;
        let mut book = Book {
            store,
            running: BTreeMap::new(),
            ended: HashSet::new(),
            consumers: BTreeMap::new(),
            queues: Vec::new(),
            last_ended: None,
        };
        for record in book.store.running()? {
            book.start(record.announcement)?;
        }
        book.settle(now_ms)?;
        Ok(book)
    }

    /// Starts following a job, counting the batches already recorded for it.
    fn start(&mut self, announcement: JobAnnouncement) -> StoreResult<()> {
        let mut aggregator = Aggregator::new(announcement.info.clone(), &announcement.spec);
        let mut live = Live::new(&announcement.info.outputs);
        let recorded = self.store.results(&announcement.job)?;
        let n = recorded.len();
        for result in recorded {
            if !aggregator.has(result.batch.index) && aggregator.check(&result).is_ok() {
                live.add(&result);
            }
            if let Added::Rejected(why) = aggregator.add(result) {
                tracing::warn!(job = %announcement.job, "ignored a recorded result batch: {why}");
            }
        }
        tracing::info!(job = %announcement.job, batches = n, "following job");
        self.running.insert(
            announcement.job.clone(),
            Running::new(announcement, aggregator, live, false),
        );
        Ok(())
    }

    /// Records a newly submitted job. It supersedes every running job submitted before it; a
    /// job announced again is left as it is.
    pub fn announce(&mut self, announcement: JobAnnouncement, now_ms: u64) -> StoreResult<()> {
        let id = announcement.job.clone();
        if self.running.contains_key(&id)
            || self.ended.contains(&id)
            || self.store.job(&id)?.is_some()
        {
            return Ok(());
        }
        let newer_running = self
            .running
            .values()
            .any(|r| r.announcement.submitted_at_ms > announcement.submitted_at_ms);
        let older: Vec<JobId> = self
            .running
            .values()
            .filter(|r| r.announcement.submitted_at_ms <= announcement.submitted_at_ms)
            .map(|r| r.announcement.job.clone())
            .collect();
        self.store.insert_job(&announcement, JobState::Running)?;
        self.start(announcement)?;
        for job in older {
            self.end(&job, JobState::Superseded, now_ms, None)?;
        }
        if newer_running {
            // Announced late (a newer job is already running): it was superseded at once.
            self.end(&id, JobState::Superseded, now_ms, None)?;
        }
        self.settle(now_ms)
    }

    /// Follows a job whose summary is made elsewhere (an embedded run): its batches feed the
    /// live statistics and progress but are not stored, and [`Book::finish`] ends it.
    pub fn follow(&mut self, announcement: JobAnnouncement) -> StoreResult<()> {
        self.store.insert_job(&announcement, JobState::Running)?;
        let aggregator = Aggregator::counting(announcement.info.clone(), &announcement.spec);
        let live = Live::new(&announcement.info.outputs);
        self.running.insert(
            announcement.job.clone(),
            Running::new(announcement, aggregator, live, true),
        );
        Ok(())
    }

    /// Ends a followed job with the summary its owner made.
    pub fn finish(
        &mut self,
        job: &str,
        state: JobState,
        summary: &JobSummary,
        failures: &FailureTally,
        now_ms: u64,
    ) -> StoreResult<()> {
        let Some(mut running) = self.running.remove(job) else {
            return Ok(());
        };
        running.live.sample();
        self.store
            .end_job(job, state, now_ms, None, summary, failures)?;
        self.ended.insert(job.to_string());
        self.last_ended = Some((job.to_string(), running.live));
        Ok(())
    }

    /// Records result batches (one transaction), then counts them. Batches of jobs that ended
    /// are dropped; batches of jobs not announced yet are kept for when they are.
    pub fn record(&mut self, results: Vec<(JobId, ResultBatch)>, now_ms: u64) -> StoreResult<()> {
        let mut keep = Vec::with_capacity(results.len());
        let mut external = Vec::new();
        for (job, result) in results {
            if let Some(Err(why)) = self.running.get(&job).map(|r| r.aggregator.check(&result)) {
                // Neither recorded nor counted: it would make the summary wrong.
                tracing::warn!(job, "ignored a result batch: {why}");
                continue;
            }
            if self.running.get(&job).is_some_and(|r| r.external) {
                external.push((job, result));
            } else if self.running.contains_key(&job) {
                keep.push((job, result));
            } else if !self.ended.contains(&job) {
                if self.store.job(&job)?.is_some() {
                    self.ended.insert(job);
                } else {
                    keep.push((job, result));
                }
            }
        }
        self.store
            .insert_results(keep.iter().map(|(job, r)| (job.as_str(), r)))?;
        for (job, result) in keep.into_iter().chain(external) {
            let Some(running) = self.running.get_mut(&job) else {
                continue;
            };
            let new = !running.aggregator.has(result.batch.index);
            if new && result.moments.len() == running.live_outputs() {
                running.live.add(&result);
            }
            if let Added::Rejected(why) = running.aggregator.add(result) {
                tracing::warn!(job, "ignored a result batch: {why}");
            }
        }
        self.settle(now_ms)
    }

    /// Ends the jobs every batch of which has been counted.
    fn settle(&mut self, now_ms: u64) -> StoreResult<()> {
        let complete: Vec<(JobId, bool)> = self
            .running
            .values()
            .filter(|r| !r.external && r.aggregator.is_complete())
            .map(|r| {
                let p = r.aggregator.progress();
                (r.announcement.job.clone(), p.failed == p.total)
            })
            .collect();
        for (job, all_failed) in complete {
            if all_failed {
                let message = "every scenario failed; see the failures";
                self.end(&job, JobState::Failed, now_ms, Some(message))?;
            } else {
                self.end(&job, JobState::Completed, now_ms, None)?;
            }
        }
        Ok(())
    }

    /// Ends a running job in `state`, recording its (possibly partial) summary.
    fn end(
        &mut self,
        job: &str,
        state: JobState,
        now_ms: u64,
        message: Option<&str>,
    ) -> StoreResult<()> {
        let Some(running) = self.running.remove(job) else {
            return Ok(());
        };
        let mut running = running;
        running.live.sample();
        let failures = running.aggregator.failures().clone();
        let elapsed_s = now_ms.saturating_sub(running.announcement.submitted_at_ms) as f64 / 1e3;
        let summary = running.aggregator.into_summary(elapsed_s);
        self.store
            .end_job(job, state, now_ms, message, &summary, &failures)?;
        tracing::info!(job, state = ?state, scenarios = summary.scenarios, "job ended");
        self.ended.insert(job.to_string());
        self.last_ended = Some((job.to_string(), running.live));
        Ok(())
    }

    /// Cancels a running job: it ends now, its summary covering the batches counted so far.
    /// `Ok(false)` when the job is not running.
    pub fn cancel(&mut self, job: &str, now_ms: u64) -> StoreResult<bool> {
        match self.running.get(job) {
            None => return Ok(false),
            // Its owner stops it and ends it with its summary.
            Some(r) if r.external => return Ok(true),
            Some(_) => {}
        }
        self.end(
            job,
            JobState::Cancelled,
            now_ms,
            Some("cancelled by a user"),
        )?;
        Ok(true)
    }

    /// Ends the running jobs whose time-out has passed, as timed out.
    pub fn tick(&mut self, now_ms: u64) -> StoreResult<()> {
        let late: Vec<JobId> = self
            .running
            .values()
            .filter(|r| {
                if r.external {
                    return false;
                }
                let timeout_ms = r.announcement.spec.limits.timeout_s.saturating_mul(1000);
                now_ms > r.announcement.submitted_at_ms.saturating_add(timeout_ms)
            })
            .map(|r| r.announcement.job.clone())
            .collect();
        for job in late {
            self.end(&job, JobState::TimedOut, now_ms, None)?;
        }
        let now = Instant::now();
        self.consumers
            .retain(|_, seen| now.duration_since(seen.at) < FORGET_AFTER);
        Ok(())
    }

    /// Takes a consumer's heartbeat. A consumer that could not load a running job's model
    /// fails that job: its batches are being dead-lettered.
    pub fn consumer_status(
        &mut self,
        status: ConsumerStatus,
        at: Instant,
        now_ms: u64,
    ) -> StoreResult<()> {
        if let Some(refused) = &status.refused
            && self.running.contains_key(&refused.job)
        {
            let message = format!(
                "consumer {} could not load the model: {}",
                status.id, refused.error
            );
            self.end(&refused.job, JobState::Failed, now_ms, Some(&message))?;
        }
        self.consumers
            .insert(status.id.clone(), Seen { status, at });
        Ok(())
    }

    /// Takes a producer's report.
    pub fn producer_status(&mut self, status: ProducerStatus) {
        if let Some(running) = self.running.get_mut(&status.job) {
            running.producer = Some(status);
        }
    }

    /// Takes the queues' depths.
    pub fn set_queues(&mut self, queues: Vec<QueueDepth>) {
        self.queues = queues;
    }

    /// The queues' depths, as last read.
    pub fn queues(&self) -> &[QueueDepth] {
        &self.queues
    }

    /// The consumers heard from in the last hour, by id.
    pub fn consumers(&self, now: Instant) -> Vec<ConsumerView> {
        self.consumers
            .values()
            .map(|seen| {
                let silent = now.saturating_duration_since(seen.at);
                let seen_state = match seen.status.state {
                    ConsumerState::Stopped => SeenState::Stopped,
                    _ if silent >= LOST_AFTER => SeenState::Lost,
                    ConsumerState::Active => SeenState::Active,
                    ConsumerState::Paused => SeenState::Paused,
                    ConsumerState::Draining => SeenState::Draining,
                };
                ConsumerView {
                    status: seen.status.clone(),
                    seen_state,
                    silent_s: silent.as_secs_f64(),
                }
            })
            .collect()
    }

    /// One job, running or from the history.
    pub fn job(&self, id: &str, now_ms: u64) -> StoreResult<Option<JobView>> {
        if let Some(running) = self.running.get(id) {
            return Ok(Some(Self::running_view(running, now_ms)));
        }
        Ok(self.store.job(id)?.map(Self::history_view))
    }

    /// The `limit` most recently submitted jobs, newest first.
    pub fn jobs(&self, limit: usize, now_ms: u64) -> StoreResult<Vec<JobView>> {
        Ok(self
            .store
            .jobs(limit)?
            .into_iter()
            .map(|record| match self.running.get(&record.announcement.job) {
                Some(running) => Self::running_view(running, now_ms),
                None => Self::history_view(record),
            })
            .collect())
    }

    /// What a live view shows now; adds a point to the current job's convergence series.
    pub fn snapshot(&mut self, now: Instant, now_ms: u64) -> StoreResult<Snapshot> {
        let newest = self
            .running
            .values_mut()
            .max_by_key(|r| r.announcement.submitted_at_ms);
        let job = match newest {
            Some(running) => {
                running.live.sample();
                Some(CurrentJob {
                    job: Self::running_view(running, now_ms),
                    live: running.live.view(None),
                })
            }
            None => match &self.last_ended {
                Some((id, live)) => self.store.job(id)?.map(|record| {
                    let summary = record.summary.clone();
                    CurrentJob {
                        job: Self::history_view(record),
                        live: live.view(summary.as_ref()),
                    }
                }),
                None => None,
            },
        };
        let jobs = self
            .jobs(SNAPSHOT_JOBS, now_ms)?
            .iter()
            .map(JobBrief::from)
            .collect();
        Ok(Snapshot {
            at_ms: now_ms,
            job,
            consumers: self.consumers(now),
            queues: self
                .queues
                .iter()
                .map(|q| QueueDepthView {
                    name: q.name.clone(),
                    messages: q.messages,
                    consumers: q.consumers,
                })
                .collect(),
            jobs,
        })
    }

    fn running_view(running: &Running, now_ms: u64) -> JobView {
        let a = &running.announcement;
        let progress = running.aggregator.progress();
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
            failures: running.aggregator.failures().clone(),
            submitted_at_ms: a.submitted_at_ms,
            ended_at_ms: None,
            message: None,
            producer: running.producer.clone(),
            spec: a.spec.clone(),
        }
    }

    fn history_view(record: JobRecord) -> JobView {
        let a = record.announcement;
        let summary = record.summary.unwrap_or_else(|| JobSummary {
            model: model_ref(&a),
            seed: a.spec.simulation.seed,
            scenarios: 0,
            failed: 0,
            elapsed_s: 0.0,
            outputs: OutputSummaries::default(),
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
            spec: a.spec,
        }
    }
}

impl Running {
    fn new(
        announcement: JobAnnouncement,
        aggregator: Aggregator,
        live: Live,
        external: bool,
    ) -> Running {
        Running {
            announcement,
            aggregator,
            live,
            producer: None,
            external,
        }
    }

    fn live_outputs(&self) -> usize {
        self.announcement.info.outputs.len()
    }
}

fn model_ref(a: &JobAnnouncement) -> ModelRef {
    ModelRef {
        name: a.info.name.clone(),
        version: a.info.version.clone(),
        digest: a.info.digest.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_protocol::{ModelInfo, RefusedModel, ScenarioBatch};
    use mcp_stats::Moments;

    fn announcement(id: &str, submitted_at_ms: u64) -> JobAnnouncement {
        let text = "[simulation]\nscenarios = 6\nseed = 3\nbatch = 2\n[limits]\ntimeout_s = 10\n\
                    [variables]\nx = { dist = \"constant\", value = 1.0 }\n";
        JobAnnouncement {
            job: id.to_string(),
            info: ModelInfo {
                name: "m".into(),
                version: "1".into(),
                inputs: vec!["x".into()],
                outputs: vec!["y".into()],
                digest: "sha256:00".into(),
            },
            spec: Spec::parse(text, "vars.toml").unwrap(),
            submitted_at_ms,
        }
    }

    fn result(index: u64) -> ResultBatch {
        let values = vec![index as f64, 0.5 + index as f64];
        ResultBatch {
            batch: ScenarioBatch {
                index,
                start: index * 2,
                count: 2,
            },
            moments: vec![Moments::of(values.iter().copied())],
            values: vec![values],
            failures: vec![],
            eval_seconds: 0.0,
        }
    }

    fn batches(job: &str, indices: &[u64]) -> Vec<(JobId, ResultBatch)> {
        indices
            .iter()
            .map(|&i| (job.to_string(), result(i)))
            .collect()
    }

    fn heartbeat(id: &str) -> ConsumerStatus {
        ConsumerStatus {
            id: id.into(),
            host: "h".into(),
            state: ConsumerState::Active,
            batches: 0,
            scenarios: 0,
            scenarios_per_s: 0.0,
            last_s_per_scenario: 0.0,
            mean_s_per_scenario: 0.0,
            failures: 0,
            expired: 0,
            rss_bytes: 0,
            cpu_percent: 0.0,
            sent_at_ms: 20_001,
            refused: None,
        }
    }

    fn state(book: &Book, job: &str) -> (JobState, u64) {
        let view = book.job(job, 0).unwrap().unwrap();
        (view.state, view.scenarios)
    }

    #[test]
    fn a_restart_picks_up_a_running_job_from_its_recorded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.sqlite3");
        let mut book = Book::open(&db, 0).unwrap();
        book.announce(announcement("a", 1), 1).unwrap();
        book.record(batches("a", &[2, 0]), 2).unwrap();
        assert_eq!(state(&book, "a"), (JobState::Running, 4));
        drop(book);

        let mut book = Book::open(&db, 3).unwrap();
        assert_eq!(state(&book, "a"), (JobState::Running, 4));
        // Redeliveries of recorded batches count once; the last batch completes the job.
        book.record(batches("a", &[0, 1, 2]), 4).unwrap();
        let view = book.job("a", 5).unwrap().unwrap();
        assert_eq!(
            (view.state, view.scenarios, view.total),
            (JobState::Completed, 6, 6)
        );

        let mut direct = Aggregator::new(announcement("a", 1).info, &announcement("a", 1).spec);
        for (_, r) in batches("a", &[0, 1, 2]) {
            direct.add(r);
        }
        assert_eq!(view.outputs, direct.into_summary(0.0).outputs);
        // The history keeps the summary, not the batches.
        assert!(book.store.results("a").unwrap().is_empty());
        drop(book);
        let book = Book::open(&db, 6).unwrap();
        assert_eq!(book.job("a", 6).unwrap().unwrap(), view);
    }

    #[test]
    fn a_newer_job_supersedes_the_running_one_and_keeps_its_partial_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.announce(announcement("old", 1), 1).unwrap();
        book.record(batches("old", &[0]), 2).unwrap();
        book.announce(announcement("new", 5), 5).unwrap();
        assert_eq!(state(&book, "old"), (JobState::Superseded, 2));
        assert_eq!(state(&book, "new"), (JobState::Running, 0));
        // Late results of the superseded job are dropped.
        book.record(batches("old", &[1]), 6).unwrap();
        assert_eq!(state(&book, "old"), (JobState::Superseded, 2));
        // An announcement that arrives after a newer job's is superseded at once.
        book.announce(announcement("late", 3), 7).unwrap();
        assert_eq!(state(&book, "late").0, JobState::Superseded);
        // Announcing again changes nothing.
        book.announce(announcement("old", 1), 8).unwrap();
        assert_eq!(state(&book, "old").0, JobState::Superseded);
        let ids: Vec<_> = book
            .jobs(10, 9)
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(ids, ["new", "late", "old"]);
    }

    #[test]
    fn an_ended_jobs_batches_give_their_disk_space_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let on_disk = || {
            ["h.sqlite3", "h.sqlite3-wal"]
                .iter()
                .map(|f| std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len()))
                .sum::<u64>()
        };
        let mut book = Book::open(&db, 0).unwrap();
        let mut job = announcement("big", 1);
        job.spec.simulation.scenarios = 400_000;
        job.spec.simulation.batch = 2000;
        book.announce(job, 1).unwrap();
        let empty = on_disk();
        // 200 batches of 2000 all-different values: 16 kB each on disk.
        let results: Vec<_> = (0..200u64)
            .map(|i| {
                let values: Vec<f64> = (0..2000).map(|k| (i * 2000 + k) as f64 * 0.37).collect();
                let batch = ScenarioBatch {
                    index: i,
                    start: i * 2000,
                    count: 2000,
                };
                let result = ResultBatch {
                    batch,
                    moments: vec![Moments::of_slice(&values)],
                    values: vec![values],
                    failures: vec![],
                    eval_seconds: 0.0,
                };
                ("big".to_string(), result)
            })
            .collect();
        let (last, most) = results.split_last().unwrap();
        book.record(most.to_vec(), 2).unwrap();
        let running = on_disk();
        assert!(running > empty + 3_000_000, "{empty} -> {running} bytes");
        book.record(vec![last.clone()], 3).unwrap();
        assert_eq!(state(&book, "big"), (JobState::Completed, 400_000));
        let ended = on_disk();
        assert!(
            ended < empty + 200_000,
            "{empty} -> {running} -> {ended} bytes"
        );
    }

    #[test]
    fn results_that_arrive_before_their_announcement_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.record(batches("j", &[0, 1]), 1).unwrap();
        assert!(book.job("j", 1).unwrap().is_none());
        book.announce(announcement("j", 1), 2).unwrap();
        assert_eq!(state(&book, "j"), (JobState::Running, 4));
    }

    #[test]
    fn jobs_time_out_and_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.announce(announcement("slow", 1_000), 1_000).unwrap();
        book.record(batches("slow", &[1]), 2_000).unwrap();
        book.tick(11_000).unwrap();
        assert_eq!(state(&book, "slow"), (JobState::Running, 2));
        book.tick(11_001).unwrap();
        assert_eq!(state(&book, "slow"), (JobState::TimedOut, 2));

        book.announce(announcement("broken", 20_000), 20_000)
            .unwrap();
        let status = ConsumerStatus {
            refused: Some(RefusedModel {
                job: "broken".into(),
                error: "missing export".into(),
            }),
            ..heartbeat("C1")
        };
        let at = Instant::now();
        book.consumer_status(status, at, 20_001).unwrap();
        let view = book.job("broken", 20_002).unwrap().unwrap();
        assert_eq!(view.state, JobState::Failed);
        assert_eq!(
            view.message.as_deref(),
            Some("consumer C1 could not load the model: missing export")
        );
        let seen = |after| book.consumers(at + after)[0].seen_state;
        assert_eq!(seen(Duration::from_millis(4_900)), SeenState::Active);
        assert_eq!(seen(LOST_AFTER), SeenState::Lost);
    }

    #[test]
    fn a_snapshot_with_fifty_consumers_and_ten_million_scenarios_stays_compact() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        let mut job = announcement("big", 1);
        job.spec.simulation.scenarios = 10_000_000;
        job.spec.simulation.batch = 8192;
        book.follow(job).unwrap();
        let at = Instant::now();
        for c in 0..50 {
            let mut status = heartbeat(&format!("consumer-{c:02}"));
            status.scenarios = 200_000;
            book.consumer_status(status, at, 2).unwrap();
        }
        let batches = 10_000_000u64.div_ceil(8192);
        let mut size = 0;
        for index in 0..batches {
            let count = (10_000_000 - index * 8192).min(8192) as u32;
            let values: Vec<f64> = (0..count)
                .map(|i| ((index * 8192 + u64::from(i)) as f64 * 0.618).fract())
                .collect();
            let result = ResultBatch {
                batch: ScenarioBatch {
                    index,
                    start: index * 8192,
                    count,
                },
                moments: vec![Moments::of_slice(&values)],
                values: vec![values],
                failures: vec![],
                eval_seconds: 1e-3,
            };
            book.record(vec![("big".to_string(), result)], 3).unwrap();
            if index % 8 == 0 {
                // A snapshot every few batches, as twice a second would take during the job.
                let snapshot = book.snapshot(at, 4).unwrap();
                size = serde_json::to_string(&snapshot).unwrap().len();
            }
        }
        let snapshot = book.snapshot(at, 5).unwrap();
        let job = snapshot.job.as_ref().unwrap();
        assert_eq!(job.job.scenarios, 10_000_000);
        assert_eq!(job.live.outputs[0].count, 10_000_000);
        assert_eq!(snapshot.consumers.len(), 50);
        assert!(job.live.outputs[0].convergence.len() <= 512);
        assert!(size < 96 * 1024, "a snapshot is {size} bytes");
    }
}
