//! A consumer process: evaluating threads on one session, the operator's commands, a
//! heartbeat every second; drained by a command or a signal; carried across reconnections.

use crate::heartbeat::{HEARTBEAT_EVERY, Heartbeat};
use crate::{Admission, ConsumerMetrics, ConsumerStats, consume};
use anyhow::anyhow;
use mcp_broker::{BrokerError, ConsumerSession, Reconnect};
use mcp_protocol::{ConsumerState, ControlAction, ControlCommand};
use mcp_sandbox::Sandbox;
use mcp_spec::Ceilings;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Cancelled jobs each thread remembers: jobs follow one another, only the latest matter.
const CANCELLED_KEPT: usize = 16;

/// How a session ended without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Drained: every batch taken was finished and acknowledged.
    Drained,
    /// The transport said no more batches will come (an embedded run's end).
    Finished,
}

/// A consumer process: its id, its threads' counters (which outlive reconnections), its
/// heartbeat.
#[derive(Debug)]
pub struct ConsumerProcess {
    id: String,
    admission: Admission,
    stats: Arc<Vec<ConsumerStats>>,
    heartbeat: Heartbeat,
}

/// Stops a running [`ConsumerProcess`] from another thread.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<Vec<ConsumerStats>>);

impl Stopper {
    /// Stops every thread at once, interrupting the batches in flight (their results are
    /// thrown away and their batches left unacknowledged).
    pub fn abort(&self) {
        for s in self.0.iter() {
            s.stop.store(true, Ordering::Relaxed);
            s.abort.store(true, Ordering::Relaxed);
        }
    }
}

impl ConsumerProcess {
    /// Consumer `id` with `threads` evaluating threads.
    pub fn new(id: &str, threads: usize) -> ConsumerProcess {
        let metrics = Arc::new(ConsumerMetrics::new());
        metrics.set_threads(threads.max(1));
        let stats: Arc<Vec<ConsumerStats>> = Arc::new(
            (0..threads.max(1))
                .map(|_| ConsumerStats {
                    metrics: metrics.clone(),
                    ..ConsumerStats::default()
                })
                .collect(),
        );
        ConsumerProcess {
            id: id.to_string(),
            admission: Admission::default(),
            heartbeat: Heartbeat::new(id, stats.clone()),
            stats,
        }
    }

    /// The process with the operator's `ceilings`: it refuses jobs over them.
    pub fn with_ceilings(mut self, ceilings: Ceilings) -> ConsumerProcess {
        self.admission.ceilings = ceilings;
        self
    }

    /// The process on a broker whose largest message is `bytes`: it refuses jobs whose result
    /// batches cannot fit.
    pub fn with_message_limit(mut self, bytes: usize) -> ConsumerProcess {
        self.admission.message_bytes = bytes;
        self
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its metrics, for `/metrics`.
    pub fn metrics(&self) -> Arc<ConsumerMetrics> {
        self.stats[0].metrics.clone()
    }

    /// A handle that stops the process from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stats.clone())
    }

    /// Runs until `drain` is set (by a signal or a drain command), reconnecting with
    /// `reconnect` whenever the session made by `connect` fails; batches not acknowledged
    /// before a failure are delivered again by the broker. Fails only when the broker is
    /// misconfigured.
    pub fn run(
        &mut self,
        connect: &mut dyn FnMut() -> Result<Box<dyn ConsumerSession>, BrokerError>,
        reconnect: &mut Reconnect<'_>,
        sandbox: &Sandbox,
        drain: &AtomicBool,
    ) -> anyhow::Result<()> {
        loop {
            let session = match reconnect.connect(&mut *connect) {
                Ok(session) => session,
                Err(_) if drain.load(Ordering::Relaxed) => return Ok(()),
                Err(e) => return Err(anyhow!("{e}")),
            };
            tracing::info!(id = %self.id, threads = self.stats.len(), "consumer connected");
            let metrics = self.metrics();
            metrics.set_broker_up(true);
            let outcome = self.run_session(&*session, sandbox, drain);
            metrics.set_broker_up(false);
            let error = match outcome {
                Ok(SessionEnd::Drained) => {
                    tracing::info!(id = %self.id, "consumer drained and stopped");
                    return Ok(());
                }
                Ok(SessionEnd::Finished) => anyhow!("the broker ended the subscription"),
                // A refused permission, say: a new session would meet it again.
                Err(e)
                    if matches!(
                        e.downcast_ref::<BrokerError>(),
                        Some(BrokerError::Misconfigured(_))
                    ) =>
                {
                    return Err(e);
                }
                Err(e) => e,
            };
            if drain.load(Ordering::Relaxed) {
                tracing::warn!(id = %self.id, "stopped while the broker was unavailable: {error:#}");
                return Ok(());
            }
            reconnect.wait(&format!("mcp consumer {}", self.id), &format!("{error:#}"));
        }
    }

    /// Runs the threads on one session until they are drained, the transport has no more
    /// batches, or one of them fails (then the others are stopped too).
    pub fn run_session(
        &mut self,
        session: &dyn ConsumerSession,
        sandbox: &Sandbox,
        drain: &AtomicBool,
    ) -> anyhow::Result<SessionEnd> {
        let stats = self.stats.clone();
        let admission = self.admission;
        let links = (0..stats.len())
            .map(|i| session.link(&i.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let outcome = std::thread::scope(|scope| -> anyhow::Result<SessionEnd> {
            let workers: Vec<_> = links
                .iter()
                .zip(stats.iter())
                .enumerate()
                .map(|(i, (link, stats))| {
                    std::thread::Builder::new()
                        .name(format!("mcp-worker-{i}"))
                        .spawn_scoped(scope, move || consume(&**link, sandbox, &admission, stats))
                })
                .collect::<Result<_, _>>()?;
            let mut stopping = false;
            let mut last_state = None;
            let mut last_beat = Instant::now() - HEARTBEAT_EVERY;
            loop {
                let draining = drain.load(Ordering::Relaxed);
                if draining || stopping {
                    for s in stats.iter() {
                        s.stop.store(true, Ordering::Relaxed);
                    }
                }
                let state = if draining {
                    ConsumerState::Draining
                } else if stats.iter().any(|s| s.paused.load(Ordering::Relaxed)) {
                    ConsumerState::Paused
                } else {
                    ConsumerState::Active
                };
                if last_beat.elapsed() >= HEARTBEAT_EVERY || last_state != Some(state) {
                    if let Err(e) = session.send_status(&self.heartbeat.status(state)) {
                        tracing::debug!("consumer heartbeat not sent: {e}");
                    }
                    last_beat = Instant::now();
                    last_state = Some(state);
                }
                if workers.iter().all(|w| w.is_finished()) {
                    break;
                }
                // A thread stops by itself only when its link failed or the transport has no
                // more batches: stop the others too.
                stopping |= workers.iter().any(|w| w.is_finished());
                let wait = if draining || stopping {
                    Duration::from_millis(20)
                } else {
                    Duration::from_millis(100)
                };
                match session.next_command(wait) {
                    Ok(Some(command)) => self.obey(command, drain),
                    Ok(None) => {}
                    Err(_) => stopping = true,
                }
            }
            let mut first_error = None;
            for w in workers {
                if let Err(e) = w.join().expect("consumer thread") {
                    first_error.get_or_insert(e);
                }
            }
            match first_error {
                Some(e) => Err(e),
                None if drain.load(Ordering::Relaxed) => Ok(SessionEnd::Drained),
                None => Ok(SessionEnd::Finished),
            }
        });
        for s in stats.iter() {
            s.stop.store(false, Ordering::Relaxed);
        }
        if matches!(outcome, Ok(SessionEnd::Drained)) {
            let _ = session.send_status(&self.heartbeat.status(ConsumerState::Stopped));
        }
        outcome
    }

    /// Carries out an operator's command, when it is meant for this consumer.
    fn obey(&self, command: ControlCommand, drain: &AtomicBool) {
        if command.consumer.as_ref().is_some_and(|c| *c != self.id) {
            return;
        }
        tracing::info!(id = %self.id, action = ?command.action, "control command");
        match command.action {
            ControlAction::Pause | ControlAction::Resume => {
                let pause = command.action == ControlAction::Pause;
                for s in self.stats.iter() {
                    s.paused.store(pause, Ordering::Relaxed);
                    s.metrics.set_paused(pause);
                }
            }
            ControlAction::Drain => drain.store(true, Ordering::Relaxed),
            ControlAction::Cancel => {
                let Some(job) = command.job else { return };
                for s in self.stats.iter() {
                    let mut cancelled = s.cancelled.lock().expect("cancelled lock");
                    if cancelled.len() >= CANCELLED_KEPT {
                        cancelled.remove(0);
                    }
                    cancelled.push(job.clone());
                }
            }
        }
    }
}
