//! Distributed mode: the roles wired to RabbitMQ, one process each.

use crate::args::ConsumerArgs;
use anyhow::{Context, anyhow, bail};
use mcp_broker::{BrokerError, CoordinatorLink};
use mcp_broker_amqp::{AmqpBroker, MAX_UNCONFIRMED, redact};
use mcp_consumer::{ConsumerStats, consume};
use mcp_coordinator::{Added, Aggregator, Progress};
use mcp_producer::{ProducerEnd, ProducerProgress, produce};
use mcp_protocol::{
    ConsumerState, ConsumerStatus, ControlAction, ControlCommand, FailureTally, JobAnnouncement,
    JobModel, JobSummary, ProducerState, ProducerStatus, RefusedModel, encode,
};
use mcp_sandbox::Sandbox;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often `submit --wait` checks whether a newer job superseded the one it follows.
const SUPERSEDED_CHECK_EVERY: Duration = Duration::from_secs(1);

/// How often producers and consumers report.
const TELEMETRY_EVERY: Duration = Duration::from_secs(1);

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A job id unique across submissions: milliseconds since the epoch, the process id and the
/// model digest's first hex digits.
pub fn new_job_id(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!(
        "{}-{}-{}",
        now_ms(),
        std::process::id(),
        &hex[..hex.len().min(8)]
    )
}

/// The broker URL, with the credentials of `--broker-credentials` (a `user:password` file) when
/// given; trusts the CA certificates of `--broker-ca` for `amqps://`.
pub fn resolve_broker(url: &str, options: &crate::args::BrokerOptions) -> anyhow::Result<String> {
    if let Some(path) = &options.broker_ca {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("could not read --broker-ca {}", path.display()))?;
        mcp_broker_amqp::trust_ca_certificates(pem).map_err(|e| {
            anyhow!(
                "--broker-ca {} {e}; give the PEM file of the CA that signed the broker's certificate",
                path.display()
            )
        })?;
    }
    let Some(path) = &options.broker_credentials else {
        return Ok(url.to_string());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    mcp_broker_amqp::with_credentials(url, &text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Retries with exponential backoff (0.25 s doubling to 5 s) and says what it waits for.
pub(crate) struct Backoff {
    delay: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            delay: Duration::from_millis(250),
        }
    }

    pub(crate) fn wait(&mut self, url: &str, what: &str, error: &dyn std::fmt::Display) {
        tracing::warn!(
            "{what}: waiting for RabbitMQ at {} ({error}); retrying in {:.2} s",
            redact(url),
            self.delay.as_secs_f64()
        );
        std::thread::sleep(self.delay);
        self.delay = (self.delay * 2).min(Duration::from_secs(5));
    }
}

/// Connects, retrying with backoff until `give_up` is set (never, when it is `None`).
pub(crate) fn connect(
    url: &str,
    prefix: &str,
    name: &str,
    give_up: Option<&AtomicBool>,
) -> anyhow::Result<Arc<AmqpBroker>> {
    let mut backoff = Backoff::new();
    loop {
        match AmqpBroker::connect(url, prefix, name) {
            Ok(broker) => return Ok(broker),
            // A misconfigured topology will not fix itself.
            Err(e @ BrokerError::Misconfigured(_)) => return Err(anyhow!("{e}")),
            Err(e) => {
                if give_up.is_some_and(|g| g.load(Ordering::Relaxed)) {
                    return Err(anyhow!("{e}"));
                }
                backoff.wait(url, name, &e);
            }
        }
    }
}

/// The outcome of a distributed job followed with `--wait`.
#[derive(Debug)]
pub struct Followed {
    /// The summary.
    pub summary: JobSummary,
    /// Failures per kind.
    pub failures: FailureTally,
    /// Whether the job ran past its time-out.
    pub timed_out: bool,
    /// The job that superseded this one, if one did before it completed.
    pub superseded_by: Option<String>,
}

/// Publishes `job` to the broker; with `wait`, follows it to its end. Survives broker
/// restarts: publishing resumes (republishing what may not have been stored), and results are
/// followed on a durable queue of the job's own.
pub fn submit(
    url: &str,
    prefix: &str,
    job: Arc<JobModel>,
    wait: bool,
    on_progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<Option<Followed>> {
    let name = format!("mcp submit {}", job.job);
    let mut broker = connect(url, prefix, &name, None)?;
    // Listen before publishing, so that no result can slip past.
    if wait {
        broker
            .prepare_result_listener(&job.job)
            .map_err(|e| anyhow!("{e}"))?;
    }
    let progress = ProducerProgress::default();
    let started = Instant::now();
    let announcement = JobAnnouncement::of(&job, now_ms());
    let mut announced = false;
    let mut backoff = Backoff::new();
    let end = loop {
        // The coordinator learns of the job before its first result can reach it.
        if !announced {
            match broker.announce_job(&announcement) {
                Ok(()) => announced = true,
                Err(e) => {
                    backoff.wait(url, "announcing the job", &e);
                    broker = connect(url, prefix, &name, None)?;
                    continue;
                }
            }
        }
        match publish(&broker, &job, &progress, started) {
            Ok(end) => break end,
            Err(e) => {
                backoff.wait(url, "publishing", &e);
                // Batches not yet confirmed may be lost: publish them again.
                let next = progress.next_batch.load(Ordering::Relaxed);
                progress.next_batch.store(
                    next.saturating_sub(MAX_UNCONFIRMED as u64),
                    Ordering::Relaxed,
                );
                broker = connect(url, prefix, &name, None)?;
            }
        }
    };
    if end == ProducerEnd::Stopped || !wait {
        return Ok(None);
    }
    let timeout = Duration::from_secs(job.spec.limits.timeout_s);
    let mut aggregator = Aggregator::new(job.info.clone(), &job.spec);
    let mut timed_out = false;
    let mut superseded_by = None;
    let mut last_progress = Instant::now();
    let mut last_check = Instant::now();
    let mut backoff = Backoff::new();
    'follow: while !aggregator.is_complete() {
        let listener = match broker.result_listener(&job.job) {
            Ok(listener) => listener,
            Err(e) => {
                backoff.wait(url, "following the job", &e);
                broker = connect(url, prefix, &name, None)?;
                continue;
            }
        };
        while !aggregator.is_complete() {
            if started.elapsed() > timeout {
                timed_out = true;
                break 'follow;
            }
            let next = listener
                .next_result(Duration::from_millis(200))
                .and_then(|d| match d {
                    Some(d) => {
                        if d.job == job.job
                            && let Added::Rejected(why) = aggregator.add(d.body)
                        {
                            tracing::warn!(job = %job.job, "ignored a result batch: {why}");
                        }
                        listener.ack_result(d.tag)
                    }
                    None => Ok(()),
                });
            if let Err(e) = next {
                backoff.wait(url, "following the job", &e);
                broker = connect(url, prefix, &name, None)?;
                continue 'follow;
            }
            if last_progress.elapsed() >= Duration::from_millis(100) {
                on_progress(&aggregator.progress());
                last_progress = Instant::now();
            }
            if last_check.elapsed() >= SUPERSEDED_CHECK_EVERY {
                last_check = Instant::now();
                // Consumers discard the batches of a superseded job: stop waiting for them.
                if let Ok(Some(current)) = broker.current_job()
                    && current != job.job
                {
                    superseded_by = Some(current);
                    break 'follow;
                }
            }
        }
    }
    on_progress(&aggregator.progress());
    if let Err(e) = broker.delete_result_listener(&job.job) {
        tracing::warn!("could not delete the job's results queue: {e}");
    }
    let failures = aggregator.failures().clone();
    let mut summary = aggregator.into_summary(0.0);
    summary.elapsed_s = started.elapsed().as_secs_f64();
    Ok(Some(Followed {
        summary,
        failures,
        timed_out,
        superseded_by,
    }))
}

/// One attempt at publishing the job from `progress.next_batch` on, reporting once a second.
fn publish(
    broker: &Arc<AmqpBroker>,
    job: &Arc<JobModel>,
    progress: &ProducerProgress,
    started: Instant,
) -> anyhow::Result<ProducerEnd> {
    let producer = broker.producer().map_err(|e| anyhow!("{e}"))?;
    let total = job.spec.simulation.scenarios;
    let stats_queue = broker.topology().producer_stats_queue();
    let report = |state: ProducerState| {
        let generated = progress.published.load(Ordering::Relaxed);
        let elapsed_s = started.elapsed().as_secs_f64();
        let rate = generated as f64 / elapsed_s.max(1e-9);
        let status = ProducerStatus {
            job: job.job.clone(),
            generated,
            total,
            rate,
            elapsed_s,
            eta_s: if rate > 0.0 {
                (total - generated) as f64 / rate
            } else {
                f64::NAN
            },
            state,
        };
        if let Err(e) = broker.publish_telemetry(&stats_queue, &encode(&status)) {
            tracing::debug!("producer telemetry not sent: {e}");
        }
    };
    std::thread::scope(|scope| {
        let publisher = scope.spawn(|| produce(&producer, job.clone(), progress));
        let mut last_report = Instant::now();
        while !publisher.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
            if last_report.elapsed() >= TELEMETRY_EVERY {
                report(ProducerState::Publishing);
                last_report = Instant::now();
            }
        }
        let end = publisher
            .join()
            .expect("producer thread")
            .map_err(|e| anyhow!("{e}"))?;
        report(match end {
            ProducerEnd::Completed => ProducerState::Done,
            ProducerEnd::Stopped => ProducerState::Stopped,
        });
        Ok(end)
    })
}

/// Runs a consumer until SIGTERM or Ctrl-C, which drain it: batches in flight finish, are
/// acknowledged, and the process exits 0. When the broker goes away, it reconnects with
/// backoff and carries on; batches it had not acknowledged are redelivered by the broker.
pub fn consumer(mut args: ConsumerArgs) -> anyhow::Result<()> {
    args.broker = resolve_broker(&args.broker, &args.connection)?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id()));
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => mcp_embedded::default_workers(),
    };
    let sandbox = Sandbox::new().context("could not start the WebAssembly engine")?;
    let drain = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, drain.clone())
            .context("could not install the signal handler")?;
    }
    let name = format!("mcp consumer {id}");
    let mut telemetry = Telemetry::new(&id, threads);
    let mut backoff = Backoff::new();
    loop {
        let broker = match connect(&args.broker, &args.connection.prefix, &name, Some(&drain)) {
            Ok(broker) => broker,
            Err(_) if drain.load(Ordering::Relaxed) => return Ok(()),
            Err(e) => return Err(e),
        };
        tracing::info!(id, broker = %redact(&args.broker), threads, "consumer connected");
        match serve_batches(
            &broker,
            &args,
            &id,
            threads,
            &sandbox,
            &drain,
            &mut telemetry,
        ) {
            Ok(()) => {
                tracing::info!(id, "consumer drained and stopped");
                return Ok(());
            }
            Err(e) if drain.load(Ordering::Relaxed) => {
                tracing::warn!(id, "stopped while the broker was unavailable: {e:#}");
                return Ok(());
            }
            Err(e) => backoff.wait(&args.broker, &name, &format!("{e:#}")),
        }
    }
}

/// Runs the consumer threads on one connection until they drain, or one of them fails.
fn serve_batches(
    broker: &Arc<AmqpBroker>,
    args: &ConsumerArgs,
    id: &str,
    threads: usize,
    sandbox: &Sandbox,
    drain: &AtomicBool,
    telemetry: &mut Telemetry,
) -> anyhow::Result<()> {
    let stats = telemetry.stats.clone();
    let stats = stats.as_slice();
    let links = (0..threads)
        .map(|i| broker.consumer(&format!("{id}/{i}"), args.prefetch))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{e}"))?;
    let queue = broker.topology().consumer_stats_queue();
    let control = broker.control_listener().map_err(|e| anyhow!("{e}"))?;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = links
            .iter()
            .zip(stats.iter())
            .map(|(link, stats)| scope.spawn(|| consume(link, sandbox, stats)))
            .collect();
        let mut failed = false;
        let mut last_state = None;
        let mut last_report = Instant::now() - TELEMETRY_EVERY;
        loop {
            let draining = drain.load(Ordering::Relaxed);
            if draining || failed {
                for s in stats.iter() {
                    s.stop.store(true, Ordering::Relaxed);
                }
            }
            let paused = stats.iter().any(|s| s.paused.load(Ordering::Relaxed));
            let state = if draining {
                ConsumerState::Draining
            } else if paused {
                ConsumerState::Paused
            } else {
                ConsumerState::Active
            };
            if last_report.elapsed() >= TELEMETRY_EVERY || last_state != Some(state) {
                let status = telemetry.status(state);
                if let Err(e) = broker.publish_telemetry(&queue, &encode(&status)) {
                    tracing::debug!("consumer telemetry not sent: {e}");
                }
                last_report = Instant::now();
                last_state = Some(state);
            }
            if !failed && !draining && workers.iter().any(|w| w.is_finished()) {
                // A worker only stops by itself when its link failed: stop the others too.
                failed = true;
            }
            if workers.iter().all(|w| w.is_finished()) {
                break;
            }
            let wait = if draining || failed {
                Duration::from_millis(20)
            } else {
                Duration::from_millis(100)
            };
            match control.next(wait) {
                Ok(Some(command)) if command.consumer.as_ref().is_none_or(|c| c == id) => {
                    tracing::info!(id, action = ?command.action, "control command");
                    match command.action {
                        ControlAction::Pause | ControlAction::Resume => {
                            let pause = command.action == ControlAction::Pause;
                            for s in stats.iter() {
                                s.paused.store(pause, Ordering::Relaxed);
                            }
                        }
                        ControlAction::Drain => drain.store(true, Ordering::Relaxed),
                        ControlAction::Cancel => {
                            if let Some(job) = command.job {
                                for s in stats.iter() {
                                    let mut cancelled = s.cancelled.lock().expect("cancelled lock");
                                    // Only the latest few matter: jobs follow one another.
                                    if cancelled.len() >= 16 {
                                        cancelled.remove(0);
                                    }
                                    cancelled.push(job.clone());
                                }
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => failed = true,
            }
        }
        let mut first_error = None;
        for w in workers {
            if let Err(e) = w.join().expect("consumer thread") {
                first_error.get_or_insert(e);
            }
        }
        for s in stats.iter() {
            s.stop.store(false, Ordering::Relaxed);
        }
        if drain.load(Ordering::Relaxed) {
            let status = telemetry.status(ConsumerState::Stopped);
            let _ = broker.publish_telemetry(&queue, &encode(&status));
            return Ok(());
        }
        Err(first_error.unwrap_or_else(|| anyhow!("the broker connection closed")))
    })
}

pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// Builds heartbeats: rates and CPU use over the interval since the previous one.
struct Telemetry {
    /// Counters of each consumer thread; they outlive reconnections.
    stats: Arc<Vec<ConsumerStats>>,
    id: String,
    host: String,
    last_at: Instant,
    last_scenarios: u64,
    last_cpu_s: f64,
}

impl Telemetry {
    fn new(id: &str, threads: usize) -> Telemetry {
        Telemetry {
            stats: Arc::new((0..threads).map(|_| ConsumerStats::default()).collect()),
            id: id.to_string(),
            host: host_name(),
            last_at: Instant::now(),
            last_scenarios: 0,
            last_cpu_s: cpu_seconds(),
        }
    }

    fn status(&mut self, state: ConsumerState) -> ConsumerStatus {
        let stats = self.stats.clone();
        let sum = |f: fn(&ConsumerStats) -> u64| stats.iter().map(f).sum::<u64>();
        let scenarios = sum(|s| s.scenarios.load(Ordering::Relaxed));
        let batches = sum(|s| s.batches.load(Ordering::Relaxed));
        let eval_ns = sum(|s| s.eval_nanos.load(Ordering::Relaxed));
        let last_ns = stats
            .iter()
            .map(|s| s.last_batch_nanos_per_scenario.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        let dt = self.last_at.elapsed().as_secs_f64().max(1e-9);
        let cpu = cpu_seconds();
        let status = ConsumerStatus {
            id: self.id.clone(),
            host: self.host.clone(),
            state,
            batches,
            scenarios,
            scenarios_per_s: (scenarios - self.last_scenarios) as f64 / dt,
            last_s_per_scenario: last_ns as f64 * 1e-9,
            mean_s_per_scenario: if scenarios > 0 {
                eval_ns as f64 * 1e-9 / scenarios as f64
            } else {
                0.0
            },
            failures: sum(|s| s.failures.load(Ordering::Relaxed)),
            expired: sum(|s| s.expired.load(Ordering::Relaxed)),
            rss_bytes: rss_bytes(),
            cpu_percent: 100.0 * (cpu - self.last_cpu_s) / dt,
            sent_at_ms: now_ms(),
            refused: stats
                .iter()
                .find_map(|s| s.refused.lock().expect("refused lock").clone())
                .map(|(job, error)| RefusedModel { job, error }),
        };
        self.last_at = Instant::now();
        self.last_scenarios = scenarios;
        self.last_cpu_s = cpu;
        status
    }
}

/// Resident memory of this process (Linux; 0 elsewhere).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// CPU seconds (user + system) this process has used (Linux; 0 elsewhere).
pub(crate) fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Sends a control command to one consumer or to all of them.
pub fn control(url: &str, prefix: &str, command: &ControlCommand) -> anyhow::Result<()> {
    let broker = AmqpBroker::connect(url, prefix, "mcp control").map_err(|e| anyhow!("{e}"))?;
    broker.publish_control(command).map_err(|e| anyhow!("{e}"))
}
