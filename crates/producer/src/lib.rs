//! The producer role: validates a job, announces it, publishes its model, then its scenario
//! batches, and reports its progress.
//!
//! A batch is a range of scenario indices (`index`, `start`, `count`); consumers generate the
//! inputs themselves, since scenario `i` is a pure function of (spec, seed, i). The producer
//! therefore does no sampling and runs no model beyond validating it ([`validate`]): its cost is
//! one small message per batch, and its pace is set by the transport's backpressure. It knows no
//! transport beyond [`ProducerLink`]; [`publish`] survives a transport that fails and comes back.

mod publish;
pub mod validate;

pub use publish::{new_job_id, publish};
pub use validate::{SubmissionLimits, accept, prepare};

use mcp_broker::{BrokerError, ProducerLink};
use mcp_protocol::{JobModel, ProducerState, ProducerStatus, ScenarioBatch, StopCause};
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

/// Publishes `model`, then the batches of its job from `progress.next_batch` on, then says the
/// job is finished, reporting progress every [`REPORT_EVERY`]. After a failure, calling it
/// again with the same progress resumes the job (moving `next_batch` back first republishes
/// batches that may not have been stored; the coordinator counts each batch once).
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
    for batch in batches(sim, first) {
        if progress.skip.contains(&batch.index) {
            continue;
        }
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
        match link.publish_batch(batch) {
            Ok(()) => {}
            // Stopping closes the queue under a producer blocked on it.
            Err(BrokerError::Closed) if progress.stop.load(Ordering::Relaxed) => {
                return Ok(ProducerEnd::Stopped);
            }
            Err(e) => return Err(e),
        }
        progress
            .next_batch
            .store(batch.index + 1, Ordering::Relaxed);
        progress.published.store(
            (batch.start + u64::from(batch.count)).min(sim.scenarios),
            Ordering::Relaxed,
        );
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
mod tests {
    use super::*;
    use mcp_broker::{ConsumerLink, CoordinatorLink, InMemoryBroker, Incoming, Polled};

    fn simulation(scenarios: u64, batch: u32) -> Simulation {
        Simulation {
            scenarios,
            seed: 1,
            batch,
            sampling: mcp_spec::Sampling::Mc,
            keep: mcp_spec::Keep::Nothing,
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
        while let Polled::Ready(d) = broker.next_batch(Duration::ZERO).unwrap() {
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
        while let Polled::Ready(d) = broker.next_batch(Duration::ZERO).unwrap() {
            published.push(d.body.index);
        }
        assert_eq!(published, [1, 4]);
    }
}
