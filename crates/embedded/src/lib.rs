//! Runs a whole job in one process: producer, local consumers and aggregation, with no broker.
//!
//! [`prepare`] checks a model against a spec before anything runs (the model loads, the spec
//! matches its inputs, every distribution can be sampled). [`run`] then wires the same role code
//! the distributed mode uses over an [`InMemoryBroker`]: one producer thread, one consumer thread
//! per worker, and the aggregator on the calling thread, which reports progress and enforces the
//! job's time-out.

use anyhow::{Context, anyhow, bail};
use mcp_broker::{CoordinatorLink, InMemoryBroker};
use mcp_consumer::{ConsumerStats, consume};
use mcp_coordinator::{Added, Aggregator, Progress};
use mcp_producer::{ProducerProgress, produce};
use mcp_protocol::{FailureTally, JobModel, JobSummary, MAX_RESULT_VALUES, ResultBatch};
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{RunLimits, Sandbox};
use mcp_spec::Spec;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Checks `wasm` (named `wasm_origin` in errors) against `spec` and builds the job's model message.
pub fn prepare(
    sandbox: &Sandbox,
    wasm: Vec<u8>,
    wasm_origin: &str,
    spec: Spec,
    job: &str,
) -> anyhow::Result<Arc<JobModel>> {
    let limits = RunLimits::from_spec(&spec.limits);
    let model = sandbox
        .load(&wasm, &limits)
        .map_err(|e| anyhow!("{wasm_origin}: {e}"))?;
    let info = model.info().clone();
    spec.check_model(&info.name, &info.version, &info.inputs)?;
    check_result_size(&spec, info.outputs.len())?;
    ScenarioGenerator::new(&spec, &info.inputs)
        .map_err(|e| anyhow!("{}: {e}", spec.source.origin))?;
    Ok(Arc::new(JobModel {
        job: job.to_string(),
        info,
        spec,
        wasm,
    }))
}

/// Refuses a spec whose result batches would carry more than [`MAX_RESULT_VALUES`] values
/// with a model of `outputs` outputs (receivers refuse such results).
fn check_result_size(spec: &Spec, outputs: usize) -> anyhow::Result<()> {
    let values = u64::from(spec.simulation.batch) * outputs as u64;
    if values > MAX_RESULT_VALUES as u64 {
        bail!(
            "{}: simulation.batch: {} scenarios of a model with {outputs} outputs make result \
             batches of {values} values, more than {MAX_RESULT_VALUES}; lower the batch to at \
             most {}",
            spec.source.origin,
            spec.simulation.batch,
            MAX_RESULT_VALUES / outputs
        );
    }
    Ok(())
}

/// How an embedded job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Every scenario was evaluated.
    Completed,
    /// The job ran past `limits.timeout_s`; the summary covers what finished.
    TimedOut,
    /// Cancelled by the caller; the summary covers what finished.
    Cancelled,
}

/// The result of an embedded job.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The summary (`--json` shape).
    pub summary: JobSummary,
    /// How the job ended.
    pub end: JobEnd,
    /// Failures per kind, and the first failed scenarios.
    pub failures: FailureTally,
}

/// Called with each result batch as it arrives, before it is aggregated (a live view's feed).
#[derive(Clone)]
pub struct ResultHook(pub Arc<dyn Fn(&ResultBatch) + Send + Sync>);

impl std::fmt::Debug for ResultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResultHook")
    }
}

/// Options of an embedded run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Consumer threads.
    pub workers: usize,
    /// Set by the caller to cancel the job.
    pub cancel: Arc<AtomicBool>,
    /// Set by the caller to pause the workers (they finish their batch, then wait); cleared to
    /// resume them.
    pub paused: Arc<AtomicBool>,
    /// How often progress is reported.
    pub progress_every: Duration,
    /// Sees every result batch.
    pub on_result: Option<ResultHook>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: default_workers(),
            cancel: Arc::default(),
            paused: Arc::default(),
            progress_every: Duration::from_millis(100),
            on_result: None,
        }
    }
}

/// One worker per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Counts a result; one the aggregator refuses (a model that broke the batch ABI in a way the
/// sandbox did not catch) is logged, since its batch will then never complete.
fn count(aggregator: &mut Aggregator, result: ResultBatch) {
    if let Added::Rejected(why) = aggregator.add(result) {
        tracing::error!("a result batch was not counted: {why}");
    }
}

/// Runs a prepared job to its end, calling `on_progress` now and then.
pub fn run(
    sandbox: &Sandbox,
    job: Arc<JobModel>,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<JobOutcome> {
    let workers = options.workers.max(1);
    let started = Instant::now();
    let timeout = Duration::from_secs(job.spec.limits.timeout_s);
    let broker = InMemoryBroker::new(workers * 4);
    let producer_progress = ProducerProgress::default();
    let stats: Vec<ConsumerStats> = (0..workers).map(|_| ConsumerStats::default()).collect();
    let mut aggregator = Aggregator::new(job.info.clone(), &job.spec);

    let end = std::thread::scope(|scope| -> anyhow::Result<JobEnd> {
        let producer = {
            let (broker, job, progress) = (&broker, job.clone(), &producer_progress);
            std::thread::Builder::new()
                .name("mcp-producer".into())
                .spawn_scoped(scope, move || produce(&**broker, job, progress))?
        };
        let consumers = stats
            .iter()
            .enumerate()
            .map(|(i, stats)| {
                let broker = &broker;
                std::thread::Builder::new()
                    .name(format!("mcp-worker-{i}"))
                    .spawn_scoped(scope, move || consume(&**broker, sandbox, stats))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let stop_all = || {
            producer_progress.stop.store(true, Ordering::Relaxed);
            for s in &stats {
                s.stop.store(true, Ordering::Relaxed);
                s.abort.store(true, Ordering::Relaxed);
            }
            broker.discard_batches();
            broker.shut_down();
        };
        let mut last_report = Instant::now();
        let end = loop {
            // Poll rather than block: a blocked receiver costs every sender a wake-up call.
            let mut idle = true;
            while let Some(delivery) = broker.next_result(Duration::ZERO)? {
                if let Some(hook) = &options.on_result {
                    (hook.0)(&delivery.body);
                }
                count(&mut aggregator, delivery.body);
                idle = false;
            }
            let paused = options.paused.load(Ordering::Relaxed);
            for s in &stats {
                s.paused.store(paused, Ordering::Relaxed);
            }
            if idle {
                std::thread::sleep(Duration::from_millis(2));
            }
            if last_report.elapsed() >= options.progress_every {
                on_progress(&aggregator.progress());
                last_report = Instant::now();
            }
            if aggregator.is_complete() {
                break JobEnd::Completed;
            }
            if options.cancel.load(Ordering::Relaxed) {
                stop_all();
                break JobEnd::Cancelled;
            }
            if started.elapsed() > timeout {
                stop_all();
                break JobEnd::TimedOut;
            }
            if consumers.iter().all(|c| c.is_finished()) {
                // Results the workers published just before they finished.
                while let Some(delivery) = broker.next_result(Duration::ZERO)? {
                    count(&mut aggregator, delivery.body);
                }
                if aggregator.is_complete() {
                    break JobEnd::Completed;
                }
                // Every worker stopped before the job completed: one of them failed.
                stop_all();
                for consumer in consumers {
                    consumer.join().expect("worker panicked")?;
                }
                return Err(anyhow!(
                    "every worker stopped before the job completed ({} of {} scenarios done)",
                    aggregator.progress().scenarios,
                    aggregator.progress().total
                ));
            }
        };
        broker.shut_down();
        producer
            .join()
            .expect("producer panicked")
            .context("the producer failed")?;
        for consumer in consumers {
            consumer.join().expect("worker panicked")?;
        }
        // Results published by workers that finished a batch while the job was stopping.
        while let Some(delivery) = broker.next_result(Duration::ZERO)? {
            count(&mut aggregator, delivery.body);
        }
        Ok(end)
    })?;
    on_progress(&aggregator.progress());
    let failures = aggregator.failures().clone();
    let summarising = Instant::now();
    let mut summary = aggregator.into_summary(0.0);
    summary.elapsed_s = started.elapsed().as_secs_f64();
    tracing::debug!(
        evaluation_s = summary.elapsed_s - summarising.elapsed().as_secs_f64(),
        summary_s = summarising.elapsed().as_secs_f64(),
        "job finished"
    );
    Ok(JobOutcome {
        summary,
        end,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_too_big_for_one_result_message_is_refused_with_the_batch_that_fits() {
        let spec = Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\nbatch = 1048576\n[variables]\n",
            "vars.toml",
        )
        .unwrap();
        assert!(check_result_size(&spec, 64).is_ok());
        let err = check_result_size(&spec, 65).unwrap_err().to_string();
        assert_eq!(
            err,
            "vars.toml: simulation.batch: 1048576 scenarios of a model with 65 outputs make \
             result batches of 68157440 values, more than 67108864; lower the batch to at most \
             1032444"
        );
    }
}
