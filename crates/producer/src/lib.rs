//! The producer role: validates a job, announces it, publishes its model, then its scenario
//! batches in runs of consecutive batches, and reports its progress.
//!
//! A batch is a range of scenario indices (`index`, `start`, `count`); consumers generate the
//! inputs themselves, since scenario `i` is a pure function of (spec, seed, i). The producer
//! therefore does no sampling and runs no model beyond validating it ([`validate`]) and timing a
//! few scenarios to decide how many batches travel in one message ([`packing`]): its cost is one
//! small message per run, and its pace is set by the transport's backpressure. It knows no
//! transport beyond [`ProducerLink`]; [`publish`] survives a transport that fails and comes back.

pub mod packing;
mod publish;
pub mod validate;

pub use packing::Packing;
pub use publish::{new_job_id, publish};
pub use validate::{SubmissionLimits, accept, prepare};

use mcp_broker::{BrokerError, ProducerLink};
use mcp_protocol::{
    JobModel, ProducerState, ProducerStatus, ScenarioBatch, ScenarioRun, StopCause,
};
use mcp_spec::Simulation;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a producer reports its progress.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// The batches of a job, in order, from batch `first` on.
pub fn batches(simulation: Simulation, first: u64) -> impl Iterator<Item = ScenarioBatch> {
    (first..simulation.batches()).filter_map(move |index| {
        let (start, count) = simulation.batch_range(index)?;
        Some(ScenarioBatch {
            index,
            start,
            count,
        })
    })
}

/// The runs of a job from batch `first` on: consecutive batches, none of `skip`, at most
/// `per_message` in each.
pub fn runs<'a>(
    simulation: Simulation,
    first: u64,
    per_message: u32,
    skip: &'a BTreeSet<u64>,
) -> impl Iterator<Item = ScenarioRun> + 'a {
    let mut batches = batches(simulation, first)
        .filter(|b| !skip.contains(&b.index))
        .peekable();
    std::iter::from_fn(move || {
        let mut run = ScenarioRun::from(batches.next()?);
        while run.len() < u64::from(per_message.max(1)) {
            match batches.peek() {
                Some(&next) if run.push(next) => {
                    batches.next();
                }
                _ => break,
            }
        }
        Some(run)
    })
}

/// Progress a producer reports while it publishes.
#[derive(Debug)]
pub struct ProducerProgress {
    /// Scenarios published so far.
    pub published: AtomicU64,
    /// Index of the next batch to publish: a producer resumes from here after a failure.
    pub next_batch: AtomicU64,
    /// Set by anyone to make the producer stop early.
    pub stop: AtomicBool,
    /// Batches not to publish: counted already (a run resumed from its checkpoint).
    skip: BTreeSet<u64>,
    /// Batches per message (a run of consecutive batches).
    per_message: u32,
    /// When publishing began.
    started: Instant,
}

impl Default for ProducerProgress {
    fn default() -> Self {
        ProducerProgress {
            published: AtomicU64::new(0),
            next_batch: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            skip: BTreeSet::new(),
            per_message: 1,
            started: Instant::now(),
        }
    }
}

impl ProducerProgress {
    /// The progress of a job of which batches `skip` are counted already: they are not
    /// published again.
    pub fn skipping(skip: BTreeSet<u64>) -> ProducerProgress {
        ProducerProgress {
            skip,
            ..ProducerProgress::default()
        }
    }

    /// This progress, publishing `per_message` batches in each message (at least one).
    pub fn packing(self, per_message: u32) -> ProducerProgress {
        ProducerProgress {
            per_message: per_message.max(1),
            ..self
        }
    }

    /// Batches per message.
    pub fn per_message(&self) -> u32 {
        self.per_message
    }

    /// The report of `job` (`total` scenarios) in `state`.
    fn status(&self, job: &str, total: u64, state: ProducerState) -> ProducerStatus {
        let generated = self.published.load(Ordering::Relaxed);
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let rate = generated as f64 / elapsed_s.max(1e-9);
        ProducerStatus {
            job: job.to_string(),
            generated,
            total,
            rate,
            elapsed_s,
            eta_s: if rate > 0.0 {
                total.saturating_sub(generated) as f64 / rate
            } else {
                f64::NAN
            },
            state,
        }
    }
}

/// How a producer run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProducerEnd {
    /// Every batch was published.
    Completed,
    /// Asked to stop before the end, by its own process ([`ProducerProgress::stop`]).
    Stopped,
    /// The job was stopped elsewhere (cancelled, superseded, failed), or its time-out passed,
    /// before every batch was published: publishing it further would be wasted.
    Ended(StopCause),
}

/// How often a producer asks its link whether its job was stopped elsewhere.
pub const STOP_CHECK_EVERY: Duration = Duration::from_millis(200);

/// Publishes `model`, then the batches of its job from `progress.next_batch` on, in runs of
/// [`ProducerProgress::per_message`], then says the job is finished, reporting progress every
/// [`REPORT_EVERY`]. After a failure, calling it again with the same progress resumes the job
/// (moving `next_batch` back first republishes batches that may not have been stored; the
/// coordinator counts each batch once).
pub fn produce(
    link: &dyn ProducerLink,
    model: Arc<JobModel>,
    progress: &ProducerProgress,
) -> Result<ProducerEnd, BrokerError> {
    let sim = model.spec.simulation;
    let job = model.job.clone();
    let report = |state| {
        let status = progress.status(&job, sim.scenarios, state);
        if let Err(e) = link.report(&status) {
            tracing::debug!("producer telemetry not sent: {e}");
        }
    };
    let timeout = Duration::from_secs(model.spec.limits.timeout_s);
    // Asked before the model is published too: a job stopped while its producer was away
    // (or refused at once) is not made current again.
    if let Some(cause) = link.stopped(&job)? {
        report(ProducerState::Stopped);
        return Ok(ProducerEnd::Ended(cause));
    }
    link.publish_model(model)?;
    let mut last_report = Instant::now();
    let mut last_check = Instant::now();
    report(ProducerState::Publishing);
    let first = progress.next_batch.load(Ordering::Relaxed);
    for run in runs(sim, first, progress.per_message, &progress.skip) {
        if progress.stop.load(Ordering::Relaxed) {
            link.finish()?;
            report(ProducerState::Stopped);
            return Ok(ProducerEnd::Stopped);
        }
        if last_check.elapsed() >= STOP_CHECK_EVERY {
            last_check = Instant::now();
            let ended = match link.stopped(&job)? {
                Some(cause) => Some(cause),
                None if progress.started.elapsed() > timeout => Some(StopCause::TimedOut),
                None => None,
            };
            if let Some(cause) = ended {
                tracing::info!(job, "stopped publishing: {cause:?}");
                link.finish()?;
                report(ProducerState::Stopped);
                return Ok(ProducerEnd::Ended(cause));
            }
        }
        match link.publish_run(run) {
            Ok(()) => {}
            // Stopping closes the queue under a producer blocked on it.
            Err(BrokerError::Closed) if progress.stop.load(Ordering::Relaxed) => {
                return Ok(ProducerEnd::Stopped);
            }
            Err(e) => return Err(e),
        }
        progress
            .next_batch
            .store(run.end_index(), Ordering::Relaxed);
        progress
            .published
            .store(run.end().min(sim.scenarios), Ordering::Relaxed);
        if last_report.elapsed() >= REPORT_EVERY {
            report(ProducerState::Publishing);
            last_report = Instant::now();
        }
    }
    link.finish()?;
    report(ProducerState::Done);
    Ok(ProducerEnd::Completed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mcp_broker::{ConsumerLink, CoordinatorLink, InMemoryBroker, Incoming, Polled};

    /// A plain Monte Carlo simulation of `scenarios` in batches of `batch`.
    pub(crate) fn simulation(scenarios: u64, batch: u32) -> Simulation {
        Simulation {
            scenarios,
            seed: 1,
            batch,
            sampling: mcp_spec::Sampling::Mc,
            keep: mcp_spec::Keep::Nothing,
            percentiles: mcp_spec::PercentileMode::Auto,
        }
    }

    #[test]
    fn batches_cover_every_scenario_once() {
        let all: Vec<_> = batches(simulation(2500, 1024), 0).collect();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].start, all[0].count), (0, 1024));
        assert_eq!((all[2].index, all[2].start, all[2].count), (2, 2048, 452));
        assert_eq!(
            batches(simulation(10, 10), 0).map(|b| b.count).sum::<u32>(),
            10
        );
        assert_eq!(
            batches(simulation(2500, 1024), 2).count(),
            1,
            "resumes at a batch"
        );
        // The last batch of the largest job a spec may have is still exact.
        let largest = simulation(mcp_spec::MAX_SCENARIOS, 1 << 20);
        let last = batches(largest, largest.batches() - 1).next().unwrap();
        assert_eq!(last.start + u64::from(last.count), mcp_spec::MAX_SCENARIOS);
    }

    #[test]
    fn a_producer_publishes_every_batch_and_reports_when_done() {
        let broker = InMemoryBroker::new(16);
        let model = mcp_testkit::fixtures::job_model("j", 25, 10);
        let progress = ProducerProgress::default();
        assert_eq!(
            produce(&broker, model, &progress),
            Ok(ProducerEnd::Completed)
        );
        let mut starts = Vec::new();
        while let Polled::Ready(d) = broker.next_run(Duration::ZERO).unwrap() {
            assert_eq!(d.job, "j");
            starts.push((d.body.start, d.body.count));
        }
        assert_eq!(starts, [(0, 10), (10, 10), (20, 5)]);
        let mut last = None;
        while let Some(Incoming::Producer(status)) = broker.next(Duration::ZERO).unwrap() {
            last = Some(status);
        }
        let last = last.expect("a report");
        assert_eq!(
            (last.state, last.generated, last.total),
            (ProducerState::Done, 25, 25)
        );
    }

    #[test]
    fn a_resumed_producer_publishes_only_the_batches_not_counted() {
        let broker = InMemoryBroker::new(16);
        let model = mcp_testkit::fixtures::job_model("j", 45, 10);
        let progress = ProducerProgress::skipping([0, 2, 3].into());
        assert_eq!(
            produce(&broker, model, &progress),
            Ok(ProducerEnd::Completed)
        );
        let mut published = Vec::new();
        while let Polled::Ready(d) = broker.next_run(Duration::ZERO).unwrap() {
            published.push(d.body.index);
        }
        assert_eq!(published, [1, 4]);
    }

    #[test]
    fn runs_pack_consecutive_batches_around_the_skipped_ones() {
        let sim = simulation(105, 10);
        let runs = |first, per_message, skip: &[u64]| {
            let skip: BTreeSet<u64> = skip.iter().copied().collect();
            runs(sim, first, per_message, &skip)
                .map(|r| (r.index, r.len(), r.count))
                .collect::<Vec<_>>()
        };
        // The last message holds the partial last batch.
        assert_eq!(runs(0, 4, &[]), [(0, 4, 40), (4, 4, 40), (8, 3, 25)]);
        assert_eq!(runs(0, 1, &[]).len(), 11);
        // Counted batches split runs; a resumed producer starts at its batch.
        assert_eq!(runs(0, 4, &[1, 2, 6]), [(0, 1, 10), (3, 3, 30), (7, 4, 35)]);
        assert_eq!(runs(9, 4, &[]), [(9, 2, 15)]);
        // Every scenario once, whatever the packing.
        for per_message in 1..12 {
            let all: Vec<_> = runs_batches(sim, per_message);
            assert_eq!(all, batches(sim, 0).collect::<Vec<_>>());
        }
    }

    fn runs_batches(sim: Simulation, per_message: u32) -> Vec<ScenarioBatch> {
        runs(sim, 0, per_message, &BTreeSet::new())
            .flat_map(|r| r.batches())
            .collect()
    }

    #[test]
    fn a_packing_producer_publishes_runs_of_batches() {
        let broker = InMemoryBroker::new(16);
        let model = mcp_testkit::fixtures::job_model("j", 45, 10);
        let progress = ProducerProgress::skipping([2].into()).packing(2);
        assert_eq!(
            produce(&broker, model, &progress),
            Ok(ProducerEnd::Completed)
        );
        let mut published = Vec::new();
        while let Polled::Ready(d) = broker.next_run(Duration::ZERO).unwrap() {
            published.push((d.body.index, d.body.len()));
        }
        assert_eq!(published, [(0, 2), (3, 2)]);
        assert_eq!(progress.next_batch.load(Ordering::Relaxed), 5);
        assert_eq!(progress.published.load(Ordering::Relaxed), 45);
    }
}
