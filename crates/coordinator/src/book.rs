//! The coordinator's books: every running [`Job`], the history ([`Store`]), the fleet
//! ([`Roster`]), the queues' depths. A restart picks up each running job from its recorded
//! batches.

use crate::aggregator::Added;
use crate::consumers::{Roster, SeenConsumer};
use crate::job::{EndCause, Ended, Job, JobState};
use crate::store::{HistoryReader, JobRecord, Store, StoreResult};
use mcp_broker::QueueDepth;
use mcp_protocol::{
    ConsumerStatus, FailureKind, JobAnnouncement, JobId, ProducerStatus, ResultBatch, StopCause,
};
use mcp_spec::Ceilings;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Jobs that ended in this process whose outcome stays at hand (the newest is the live view's).
const RECENT: usize = 8;
/// How long results of a job nobody announced are kept, waiting for its announcement.
pub const UNANNOUNCED_KEPT_MS: u64 = 3600 * 1000;
/// Most jobs whose results wait for an announcement; results of more are dropped at once.
const MAX_UNANNOUNCED: usize = 1000;

/// The coordinator's state.
#[derive(Debug)]
pub struct Book {
    store: Store,
    /// Whether running jobs keep live statistics (for a live view).
    live: bool,
    running: BTreeMap<JobId, Job>,
    /// Jobs known to have ended: their late results are dropped without a look-up.
    ended: HashSet<JobId>,
    /// The jobs that ended last in this process, newest first.
    recent: VecDeque<Ended>,
    roster: Roster,
    queues: Vec<QueueDepth>,
    /// The history on a connection of its own, for readers that must not hold the book.
    reader: Option<Arc<HistoryReader>>,
    /// Jobs whose results arrived before any announcement, and when the first did.
    unannounced: HashMap<JobId, u64>,
    /// Jobs that ended while the history could not be written (a full disk): their end is
    /// written at the next tick that can.
    unwritten_ends: Vec<Ended>,
    /// Why the history could not be written the last time it was tried, until it can again.
    write_failure: Option<String>,
    /// The operator's ceilings (`mcp serve`): a job announced over them is refused.
    ceilings: Option<Ceilings>,
    /// Jobs that ended early, and why, for the loop to stop everywhere ([`Book::take_stops`]).
    stops: Vec<(JobId, StopCause)>,
    /// What this process counted since it started.
    totals: Totals,
    /// Whether the coordinator's loop holds a link to the broker.
    connected: bool,
}

/// What a coordinator counted since it started, over every job: the counters of `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Scenarios counted (succeeded or failed).
    pub scenarios: u64,
    /// Result batches counted.
    pub batches: u64,
    /// Scenarios that failed, by kind.
    pub failed: BTreeMap<FailureKind, u64>,
}

/// Result batches the history could not record (they were neither recorded nor counted), and
/// why: the caller holds them, unacknowledged, and offers them again.
#[derive(Debug)]
pub struct Unrecorded {
    /// Why.
    pub error: crate::StoreError,
    /// The batches, as they were given.
    pub results: Vec<(JobId, ResultBatch)>,
}

/// A job as the books know it.
#[derive(Debug)]
pub enum JobEntry<'a> {
    /// Running: its aggregate so far.
    Running(&'a Job),
    /// As the history records it.
    Recorded(Box<JobRecord>),
}

impl JobEntry<'_> {
    /// Where it stands.
    pub fn state(&self) -> JobState {
        match self {
            JobEntry::Running(_) => JobState::Running,
            JobEntry::Recorded(r) => r.state,
        }
    }

    /// Scenarios evaluated (succeeded or failed).
    pub fn scenarios(&self) -> u64 {
        match self {
            JobEntry::Running(job) => job.progress().scenarios,
            JobEntry::Recorded(r) => r.summary.as_ref().map_or(0, |s| s.scenarios),
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            JobEntry::Running(job) => job.id(),
            JobEntry::Recorded(r) => &r.announcement.job,
        }
    }
}

/// The job a live view follows: the newest running one, else the one that ended last here.
#[derive(Debug)]
pub enum Current<'a> {
    /// Running.
    Running(&'a Job),
    /// Ended in this process.
    Ended(&'a Ended),
}

impl Book {
    /// Opens the history at `path` and picks up every job that was running, from its
    /// recorded batches. Running jobs keep live statistics.
    pub fn open(path: &Path, now_ms: u64) -> StoreResult<Book> {
        let store = Store::open(path)?;
        let reader = store.reader()?.map(Arc::new);
        let mut book = Book::with_store(store, true);
        book.reader = reader;
        book.unannounced = book.store.unannounced()?.into_iter().collect();
        for record in book.store.running()? {
            // Recorded by an mcp that did not check announcements: refused now, not at every
            // restart.
            match record.announcement.check() {
                Ok(()) => book.start(record.announcement)?,
                Err(reason) => book.refuse(record.announcement, &reason, now_ms)?,
            }
        }
        book.settle(now_ms)?;
        Ok(book)
    }

    /// Books with the history in memory (see [`Store::in_memory`]): a coordinator following
    /// the jobs of its own process, or one job to its end. `live` keeps live statistics.
    pub fn in_memory(live: bool) -> StoreResult<Book> {
        Ok(Book::with_store(Store::in_memory()?, live))
    }

    pub(crate) fn with_store(store: Store, live: bool) -> Book {
        Book {
            store,
            live,
            running: BTreeMap::new(),
            ended: HashSet::new(),
            recent: VecDeque::new(),
            roster: Roster::default(),
            queues: Vec::new(),
            reader: None,
            unannounced: HashMap::new(),
            unwritten_ends: Vec::new(),
            write_failure: None,
            ceilings: None,
            stops: Vec::new(),
            totals: Totals::default(),
            connected: false,
        }
    }

    /// Refuses, from now on, jobs announced over the operator's `ceilings`, naming the one a
    /// job exceeds (what `mcp serve --max-fuel ...` sets).
    pub fn set_ceilings(&mut self, ceilings: Ceilings) {
        self.ceilings = Some(ceilings);
    }

    /// The jobs that ended early since the last call (superseded, timed out, failed, refused),
    /// and why: their producer, consumers and follower are to be told. Jobs cancelled through
    /// [`Book::cancel`] are not among them: whoever cancels stops their work.
    pub fn take_stops(&mut self) -> Vec<(JobId, StopCause)> {
        std::mem::take(&mut self.stops)
    }

    /// Gives back stops taken but not yet told (the link failed), to be told first.
    pub fn keep_stops(&mut self, stops: impl IntoIterator<Item = (JobId, StopCause)>) {
        let later = std::mem::take(&mut self.stops);
        self.stops.extend(stops);
        self.stops.extend(later);
    }

    /// Why the history could not be written the last time results were recorded, while it
    /// still cannot (a full disk, say): results wait unacknowledged meanwhile.
    pub fn write_failure(&self) -> Option<&str> {
        self.write_failure.as_deref()
    }

    /// The history itself (tests fill its disk).
    #[cfg(test)]
    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// A reader of the history that works without this book's lock (see
    /// [`Store::reader`]); `None` for a history in memory, which only the book reads.
    pub fn reader(&self) -> Option<Arc<HistoryReader>> {
        self.reader.clone()
    }

    /// The `limit` most recently submitted jobs as the history records them (a running job's
    /// record says only that it runs; [`Book::running`] has its aggregate).
    pub fn history(&self, limit: usize) -> StoreResult<Vec<JobRecord>> {
        self.store.jobs(limit)
    }

    /// Starts following a job, counting the batches already recorded for it.
    pub(crate) fn start(&mut self, announcement: JobAnnouncement) -> StoreResult<()> {
        let mut job = Job::new(announcement, self.live);
        let recorded = self.store.results(job.id())?;
        let n = recorded.len();
        for result in recorded {
            if let Added::Rejected(why) = job.add(result) {
                tracing::warn!(job = %job.id(), "ignored a recorded result batch: {why}");
            }
        }
        tracing::info!(job = %job.id(), batches = n, "following job");
        self.running.insert(job.id().to_string(), job);
        Ok(())
    }

    /// Records a newly announced job. Jobs follow one another in the order this coordinator
    /// first hears of them, on its own clock: the announcement's `submitted_at_ms` becomes
    /// `now_ms`, and the new job supersedes every running job, whatever clock its producer
    /// keeps. A job announced again is left as it is.
    /// An announcement past a bound (see [`JobAnnouncement::check`]) or over the operator's
    /// ceilings is recorded as a job that failed at once, with the reason (it supersedes the
    /// running jobs all the same: its model replaced theirs at the consumers); one whose id
    /// cannot even be recorded is only logged.
    pub fn announce(&mut self, mut announcement: JobAnnouncement, now_ms: u64) -> StoreResult<()> {
        let id = announcement.job.clone();
        if let Err(reason) = mcp_protocol::check_job_id(&id) {
            tracing::warn!("dropped a job announcement: {reason}");
            return Ok(());
        }
        if self.running.contains_key(&id)
            || self.ended.contains(&id)
            || self.store.job(&id)?.is_some()
        {
            return Ok(());
        }
        self.unannounced.remove(&id);
        announcement.submitted_at_ms = now_ms;
        let older: Vec<JobId> = self.running.keys().cloned().collect();
        let refusal = announcement.check().and_then(|()| match &self.ceilings {
            Some(ceilings) => ceilings.check(&announcement.spec, "this server"),
            None => Ok(()),
        });
        self.store.insert_job(&announcement, JobState::Running)?;
        match refusal {
            Ok(()) => self.start(announcement)?,
            Err(reason) => self.refuse(announcement, &reason, now_ms)?,
        }
        for job in older {
            self.end(&job, EndCause::Superseded { by: id.clone() }, now_ms)?;
        }
        self.settle(now_ms)
    }

    /// Records result batches (one transaction), then counts them. Batches of jobs that ended
    /// are dropped; batches of jobs not announced yet are kept for when they are (on a history
    /// on disk; one in memory keeps no batches).
    pub fn record(
        &mut self,
        results: Vec<(JobId, ResultBatch)>,
        now_ms: u64,
    ) -> Result<(), Unrecorded> {
        // What the history must be asked first, before anything is taken from `results`, so
        // that a failure hands them all back.
        let mut recorded_before = HashSet::new();
        for (job, _) in &results {
            if !self.running.contains_key(job) && !self.ended.contains(job) {
                match self.store.job(job) {
                    Ok(Some(_)) => {
                        recorded_before.insert(job.clone());
                    }
                    Ok(None) => {}
                    Err(error) => return Err(Unrecorded { error, results }),
                }
            }
        }
        let mut keep = Vec::with_capacity(results.len());
        for (job, result) in results {
            if let Some(Err(why)) = self.running.get(&job).map(|j| j.check(&result)) {
                // Neither recorded nor counted: it would make the summary wrong.
                tracing::warn!(job, "ignored a result batch: {why}");
                continue;
            }
            if self.running.contains_key(&job) {
                keep.push((job, result));
            } else if self.ended.contains(&job) {
                // A late result of a job that ended: dropped.
                continue;
            } else if recorded_before.contains(&job) {
                self.ended.insert(job);
            } else if self.unannounced.contains_key(&job)
                || self.unannounced.len() < MAX_UNANNOUNCED
            {
                self.unannounced.entry(job.clone()).or_insert(now_ms);
                keep.push((job, result));
            } else {
                tracing::warn!(
                    job,
                    "dropped a result of a job nobody announced: too many such jobs wait"
                );
            }
        }
        if let Err(error) = self
            .store
            .insert_results(keep.iter().map(|(job, r)| (job.as_str(), r)), now_ms)
        {
            self.write_failure = Some(error.to_string());
            return Err(Unrecorded {
                error,
                results: keep,
            });
        }
        self.write_failure = None;
        for (job, result) in keep {
            let Some(running) = self.running.get_mut(&job) else {
                continue;
            };
            let count = result.batch.count;
            let mut failed = BTreeMap::<FailureKind, u64>::new();
            for f in &result.failures {
                *failed.entry(f.kind).or_default() += 1;
            }
            match running.add(result) {
                Added::New => {
                    self.totals.scenarios += u64::from(count);
                    self.totals.batches += 1;
                    for (kind, n) in failed {
                        *self.totals.failed.entry(kind).or_default() += n;
                    }
                }
                Added::Duplicate => {}
                Added::Rejected(why) => tracing::warn!(job, "ignored a result batch: {why}"),
            }
        }
        // The batches are recorded and counted: what follows must not hand them back.
        if let Err(e) = self.settle(now_ms) {
            tracing::error!("{e}");
        }
        Ok(())
    }

    /// Ends the jobs that ended by themselves: every batch counted, or their time-out passed.
    pub(crate) fn settle(&mut self, now_ms: u64) -> StoreResult<()> {
        let settled: Vec<(JobId, EndCause)> = self
            .running
            .values()
            .filter_map(|j| Some((j.id().to_string(), j.settled(now_ms)?)))
            .collect();
        for (job, cause) in settled {
            self.end(&job, cause, now_ms)?;
        }
        Ok(())
    }

    /// Ends a running job for `cause`, recording its (possibly partial) summary; a job that
    /// ended early is to be stopped everywhere ([`Book::take_stops`]).
    fn end(&mut self, job: &str, cause: EndCause, now_ms: u64) -> StoreResult<()> {
        let Some(running) = self.running.remove(job) else {
            return Ok(());
        };
        let ended = running.end(cause.clone(), now_ms);
        if let Some(stop) = cause.stop(ended.message.as_deref()) {
            self.stops.push((job.to_string(), stop));
        }
        self.record_end(ended)
    }

    /// Ends a recorded job that must not run, with why.
    fn refuse(
        &mut self,
        announcement: JobAnnouncement,
        reason: &str,
        now_ms: u64,
    ) -> StoreResult<()> {
        tracing::warn!(job = %announcement.job, "refused a job: {reason}");
        let ended = Ended::refused(announcement, reason, now_ms);
        let reason = ended.message.clone().unwrap_or_default();
        self.stops
            .push((ended.announcement.job.clone(), StopCause::Failed { reason }));
        self.record_end(ended)
    }

    /// Records how a job ended, and keeps it at hand. When the history cannot be written for
    /// a while (a full disk), the end is kept and written at a later tick: the job has ended
    /// all the same.
    fn record_end(&mut self, mut ended: Ended) -> StoreResult<()> {
        let job = ended.announcement.job.clone();
        tracing::info!(job, state = ?ended.state, scenarios = ended.summary.scenarios, "job ended");
        self.ended.insert(job.clone());
        // The kept scenarios go to the history alone: the jobs at hand hold only their count.
        let kept = std::mem::take(&mut ended.kept);
        self.recent.push_front(ended.clone());
        self.recent.truncate(RECENT);
        ended.kept = kept;
        match self.write_end(&ended) {
            Ok(()) => Ok(()),
            Err(e) if e.transient => {
                tracing::warn!(job, "the job's end is not written yet: {e}");
                self.unwritten_ends.push(ended);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn write_end(&mut self, ended: &Ended) -> StoreResult<()> {
        self.store.end_job(
            &ended.announcement.job,
            ended.state,
            ended.ended_at_ms,
            ended.message.as_deref(),
            &ended.summary,
            &ended.failures,
            &ended.kept,
        )
    }

    /// The scenarios an ended job kept whole (`simulation.keep`), in scenario order, as the
    /// history has them.
    pub fn kept(&self, job: &str) -> StoreResult<Vec<mcp_protocol::KeptScenario>> {
        self.store.kept(job)
    }

    /// Cancels a running job: it ends now, its summary covering the batches counted so far.
    /// `Ok(false)` when the job is not running.
    pub fn cancel(&mut self, job: &str, now_ms: u64) -> StoreResult<bool> {
        let Some(running) = self.running.remove(job) else {
            return Ok(false);
        };
        self.record_end(running.end(EndCause::Cancelled, now_ms))?;
        Ok(true)
    }

    /// Ends a running job that `mcp serve` stopped for `cause` (what a follower hears).
    /// `Ok(false)` when the job is not running, or when its `[stop]` rule ended it
    /// ([`StopCause::Finished`]): this book judges the same rule on the same prefix and ends
    /// the job itself, with the summary of that prefix.
    pub fn stopped(&mut self, job: &str, cause: StopCause, now_ms: u64) -> StoreResult<bool> {
        if matches!(cause, StopCause::Finished { .. }) {
            return Ok(false);
        }
        let Some(running) = self.running.remove(job) else {
            return Ok(false);
        };
        self.record_end(running.end(cause.into(), now_ms))?;
        Ok(true)
    }

    /// Once a second: ends the running jobs whose time-out has passed, forgets consumers
    /// silent for an hour.
    pub fn tick(&mut self, now_ms: u64) -> StoreResult<()> {
        for ended in std::mem::take(&mut self.unwritten_ends) {
            if let Err(e) = self.write_end(&ended) {
                self.unwritten_ends.push(ended);
                if !e.transient {
                    return Err(e);
                }
            }
        }
        self.settle(now_ms)?;
        self.judge_refusals(Instant::now(), now_ms)?;
        let expired: Vec<JobId> = self
            .unannounced
            .iter()
            .filter(|(_, first)| now_ms.saturating_sub(**first) > UNANNOUNCED_KEPT_MS)
            .map(|(job, _)| job.clone())
            .collect();
        for job in expired {
            let n = self.store.delete_results(&job)?;
            self.unannounced.remove(&job);
            tracing::warn!(
                job,
                "dropped {n} results of a job nobody announced within an hour"
            );
        }
        self.roster.forget_silent(Instant::now());
        Ok(())
    }

    /// Takes a consumer's heartbeat. A consumer that newly refuses a running job (over its
    /// ceilings, or the model does not load there) has the fleet judged again: the job fails
    /// when every live consumer refuses it.
    pub fn consumer_status(
        &mut self,
        status: ConsumerStatus,
        at: Instant,
        now_ms: u64,
    ) -> StoreResult<()> {
        let refused =
            |s: Option<&ConsumerStatus>| s.and_then(|s| s.refused.as_ref()).map(|r| r.job.clone());
        let before = refused(self.roster.last(&status.id));
        let now_refused = refused(Some(&status));
        self.roster.heard(status, at);
        if now_refused.is_some() && now_refused != before {
            self.judge_refusals(at, now_ms)?;
        }
        Ok(())
    }

    /// Notes, for each running job, which live consumers refuse it and why, and fails a job
    /// that every live consumer refuses, with each one's reason. A consumer that has not
    /// tried the job yet, or is paused, may still run it; one lost or stopped does not count.
    fn judge_refusals(&mut self, now: Instant, now_ms: u64) -> StoreResult<()> {
        if self.running.is_empty() {
            return Ok(());
        }
        let mut live = 0;
        let mut refusals: HashMap<&str, Vec<(String, String)>> = HashMap::new();
        for status in self.roster.live(now) {
            live += 1;
            if let Some(refused) = &status.refused
                && self.running.contains_key(&refused.job)
            {
                refusals
                    .entry(refused.job.as_str())
                    .or_default()
                    .push((status.id.clone(), refused.error.clone()));
            }
        }
        let mut failed = Vec::new();
        for (id, job) in self.running.iter_mut() {
            let by = refusals.remove(id.as_str()).unwrap_or_default();
            if live > 0 && by.len() == live {
                failed.push((id.clone(), by.clone()));
            }
            job.set_refusals(by);
        }
        for (id, by) in failed {
            self.end(&id, EndCause::Refused { by }, now_ms)?;
        }
        Ok(())
    }

    /// Takes a producer's report.
    pub fn producer_status(&mut self, status: ProducerStatus) {
        if let Some(running) = self.running.get_mut(&status.job) {
            running.set_producer(status);
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

    /// What this process counted since it started.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Says whether the coordinator's loop holds a link to the broker.
    pub fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
    }

    /// Whether the coordinator's loop holds a link to the broker.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// The running jobs' progress, by id.
    pub fn progress(&self) -> Vec<(JobId, crate::Progress)> {
        self.running
            .iter()
            .map(|(id, job)| (id.clone(), job.progress()))
            .collect()
    }

    /// How many jobs the history holds in each state.
    pub fn jobs_by_state(&self) -> StoreResult<BTreeMap<JobState, u64>> {
        self.store.jobs_by_state()
    }

    /// The consumers heard from in the last hour, by id, as seen at `now`.
    pub fn consumers(&self, now: Instant) -> Vec<SeenConsumer> {
        self.roster.consumers(now)
    }

    /// A running job.
    pub fn running(&self, id: &str) -> Option<&Job> {
        self.running.get(id)
    }

    /// How a job that ended in this process ended (the last few are kept).
    pub fn ended(&self, id: &str) -> Option<&Ended> {
        self.recent.iter().find(|e| e.announcement.job == id)
    }

    /// One job, running or from the history.
    pub fn job(&self, id: &str) -> StoreResult<Option<JobEntry<'_>>> {
        if let Some(running) = self.running.get(id) {
            return Ok(Some(JobEntry::Running(running)));
        }
        Ok(self.store.job(id)?.map(|r| JobEntry::Recorded(Box::new(r))))
    }

    /// The `limit` most recently submitted jobs, newest first.
    pub fn jobs(&self, limit: usize) -> StoreResult<Vec<JobEntry<'_>>> {
        Ok(self
            .store
            .jobs(limit)?
            .into_iter()
            .map(|record| match self.running.get(&record.announcement.job) {
                Some(running) => JobEntry::Running(running),
                None => JobEntry::Recorded(Box::new(record)),
            })
            .collect())
    }

    /// The job a live view follows; adds a point to a running one's convergence series.
    pub fn current(&mut self) -> Option<Current<'_>> {
        // The one announced last (at most one runs, but a history written by an older mcp
        // may hold several).
        let newest = self
            .running
            .values_mut()
            .max_by_key(|j| j.announcement().submitted_at_ms);
        match newest {
            Some(job) => {
                job.sample();
                Some(Current::Running(job))
            }
            None => self.recent.front().map(Current::Ended),
        }
    }
}

impl From<&Ended> for JobRecord {
    fn from(e: &Ended) -> JobRecord {
        JobRecord {
            announcement: e.announcement.clone(),
            state: e.state,
            ended_at_ms: Some(e.ended_at_ms),
            message: e.message.clone(),
            summary: Some(e.summary.clone()),
            failures: Some(e.failures.clone()),
            kept: e.kept_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::Aggregator;
    use crate::consumers::LOST_AFTER;
    use mcp_protocol::RefusedModel;
    use mcp_testkit::fixtures::{self, heartbeat};
    use std::time::Duration;

    #[test]
    fn totals_count_each_batch_once_with_its_failures_by_kind() {
        let mut book = Book::in_memory(true).unwrap();
        book.announce(fixtures::announcement("j", 4, 2, 1), 1)
            .unwrap();
        let mut half_failed = fixtures::result(0, 2, vec![0.5]);
        half_failed.batch.count = 2;
        half_failed.failures = vec![mcp_protocol::ScenarioFailure {
            scenario: 1,
            kind: FailureKind::OutOfFuel,
            message: "fuel".into(),
        }];
        let twice = vec![
            ("j".to_string(), half_failed.clone()),
            ("j".to_string(), half_failed),
        ];
        book.record(twice, 2).unwrap();
        assert_eq!(
            book.totals(),
            &Totals {
                scenarios: 2,
                batches: 1,
                failed: BTreeMap::from([(FailureKind::OutOfFuel, 1)]),
            }
        );
        assert_eq!(book.progress()[0].1.scenarios, 2);
        assert_eq!(book.jobs_by_state().unwrap()[&JobState::Running], 1);
        book.record(
            vec![("j".into(), fixtures::result(1, 2, vec![1.0, 2.0]))],
            3,
        )
        .unwrap();
        assert_eq!(book.totals().scenarios, 4);
        assert_eq!(book.jobs_by_state().unwrap()[&JobState::Completed], 1);
        assert!(book.progress().is_empty());
    }

    fn announcement(id: &str, submitted_at_ms: u64) -> JobAnnouncement {
        let mut a = fixtures::announcement(id, 6, 2, submitted_at_ms);
        a.spec.limits.timeout_s = 10;
        a
    }

    fn batches(job: &str, indices: &[u64]) -> Vec<(JobId, ResultBatch)> {
        indices
            .iter()
            .map(|&i| {
                let values = vec![i as f64, 0.5 + i as f64];
                (job.to_string(), fixtures::result(i, 2, values))
            })
            .collect()
    }

    fn state(book: &Book, job: &str) -> (JobState, u64) {
        let entry = book.job(job).unwrap().unwrap();
        (entry.state(), entry.scenarios())
    }

    fn recorded(book: &Book, job: &str) -> JobRecord {
        match book.job(job).unwrap() {
            Some(JobEntry::Recorded(r)) => *r,
            other => panic!("{job} is not in the history: {other:?}"),
        }
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
        let done = recorded(&book, "a");
        assert_eq!(
            (done.state, done.summary.as_ref().unwrap().scenarios),
            (JobState::Completed, 6)
        );

        let a = announcement("a", 1);
        let mut direct = Aggregator::new(a.info, &a.spec);
        for (_, r) in batches("a", &[0, 1, 2]) {
            direct.add(r);
        }
        assert_eq!(
            done.summary.as_ref().unwrap().outputs,
            direct.into_summary(0.0).outputs
        );
        assert_eq!(book.ended("a").map(JobRecord::from), Some(done.clone()));
        // The history keeps the summary, not the batches.
        assert!(book.store.results("a").unwrap().is_empty());
        drop(book);
        let book = Book::open(&db, 6).unwrap();
        assert_eq!(recorded(&book, "a"), done);
    }

    #[test]
    fn a_newer_job_supersedes_the_running_one_and_keeps_its_partial_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.announce(announcement("old", 1), 1).unwrap();
        book.record(batches("old", &[0]), 2).unwrap();
        book.announce(announcement("new", 5), 5).unwrap();
        assert_eq!(state(&book, "old"), (JobState::Superseded, 2));
        assert_eq!(
            book.ended("old").unwrap().superseded_by.as_deref(),
            Some("new")
        );
        assert_eq!(state(&book, "new"), (JobState::Running, 0));
        // Late results of the superseded job are dropped.
        book.record(batches("old", &[1]), 6).unwrap();
        assert_eq!(state(&book, "old"), (JobState::Superseded, 2));
        // Announcing again changes nothing.
        book.announce(announcement("old", 1), 8).unwrap();
        assert_eq!(state(&book, "old").0, JobState::Superseded);
        assert_eq!(state(&book, "new").0, JobState::Running);
        assert_eq!(
            book.take_stops(),
            [("old".into(), StopCause::Superseded { by: "new".into() })]
        );
    }

    #[test]
    fn the_order_of_jobs_is_the_coordinators_not_a_producers_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        // A producer whose clock runs a century fast announces first...
        let century_ms = 100 * 365 * 86_400 * 1000;
        book.announce(announcement("fast-clock", 1_000 + century_ms), 1_000)
            .unwrap();
        // ...then one with a true clock, and one whose clock stopped at the epoch: each one
        // announced later supersedes the one before, and none is superseded at once.
        book.announce(announcement("true-clock", 2_000), 2_000)
            .unwrap();
        assert_eq!(state(&book, "fast-clock").0, JobState::Superseded);
        assert_eq!(state(&book, "true-clock").0, JobState::Running);
        book.announce(announcement("slow-clock", 0), 3_000).unwrap();
        assert_eq!(state(&book, "true-clock").0, JobState::Superseded);
        assert_eq!(state(&book, "slow-clock").0, JobState::Running);
        // Its time-out runs on the coordinator's clock, from when the coordinator heard of it.
        book.tick(3_000 + 10_000).unwrap();
        assert_eq!(state(&book, "slow-clock").0, JobState::Running);
        book.tick(3_000 + 10_001).unwrap();
        assert_eq!(state(&book, "slow-clock").0, JobState::TimedOut);
        let ids: Vec<String> = book
            .jobs(10)
            .unwrap()
            .iter()
            .map(|j| j.id().to_string())
            .collect();
        assert_eq!(ids, ["slow-clock", "true-clock", "fast-clock"]);
        assert_eq!(
            book.take_stops(),
            [
                (
                    "fast-clock".into(),
                    StopCause::Superseded {
                        by: "true-clock".into()
                    }
                ),
                (
                    "true-clock".into(),
                    StopCause::Superseded {
                        by: "slow-clock".into()
                    }
                ),
                ("slow-clock".into(), StopCause::TimedOut),
            ]
        );
    }

    #[test]
    fn a_job_over_the_servers_ceilings_is_refused_naming_the_ceiling() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.set_ceilings(Ceilings {
            fuel_per_scenario: 1_000,
            ..Ceilings::default()
        });
        book.announce(announcement("greedy", 1), 1).unwrap();
        let view = recorded(&book, "greedy");
        assert_eq!(view.state, JobState::Failed);
        let message = view.message.unwrap();
        assert!(
            message.contains("limits.fuel_per_scenario")
                && message.contains("this server allows (1000)")
                && message.contains("--max-fuel"),
            "{message}"
        );
        assert_eq!(
            book.take_stops(),
            [("greedy".into(), StopCause::Failed { reason: message })]
        );
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
        book.announce(fixtures::announcement("big", 400_000, 2000, 1), 1)
            .unwrap();
        let empty = on_disk();
        // 200 batches of 2000 all-different values: 16 kB each on disk.
        let results: Vec<_> = (0..200u64)
            .map(|i| {
                let values: Vec<f64> = (0..2000).map(|k| (i * 2000 + k) as f64 * 0.37).collect();
                ("big".to_string(), fixtures::result(i, 2000, values))
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
    fn a_history_of_schema_1_made_by_the_previous_release_is_migrated_and_read() {
        // Made by mcp 8b68342 (schema 1): a completed pricing job of 20,480 scenarios, and one
        // of 2,000,000 left running, its coordinator killed with 5 batches recorded.
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/history-v1.sqlite3");
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        std::fs::copy(fixture, &db).unwrap();
        let (done, running) = (
            "1796150142249-15857-89c511db",
            "1796150142463-15875-89c511db",
        );
        for round in 0..2 {
            let book = Book::open(&db, 1_796_150_200_000).unwrap();
            let completed = recorded(&book, done);
            assert_eq!(completed.state, JobState::Completed, "round {round}");
            let summary = completed.summary.unwrap();
            assert_eq!(summary.scenarios, 20_480);
            assert_eq!(summary.outputs.0[0].0, "price");
            assert_eq!(summary.outputs.0[0].1.count, 20_480);
            assert_eq!(state(&book, running), (JobState::Running, 5 * 1024));
            assert_eq!(book.jobs(10).unwrap().len(), 2);
            let version: i64 = book
                .store
                .db
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, crate::store::SCHEMA_VERSION);
        }
    }

    #[test]
    fn a_row_the_history_cannot_read_is_skipped_and_the_rest_is_shown() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let mut book = Book::open(&db, 0).unwrap();
        book.announce(announcement("good", 1), 1).unwrap();
        book.announce(announcement("broken", 2), 2).unwrap();
        book.store
            .db
            .execute(
                "UPDATE jobs SET announcement = x'c1c1' WHERE id = 'broken'",
                [],
            )
            .unwrap();
        drop(book);
        // A restart does not stumble on it; the history shows the rest.
        let book = Book::open(&db, 3).unwrap();
        let ids: Vec<String> = book
            .jobs(10)
            .unwrap()
            .iter()
            .map(|j| j.id().to_string())
            .collect();
        assert_eq!(ids, ["good"]);
        let reader = book.reader().unwrap();
        assert_eq!(reader.jobs(10).unwrap().len(), 1);
        assert!(reader.job("broken").unwrap().is_none());
    }

    #[test]
    fn results_nobody_announces_are_dropped_after_an_hour_also_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let mut book = Book::open(&db, 0).unwrap();
        book.record(batches("orphan", &[0, 1]), 1_000).unwrap();
        assert_eq!(book.store.results("orphan").unwrap().len(), 2);
        drop(book);
        let mut book = Book::open(&db, 2_000).unwrap();
        book.tick(1_000 + UNANNOUNCED_KEPT_MS).unwrap();
        assert_eq!(
            book.store.results("orphan").unwrap().len(),
            2,
            "an hour is not up"
        );
        book.tick(1_001 + UNANNOUNCED_KEPT_MS).unwrap();
        assert!(book.store.results("orphan").unwrap().is_empty());
    }

    #[test]
    fn results_that_arrive_before_their_announcement_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        book.record(batches("j", &[0, 1]), 1).unwrap();
        assert!(book.job("j").unwrap().is_none());
        book.announce(announcement("j", 1), 2).unwrap();
        assert_eq!(state(&book, "j"), (JobState::Running, 4));
    }

    #[test]
    fn a_history_in_memory_counts_without_storing_batches() {
        let mut book = Book::in_memory(false).unwrap();
        book.announce(announcement("j", 1), 1).unwrap();
        book.record(batches("j", &[1, 0]), 2).unwrap();
        assert_eq!(state(&book, "j"), (JobState::Running, 4));
        assert!(book.store.results("j").unwrap().is_empty());
        assert!(book.running("j").unwrap().live().is_none());
        book.record(batches("j", &[2]), 3).unwrap();
        assert_eq!(book.ended("j").unwrap().state, JobState::Completed);
    }

    #[test]
    fn announcements_past_a_bound_are_refused_and_the_coordinator_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let mut book = Book::open(&db, 0).unwrap();
        type Spoil = fn(&mut JobAnnouncement);
        let forged: [(&str, Spoil, &str); 3] = [
            (
                "zero-batch",
                |a| a.spec.simulation.batch = 0,
                "simulation.batch",
            ),
            (
                "endless",
                |a| a.spec.simulation.scenarios = u64::MAX,
                "simulation.scenarios",
            ),
            (
                "wide",
                |a| a.info.outputs = (0..5000).map(|k| format!("o{k}")).collect(),
                "5000 outputs",
            ),
        ];
        for (id, spoil, field) in forged {
            let mut a = announcement(id, 1);
            spoil(&mut a);
            book.announce(a, 2).unwrap();
            let refused = recorded(&book, id);
            assert_eq!(refused.state, JobState::Failed);
            let message = refused.message.unwrap();
            assert!(
                message.starts_with("refused: ") && message.contains(field),
                "{message}"
            );
        }
        let mut bad_id = announcement("a/b", 1);
        bad_id.job = "x".repeat(1000);
        book.announce(bad_id, 2).unwrap();
        assert_eq!(
            book.jobs(10).unwrap().len(),
            3,
            "an id that cannot be stored is dropped"
        );
        // A good job still runs, and a restart does not stumble on the refused ones.
        book.announce(announcement("good", 3), 3).unwrap();
        book.record(batches("good", &[0]), 4).unwrap();
        drop(book);
        let book = Book::open(&db, 5).unwrap();
        assert_eq!(state(&book, "good"), (JobState::Running, 2));
        assert_eq!(state(&book, "endless").0, JobState::Failed);
    }

    #[test]
    fn a_running_job_recorded_without_checks_is_refused_at_start_not_at_every_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let mut store = Store::open(&db).unwrap();
        let mut old = announcement("old", 1);
        old.spec.simulation.batch = 0;
        store.insert_job(&old, JobState::Running).unwrap();
        drop(store);
        let book = Book::open(&db, 2).unwrap();
        assert_eq!(state(&book, "old").0, JobState::Failed);
        drop(book);
        assert_eq!(
            state(&Book::open(&db, 3).unwrap(), "old").0,
            JobState::Failed
        );
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
        book.consumer_status(
            refusing("C1", "broken", "missing export"),
            Instant::now(),
            20_001,
        )
        .unwrap();
        let view = recorded(&book, "broken");
        assert_eq!(view.state, JobState::Failed);
        assert_eq!(
            view.message.as_deref(),
            Some("no consumer can run it: consumer C1: missing export")
        );
        assert_eq!(book.consumers(Instant::now())[0].status.id, "C1");
    }

    fn refusing(id: &str, job: &str, why: &str) -> ConsumerStatus {
        ConsumerStatus {
            refused: Some(RefusedModel {
                job: job.into(),
                error: why.into(),
            }),
            ..heartbeat(id)
        }
    }

    #[test]
    fn a_job_fails_only_when_every_live_consumer_refuses_it_with_every_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        let at = Instant::now();
        book.consumer_status(heartbeat("able"), at, 1).unwrap();
        book.consumer_status(heartbeat("gone"), at, 1).unwrap();
        book.announce(announcement("j", 1), 1).unwrap();
        // One consumer refuses: the others may run it, and the job shows who refuses and why.
        book.consumer_status(refusing("small", "j", "over its memory"), at, 2)
            .unwrap();
        book.tick(3).unwrap();
        let job = book.running("j").expect("still running");
        assert_eq!(
            job.refusals(),
            [("small".to_string(), "over its memory".to_string())]
        );
        // A second refuses; one able consumer is left (the silent one is soon lost).
        let later = at + Duration::from_secs(3);
        book.consumer_status(refusing("tiny", "j", "no export"), later, 4)
            .unwrap();
        book.consumer_status(heartbeat("able"), later, 4).unwrap();
        assert!(book.running("j").is_some());
        // The able one refuses too; the silent one still counts until it is lost.
        let lost = at + LOST_AFTER;
        book.consumer_status(
            refusing("able", "j", "over its fuel"),
            lost - Duration::from_millis(1),
            5,
        )
        .unwrap();
        assert!(book.running("j").is_some(), "\"gone\" is not lost yet");
        book.consumer_status(refusing("small", "j", "over its memory"), lost, 6)
            .unwrap();
        book.consumer_status(refusing("tiny", "j", "no export"), lost, 6)
            .unwrap();
        book.consumer_status(refusing("able", "j", "over its fuel"), lost, 6)
            .unwrap();
        // The tick sees "gone" lost: every live consumer refuses the job.
        book.judge_refusals(lost, 7).unwrap();
        let view = recorded(&book, "j");
        assert_eq!(view.state, JobState::Failed);
        assert_eq!(
            view.message.as_deref(),
            Some(
                "no consumer can run it: consumer able: over its fuel; consumer small: over \
                 its memory; consumer tiny: no export"
            )
        );
        let stops = book.take_stops();
        assert_eq!(stops.len(), 1);
        assert!(
            matches!(&stops[0].1, StopCause::Failed { reason } if reason == view.message.as_deref().unwrap())
        );
    }

    #[test]
    fn the_live_view_follows_the_newest_running_job_then_the_last_ended() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
        assert!(book.current().is_none());
        book.announce(announcement("a", 1), 1).unwrap();
        book.record(batches("a", &[0]), 2).unwrap();
        match book.current() {
            Some(Current::Running(job)) => {
                assert_eq!(job.live().unwrap().view(None).outputs[0].count, 2)
            }
            other => panic!("{other:?}"),
        }
        assert!(book.cancel("a", 3).unwrap());
        assert!(!book.cancel("a", 4).unwrap(), "it is not running any more");
        match book.current() {
            Some(Current::Ended(e)) => {
                assert_eq!((e.state, e.summary.scenarios), (JobState::Cancelled, 2))
            }
            other => panic!("{other:?}"),
        }
    }

    /// Whatever an announcement and its results say, the coordinator neither panics nor
    /// sizes anything by them unchecked: it refuses or follows the job, and carries on.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn any_announcement_and_results(
                scenarios in prop_oneof![Just(0u64), Just(u64::MAX), Just(1u64 << 53), 1u64..100],
                batch in prop_oneof![Just(0u32), Just(u32::MAX), 1u32..8],
                outputs in prop_oneof![Just(0usize), Just(5000usize), 1usize..4],
                timeout_s in prop_oneof![Just(0u64), Just(u64::MAX), 1u64..100],
                memory_mib in prop_oneof![Just(0u32), Just(u32::MAX), 1u32..64],
                results in proptest::collection::vec((any::<u64>(), any::<u64>(), 0u32..10, 0usize..3), 0..8),
            ) {
                let mut a = fixtures::announcement("j", 10, 2, 1);
                a.spec.simulation.scenarios = scenarios;
                a.spec.simulation.batch = batch;
                a.spec.limits.timeout_s = timeout_s;
                a.spec.limits.memory_mib = memory_mib;
                a.info.outputs = (0..outputs).map(|k| format!("o{k}")).collect();
                let mut book = Book::in_memory(true).unwrap();
                book.announce(a, 2).unwrap();
                let forged = results
                    .into_iter()
                    .map(|(index, start, count, columns)| {
                        let values = vec![0.5; count as usize];
                        let mut r = fixtures::result(0, 2, values);
                        (r.batch.index, r.batch.start) = (index, start);
                        r.values = vec![r.values[0].clone(); columns];
                        ("j".to_string(), r)
                    })
                    .collect();
                book.record(forged, 3).unwrap();
                book.tick(u64::MAX).unwrap();
                prop_assert!(book.job("j").unwrap().is_some());
            }
        }
    }
}
