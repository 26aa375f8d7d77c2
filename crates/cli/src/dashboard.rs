//! `mcp submit --dashboard`: the dashboard of `mcp serve`, for one embedded run. The run's
//! result batches feed a [`Book`] in memory (live statistics only: the run makes the summary),
//! its workers show as one consumer, `local`, and the page's buttons reach the workers.

use crate::cluster::{cpu_seconds, host_name, now_ms, rss_bytes};
use anyhow::Context;
use mcp_coordinator::{Book, JobState, Progress};
use mcp_embedded::{JobEnd, JobOutcome, ResultHook, RunOptions};
use mcp_protocol::{ConsumerState, ConsumerStatus, ControlAction, JobAnnouncement, JobModel};
use mcp_server::{Api, Controller};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The id the local workers show under.
const LOCAL: &str = "local";

/// Evaluation time reported by result batches: (seconds, scenarios, seconds per scenario of the
/// last batch).
type EvalTimes = Mutex<(f64, u64, f64)>;

/// A dashboard serving one embedded run.
#[derive(Debug)]
pub struct Dashboard {
    book: Arc<Mutex<Book>>,
    job: String,
    stop: Arc<AtomicBool>,
    http: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    paused: Arc<AtomicBool>,
    times: Arc<EvalTimes>,
    last: (Instant, u64, f64),
    host: String,
}

impl Dashboard {
    /// Serves the dashboard on `address` and hooks it into `options`.
    pub fn start(
        address: SocketAddr,
        token: Option<&str>,
        job: &JobModel,
        options: &mut RunOptions,
    ) -> anyhow::Result<Dashboard> {
        let (token, generated) = match token {
            Some(t) if !t.is_empty() => (t.to_string(), false),
            _ => (crate::serve::new_token()?, true),
        };
        let mut book = Book::open(std::path::Path::new(":memory:"), now_ms())?;
        book.follow(JobAnnouncement::of(job, now_ms()))?;
        let book = Arc::new(Mutex::new(book));
        let listener = std::net::TcpListener::bind(address).with_context(|| {
            format!(
                "could not serve the dashboard on {address}; give --dashboard another address \
                 (port 0 picks a free one)"
            )
        })?;
        listener.set_nonblocking(true)?;
        let bound = listener.local_addr()?;
        let controller = LocalController {
            paused: options.paused.clone(),
            cancel: options.cancel.clone(),
        };
        let api = Api::new(book.clone(), None)
            .with_controller(Arc::new(controller))
            .with_token(&token);
        let stop = Arc::new(AtomicBool::new(false));
        let http = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("mcp-dashboard".into())
                .spawn(move || crate::serve::http(listener, api, stop))?
        };
        let times: Arc<EvalTimes> = Arc::default();
        options.on_result = Some(ResultHook(Arc::new({
            let (book, times, id) = (book.clone(), times.clone(), job.job.clone());
            move |result| {
                {
                    let mut t = times.lock().expect("times lock");
                    let n = u64::from(result.batch.count);
                    t.0 += result.eval_seconds;
                    t.1 += n;
                    t.2 = result.eval_seconds / n.max(1) as f64;
                }
                let recorded = book
                    .lock()
                    .expect("book lock")
                    .record(vec![(id.clone(), result.clone())], now_ms());
                if let Err(e) = recorded {
                    tracing::warn!("dashboard: {e}");
                }
            }
        })));
        if generated {
            eprintln!("mcp submit: dashboard on http://{bound}/ (token for its buttons: {token})");
        } else {
            eprintln!("mcp submit: dashboard on http://{bound}/");
        }
        Ok(Dashboard {
            book,
            job: job.job.clone(),
            stop,
            http: Some(http),
            paused: options.paused.clone(),
            times,
            last: (Instant::now(), 0, cpu_seconds()),
            host: host_name(),
        })
    }

    /// Reports the local workers as a consumer, at most once a second.
    pub fn heartbeat(&mut self, progress: &Progress) {
        let dt = self.last.0.elapsed().as_secs_f64();
        if dt < 1.0 {
            return;
        }
        let (eval_s, evaluated, last) = *self.times.lock().expect("times lock");
        let cpu = cpu_seconds();
        let status = ConsumerStatus {
            id: LOCAL.to_string(),
            host: self.host.clone(),
            state: if self.paused.load(Ordering::Relaxed) {
                ConsumerState::Paused
            } else {
                ConsumerState::Active
            },
            batches: 0,
            scenarios: progress.scenarios,
            scenarios_per_s: progress.scenarios.saturating_sub(self.last.1) as f64 / dt,
            last_s_per_scenario: last,
            mean_s_per_scenario: if evaluated > 0 {
                eval_s / evaluated as f64
            } else {
                0.0
            },
            failures: progress.failed,
            expired: 0,
            rss_bytes: rss_bytes(),
            cpu_percent: 100.0 * (cpu - self.last.2) / dt,
            sent_at_ms: now_ms(),
            refused: None,
        };
        self.last = (Instant::now(), progress.scenarios, cpu);
        let seen =
            self.book
                .lock()
                .expect("book lock")
                .consumer_status(status, Instant::now(), now_ms());
        if let Err(e) = seen {
            tracing::warn!("dashboard: {e}");
        }
    }

    /// Records the run's end and summary, shows them for a moment, and stops serving.
    pub fn finish(mut self, outcome: &JobOutcome) {
        let state = match outcome.end {
            JobEnd::Completed => JobState::Completed,
            JobEnd::TimedOut => JobState::TimedOut,
            JobEnd::Cancelled => JobState::Cancelled,
        };
        let finished = self.book.lock().expect("book lock").finish(
            &self.job,
            state,
            &outcome.summary,
            &outcome.failures,
            now_ms(),
        );
        if let Err(e) = finished {
            tracing::warn!("dashboard: {e}");
        }
        // Long enough for open pages to receive the final snapshot.
        std::thread::sleep(mcp_server::SNAPSHOT_EVERY * 2 + Duration::from_millis(100));
        self.stop.store(true, Ordering::Relaxed);
        if let Some(http) = self.http.take()
            && let Err(e) = http.join().expect("dashboard thread")
        {
            tracing::warn!("dashboard: {e:#}");
        }
    }
}

/// The page's buttons, for the local workers: pause and resume them; drain (finish the
/// batches in hand, take no more) and cancel both end the run with a partial summary.
struct LocalController {
    paused: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
}

impl Controller for LocalController {
    fn control(&self, action: ControlAction, consumer: Option<&str>) -> Result<(), String> {
        if consumer.is_some_and(|c| c != LOCAL) {
            return Err(format!(
                "no consumer `{}` here: an embedded run has one, `{LOCAL}`",
                consumer.unwrap_or_default()
            ));
        }
        match action {
            ControlAction::Pause => self.paused.store(true, Ordering::Relaxed),
            ControlAction::Resume => self.paused.store(false, Ordering::Relaxed),
            ControlAction::Drain | ControlAction::Cancel => {
                self.cancel.store(true, Ordering::Relaxed)
            }
        }
        Ok(())
    }

    fn cancel(&self, _job: &str) -> Result<(), String> {
        self.cancel.store(true, Ordering::Relaxed);
        Ok(())
    }
}
