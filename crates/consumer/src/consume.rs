//! The batch loop of one consumer thread: take a run of batches (one message), make sure its
//! job's model is loaded, evaluate each batch as if it had come alone, publish their results
//! together, and only then acknowledge the run.
//!
//! This file decides when a run is acknowledged: after its results are safely with the
//! transport ([`ConsumerLink::complete`]); at once, unevaluated, when its job is over here
//! (superseded, cancelled, timed out: counted as expired); rejected to the dead-letter queue
//! when it is not a run of its job's batches. A run whose evaluation is aborted is never
//! acknowledged, so the transport delivers it again, whole.
//!
//! A job this consumer cannot run (its limits are over this consumer's [`Ceilings`], or its
//! model does not load here) is refused, not failed: the thread gives its runs back for
//! other consumers ([`ConsumerLink::release_run`]), takes no more while that job is current,
//! and says why in its heartbeat. The coordinator fails the job only when every consumer
//! refuses it.

use crate::Evaluator;
use mcp_broker::{BrokerError, ConsumerLink, Polled};
use mcp_protocol::{JobId, JobModel, ResultBatch, ScenarioRun};
use mcp_sandbox::Sandbox;
use mcp_spec::Ceilings;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters a consumer keeps while it works.
#[derive(Debug, Default)]
pub struct ConsumerStats {
    /// Batches evaluated.
    pub batches: AtomicU64,
    /// Scenarios evaluated.
    pub scenarios: AtomicU64,
    /// Scenarios that failed.
    pub failures: AtomicU64,
    /// Nanoseconds spent evaluating, summed over batches.
    pub eval_nanos: AtomicU64,
    /// Nanoseconds per scenario of the last batch.
    pub last_batch_nanos_per_scenario: AtomicU64,
    /// Scenarios of batches thrown away because their job was superseded or timed out.
    pub expired: AtomicU64,
    /// Set by anyone to make the consumer stop after its current run of batches.
    pub stop: AtomicBool,
    /// Set by anyone to make the consumer take no new batches until it is cleared.
    pub paused: AtomicBool,
    /// Set by anyone to interrupt the current batch too (its result is thrown away).
    pub abort: Arc<AtomicBool>,
    /// The job this thread refuses while it is current (over this consumer's ceilings, or its
    /// model does not load here), and why.
    pub refused: std::sync::Mutex<Option<(JobId, String)>>,
    /// Jobs cancelled by a control command: their batches are discarded.
    pub cancelled: std::sync::Mutex<Vec<JobId>>,
    /// The process's metrics, shared by its threads.
    pub metrics: Arc<crate::ConsumerMetrics>,
}

/// What a consumer accepts: jobs within the operator's ceilings whose result batches fit in
/// one broker message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The operator's ceilings on a job's limits.
    pub ceilings: Ceilings,
    /// The broker's largest message, in bytes.
    pub message_bytes: usize,
}

impl Default for Admission {
    /// Every job a spec allows (an in-memory transport has no message limit).
    fn default() -> Admission {
        Admission {
            ceilings: Ceilings::default(),
            message_bytes: usize::MAX,
        }
    }
}

impl Admission {
    /// Whether results travel over a broker with a message limit (not in-process): then, in
    /// sketch mode, each batch goes out as its sketch, which the coordinator merges for less
    /// than adding the values. In-process nothing is encoded and a worker that sketched would
    /// only add to the work (`pricing` embedded: 1.2× the CPU), so the values are handed over.
    pub fn crosses_a_wire(&self) -> bool {
        self.message_bytes < usize::MAX
    }

    /// `Ok` when this consumer takes `model`'s job, else why not.
    pub fn admit(&self, model: &JobModel) -> Result<(), String> {
        self.ceilings.check(&model.spec, "this consumer")?;
        if self.message_bytes < usize::MAX {
            // The model message arrived, so it fit: only the results it will send may not.
            let outputs = model.info.outputs.len();
            mcp_protocol::check_result_size(
                &model.spec,
                outputs,
                self.message_bytes,
                "the job's spec",
            )?;
        }
        Ok(())
    }
}

/// Why a job's batches are no longer evaluated by this consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    /// Superseded by a newer job, cancelled, or past its time-out: its batches are discarded.
    Expired,
    /// It cannot run here: its batches are given back while it is current.
    Refused,
}

/// How long a consumer keeps looking for the model of a batch's job when there is none.
const MODEL_PATIENCE: Duration = Duration::from_secs(2);

/// The current model, looked for again for a while when there is none: another consumer may be
/// holding it for a moment while it peeks. A different job's model answers at once (the batch's
/// job was superseded); no model at all after [`MODEL_PATIENCE`] means the job timed out.
fn current_model_of(
    link: &dyn ConsumerLink,
    job: &str,
) -> Result<Option<Arc<JobModel>>, BrokerError> {
    let deadline = Instant::now() + MODEL_PATIENCE;
    loop {
        match link.current_model()? {
            Some(model) => return Ok(Some(model)),
            None if Instant::now() >= deadline => {
                tracing::info!(job, "no current model: the job timed out");
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// How long a consumer waits on an empty queue before checking whether it should stop.
const POLL: Duration = Duration::from_millis(50);
/// How often a thread standing aside from a job it refused looks whether that job is still
/// the current one.
const REFUSED_POLL: Duration = Duration::from_millis(250);

/// Stands aside from `job`, which this thread refused: takes no new batches, gives back those
/// already handed over, and waits until `job` is no longer current (or is cancelled, or the
/// thread is told to stop); `job`'s later batches are then discarded as expired. `paused` is
/// whether the link's flow is paused, kept up to date.
fn stand_aside(
    link: &dyn ConsumerLink,
    job: &str,
    stats: &ConsumerStats,
    paused: &mut bool,
    ended: &mut HashMap<JobId, Ended>,
) -> Result<(), BrokerError> {
    if !*paused {
        link.set_paused(true)?;
        *paused = true;
    }
    if link.drains_while_paused() {
        // Those already handed over (RabbitMQ's prefetch), whatever their job: they will be
        // handed to someone again.
        while let Polled::Ready(held) = link.next_run(Duration::ZERO)? {
            link.release_run(&held.job, held.body, held.tag)?;
        }
    }
    while !stats.stop.load(Ordering::Relaxed) {
        if stats
            .cancelled
            .lock()
            .expect("cancelled lock")
            .iter()
            .any(|j| j == job)
        {
            break;
        }
        match current_model_of(link, job)? {
            Some(model) if model.job == job => std::thread::sleep(REFUSED_POLL),
            _ => break,
        }
    }
    if !stats.stop.load(Ordering::Relaxed) {
        // No longer current: what is left of it is discarded like any expired job's.
        ended.insert(job.to_string(), Ended::Expired);
    }
    *stats.refused.lock().expect("refused lock") = None;
    if *paused && !stats.paused.load(Ordering::Relaxed) {
        link.set_paused(false)?;
        *paused = false;
    }
    Ok(())
}

/// Evaluates batches until the transport says there are no more, or `stats.stop` is set.
///
/// The model is taken from the transport when the first batch of a job arrives, and compiled
/// once (the sandbox caches it by digest). A batch of a job that is no longer the current one
/// (superseded by a newer submission, or past its time-out) is acknowledged without being
/// evaluated, and counted as expired.
///
/// A job over `ceilings`, or whose model does not load here, is refused (see the module's
/// documentation).
pub fn consume(
    link: &dyn ConsumerLink,
    sandbox: &Sandbox,
    admission: &Admission,
    stats: &ConsumerStats,
) -> anyhow::Result<()> {
    let mut current: Option<(JobId, Evaluator)> = None;
    // Jobs known to be over here: their remaining batches are settled without asking again.
    let mut ended: HashMap<JobId, Ended> = HashMap::new();
    let mut paused = false;
    while !stats.stop.load(Ordering::Relaxed) {
        let pause = stats.paused.load(Ordering::Relaxed);
        if pause != paused {
            link.set_paused(pause)?;
            paused = pause;
        }
        if paused && !link.drains_while_paused() {
            std::thread::sleep(POLL);
            continue;
        }
        let delivery = match link.next_run(POLL)? {
            Polled::Ready(delivery) => delivery,
            Polled::Empty => continue,
            Polled::Finished => break,
        };
        // A batch handed over just as a pause came, on a transport that keeps none for a paused
        // consumer, waits for the resume (or a drain, which finishes it).
        while stats.paused.load(Ordering::Relaxed)
            && !link.drains_while_paused()
            && !stats.stop.load(Ordering::Relaxed)
        {
            std::thread::sleep(POLL);
        }
        let job = &delivery.job;
        if !ended.contains_key(job)
            && stats
                .cancelled
                .lock()
                .expect("cancelled lock")
                .contains(job)
        {
            tracing::info!(job = %job, "the job was cancelled: its batches are discarded");
            ended.insert(job.clone(), Ended::Expired);
        }
        let is_current = current.as_ref().is_some_and(|(j, _)| j == job);
        if !is_current && !ended.contains_key(job) {
            match current_model_of(link, job)? {
                Some(model) if model.job == *job => {
                    let evaluator = admission
                        .admit(&model)
                        .map_err(anyhow::Error::msg)
                        .and_then(|()| {
                            let started = Instant::now();
                            let evaluator =
                                Evaluator::new(sandbox, &model, Some(stats.abort.clone())).map(
                                    |e| match admission.crosses_a_wire() {
                                        true => e.sketching(),
                                        false => e,
                                    },
                                );
                            stats.metrics.model_loaded(started.elapsed());
                            evaluator
                        });
                    match evaluator {
                        Ok(evaluator) => current = Some((job.clone(), evaluator)),
                        Err(e) => {
                            let why = format!("{e:#}");
                            tracing::warn!(job = %job, "refused the job, its batches are given back: {why}");
                            *stats.refused.lock().expect("refused lock") = Some((job.clone(), why));
                            ended.insert(job.clone(), Ended::Refused);
                        }
                    }
                }
                _ => {
                    tracing::info!(job = %job, "the job is no longer current: its batches are discarded");
                    ended.insert(job.clone(), Ended::Expired);
                }
            }
        }
        match ended.get(job) {
            Some(Ended::Refused) => {
                let job = job.clone();
                link.release_run(&delivery.job, delivery.body, delivery.tag)?;
                stand_aside(link, &job, stats, &mut paused, &mut ended)?;
                continue;
            }
            Some(Ended::Expired) => {
                stats
                    .expired
                    .fetch_add(delivery.body.count, Ordering::Relaxed);
                link.ack_run(delivery.tag)?;
                continue;
            }
            None => {}
        }
        let (job, evaluator) = current.as_mut().expect("the run's job is current");
        let run = delivery.body;
        let checked = run
            .check()
            .and_then(|()| run.batches().try_for_each(|b| evaluator.check(&b)));
        if let Err(why) = checked {
            // Not a run of its job's batches (only a forged message is): set aside, never
            // evaluated.
            tracing::warn!(job = %job, "dead-lettered a run that is not of its job's batches: {why}");
            link.reject_run(delivery.tag, &format!("not a batch of job {job}: {why}"))?;
            continue;
        }
        let Some(results) = evaluate_run(evaluator, run, stats) else {
            // Aborted: the run is left unacknowledged for the transport to requeue.
            break;
        };
        // Results too large for one message (many long failures, scenarios kept whole) go in
        // several; the run is acknowledged with the last.
        let mut messages = mcp_protocol::split_results(results, admission.message_bytes);
        let last = messages.pop().unwrap_or_default();
        let published = messages
            .into_iter()
            .try_for_each(|results| link.publish_results(job, results))
            .and_then(|()| link.complete(job, last, delivery.tag));
        match published {
            Ok(()) => {}
            Err(BrokerError::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    link.flush()?;
    Ok(())
}

/// Evaluates each batch of `run` in turn, as if it had come alone, counting it in `stats`;
/// `None` when the evaluation was aborted.
fn evaluate_run(
    evaluator: &mut Evaluator,
    run: ScenarioRun,
    stats: &ConsumerStats,
) -> Option<Vec<ResultBatch>> {
    let mut results = Vec::with_capacity(run.len() as usize);
    for batch in run.batches() {
        let result = evaluator.evaluate(batch)?;
        stats.metrics.batch(&result, evaluator.fuel_used());
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .scenarios
            .fetch_add(u64::from(result.batch.count), Ordering::Relaxed);
        stats
            .failures
            .fetch_add(result.failures.len() as u64, Ordering::Relaxed);
        let nanos = (result.eval_seconds * 1e9) as u64;
        stats.eval_nanos.fetch_add(nanos, Ordering::Relaxed);
        stats.last_batch_nanos_per_scenario.store(
            nanos / u64::from(result.batch.count.max(1)),
            Ordering::Relaxed,
        );
        results.push(result);
    }
    Some(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_admits_only_jobs_whose_results_fit_its_brokers_messages() {
        let job = mcp_testkit::fixtures::job_model("j", 10, 1 << 20);
        assert_eq!(Admission::default().admit(&job), Ok(()));
        let small = Admission {
            message_bytes: 16 << 20,
            ..Admission::default()
        };
        let err = small.admit(&job).unwrap_err();
        assert!(
            err.contains("more than the broker's message limit of 16.0 MiB"),
            "{err}"
        );
        let job = mcp_testkit::fixtures::job_model("j", 10, 1024);
        assert_eq!(small.admit(&job), Ok(()));
    }
}
