//! The coordinator's HTTP API and live dashboard, served with axum: jobs and their summaries,
//! consumers, queues, job submission, control, and a Server-Sent Events stream of snapshots.
//!
//! It reads the coordinator's [`Book`], sends commands through a
//! [`ControlLink`](mcp_broker::ControlLink), and hands uploads to a [`Submitter`], which the
//! binary implements (validating a model needs the Wasm engine, which this crate never sees).
//! The answers' shapes live in `views.rs` (jobs, consumers, queues) and `events.rs` (the live
//! snapshot); the handlers in `handlers.rs`, the downloads in `exports.rs` (made by
//! `mcp-export`). Every answer but a download is JSON; every error is
//! `{"error": "..."}` with a 4xx status for the client's mistakes and 500 only for the server's
//! own (its job history failing).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/jobs[?limit=N]` | the N (default 100) most recent jobs, newest first |
//! | `GET /api/jobs/{id}` | one job: the summary's shape plus state, total, times, failures, spec |
//! | `GET /api/consumers` | every consumer heard from in the last hour, with `seen_state` (`lost` after 5 s of silence) |
//! | `GET /api/queues` | depth and subscribers of each queue |
//! | `POST /api/jobs` | multipart `model` (the .wasm) and `spec` (vars.toml): validates, then submits; 202 with the job id |
//! | `POST /api/jobs/{id}/cancel` | cancels a running job (409 when it is not running) |
//! | `GET /api/jobs/{id}/results?format=csv\|json\|parquet` | an ended job's summary as a file (409 while it runs) |
//! | `GET /api/jobs/{id}/scenarios?format=csv\|json\|parquet` | the scenarios an ended job's spec kept whole (409 when it kept none) |
//! | `POST /api/control` | JSON `{"action": "pause"/"resume"/"drain", "consumer": ID or null for all}` |
//! | `GET /api/events` | Server-Sent Events: a `snapshot` event (the whole live state, JSON) twice a second |
//! | `GET /` | the dashboard (static files compiled in; charts by uPlot) |
//! | `GET /metrics` | Prometheus metrics (OpenMetrics text): scenarios, failures, jobs, queues, consumers |
//! | `GET /healthz`, `GET /readyz` | 200 while the process answers; 200 while connected to the broker with a writable history, else 503 |
//!
//! With a token set ([`Api::with_token`]), every request that changes something (any method
//! but GET and HEAD) needs `Authorization: Bearer TOKEN`; reading stays open, so the dashboard
//! can be watched read-only.

mod assets;
mod events;
mod exports;
mod guard;
mod handlers;
mod metrics;
pub mod views;

pub use events::{CurrentJob, SNAPSHOT_EVERY, Snapshot};
pub use guard::{AllowedHosts, DEFAULT_MAX_REQUESTS, DEFAULT_MAX_STREAMS};
pub use metrics::{OPENMETRICS, Probes};

pub use views::{ConsumerView, JobBrief, JobView, QueueView, REFUSALS_SHOWN, Refusal};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use mcp_broker::ControlLink;
use mcp_coordinator::{Book, HistoryReader};
use mcp_protocol::now_ms;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{Semaphore, watch};

/// Largest upload `POST /api/jobs` takes by default, in bytes.
pub const DEFAULT_UPLOAD_LIMIT: usize = 64 << 20;
/// Most jobs `GET /api/jobs` lists.
pub const MAX_LIST: usize = 1000;

/// A job accepted by a [`Submitter`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// The job's id.
    pub id: String,
    /// Scenarios in the job.
    pub scenarios: u64,
    /// The model's digest.
    pub digest: String,
}

/// A job uploaded to `POST /api/jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The component's bytes.
    pub model: Vec<u8>,
    /// The uploaded model's file name, for messages.
    pub model_name: String,
    /// The spec's text.
    pub spec: String,
    /// The uploaded spec's file name, for messages.
    pub spec_name: String,
    /// The fields `scenarios` and `seed`, which replace the spec's.
    pub overrides: mcp_spec::Overrides,
}

/// Validates and submits uploaded jobs.
pub trait Submitter: Send + Sync {
    /// Checks the upload's model against its spec and submits the job; `Err` carries a message
    /// for the user naming the file, field or export at fault.
    fn submit(&self, upload: Upload) -> Result<Submitted, String>;
}

/// The latest snapshot: its sequence number and its JSON.
type Latest = (u64, Arc<str>);

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    token: Option<Arc<str>>,
    book: Arc<Mutex<Book>>,
    submitter: Option<Arc<dyn Submitter>>,
    controller: Option<Arc<dyn ControlLink>>,
    upload_limit: usize,
    snapshots: Arc<watch::Sender<Latest>>,
    /// The history on its own connection (for a history on disk), read without the book.
    history: Option<Arc<HistoryReader>>,
    allowed_hosts: AllowedHosts,
    max_requests: usize,
    requests: Arc<Semaphore>,
    max_streams: usize,
    streams: Arc<Semaphore>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("submits", &self.submitter.is_some())
            .field("controls", &self.controller.is_some())
            .field("upload_limit", &self.upload_limit)
            .finish()
    }
}

impl Api {
    /// An API over `book`; `submitter` takes uploads (without one, `POST /api/jobs` answers
    /// 503).
    pub fn new(book: Arc<Mutex<Book>>, submitter: Option<Arc<dyn Submitter>>) -> Api {
        let history = book.lock().expect("book lock").reader();
        Api {
            token: None,
            history,
            book,
            submitter,
            controller: None,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            snapshots: Arc::new(watch::channel((0, Arc::from("null"))).0),
            allowed_hosts: AllowedHosts::default(),
            max_requests: DEFAULT_MAX_REQUESTS,
            requests: Arc::new(Semaphore::new(DEFAULT_MAX_REQUESTS)),
            max_streams: DEFAULT_MAX_STREAMS,
            streams: Arc::new(Semaphore::new(DEFAULT_MAX_STREAMS)),
        }
    }

    /// Answers requests addressed to these host names too, besides IP addresses and
    /// `localhost` (see [`AllowedHosts`]).
    pub fn with_allowed_hosts(mut self, hosts: AllowedHosts) -> Api {
        self.allowed_hosts = hosts;
        self
    }

    /// Handles at most `requests` requests and keeps at most `streams` event streams open at
    /// once; past either, it answers 503.
    pub fn with_limits(mut self, requests: usize, streams: usize) -> Api {
        self.max_requests = requests.max(1);
        self.requests = Arc::new(Semaphore::new(self.max_requests));
        self.max_streams = streams.max(1);
        self.streams = Arc::new(Semaphore::new(self.max_streams));
        self
    }

    /// Sets what pause/resume/drain and cancel go through (without one they answer 503).
    pub fn with_controller(mut self, controller: Arc<dyn ControlLink>) -> Api {
        self.controller = Some(controller);
        self
    }

    /// Builds a snapshot of the book now and hands it to every event stream. The history is
    /// read first, without the book's lock; the book is held only to take the live figures,
    /// and the snapshot is serialized after it is released.
    pub fn refresh(&self) {
        let now_ms = now_ms();
        let snapshot = views::latest_jobs(self, events::SNAPSHOT_JOBS, now_ms).and_then(|jobs| {
            let jobs = jobs.iter().map(JobBrief::from).collect();
            Snapshot::with_jobs(&mut self.book(), jobs, Instant::now(), now_ms)
        });
        match snapshot {
            Ok(snapshot) => {
                let json = serde_json::to_string(&snapshot).expect("snapshots serialise");
                self.snapshots.send_modify(|(seq, latest)| {
                    *seq += 1;
                    *latest = Arc::from(json);
                });
            }
            Err(e) => tracing::error!("no snapshot: {e}"),
        }
    }

    /// Requires `token` (as `Authorization: Bearer TOKEN`) of every request that changes
    /// something: submissions, cancellations, control commands.
    pub fn with_token(mut self, token: &str) -> Api {
        self.token = Some(Arc::from(token));
        self
    }

    /// Sets the largest upload, in bytes.
    pub fn with_upload_limit(mut self, bytes: usize) -> Api {
        self.upload_limit = bytes;
        self
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("book lock")
    }
}

/// The routes, ready to serve.
pub fn router(api: Api) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    use handlers::*;
    let limit = api.upload_limit;
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::app))
        .route("/sobol.js", get(assets::sobol))
        .route("/tornado.js", get(assets::tornado))
        .route("/style.css", get(assets::style))
        .route("/vendor/uPlot.iife.min.js", get(assets::uplot))
        .route("/vendor/uPlot.min.css", get(assets::uplot_css))
        .route("/api/events", get(events::events))
        .route("/api/control", post(control))
        .route("/api/jobs", get(list_jobs).post(submit_job))
        .route("/api/jobs/{id}", get(job))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/results", get(crate::exports::results))
        .route("/api/jobs/{id}/scenarios", get(crate::exports::scenarios))
        .route("/api/consumers", get(consumers))
        .route("/api/queues", get(queues))
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route; see /api/jobs") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(api.clone(), guard::require_token))
        .layer(from_fn_with_state(api.clone(), guard::bounded))
        .layer(from_fn_with_state(api.clone(), guard::addressed_to_us))
        .layer(from_fn(guard::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(api)
}

/// Serves `router(api)` on `listener` until `shutdown` resolves, refreshing the live snapshot
/// every [`SNAPSHOT_EVERY`].
pub async fn run(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = {
        let api = api.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SNAPSHOT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let api = api.clone();
                // Building takes the book's lock: keep it off the reactor threads.
                let _ = tokio::task::spawn_blocking(move || api.refresh()).await;
            }
        })
    };
    let served = axum::serve(listener, router(api))
        .with_graceful_shutdown(shutdown)
        .await;
    refresher.abort();
    served
}

/// What ends a server: the future that resolves when it should stop.
type Shutdown = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
/// A server running until its [`Shutdown`].
type Served = std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// The API served from a thread and a runtime of its own, for programs that are not async.
#[derive(Debug)]
pub struct HttpServer {
    address: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl HttpServer {
    /// Serves `api` on `listener` until [`stop`](HttpServer::stop) is called.
    pub fn start(listener: std::net::TcpListener, api: Api) -> std::io::Result<HttpServer> {
        HttpServer::spawn(listener, move |listener, stopped| {
            Box::pin(run(listener, api, stopped))
        })
    }

    /// Serves a process's `/metrics`, `/healthz` and `/readyz` from `probes` on `listener`.
    pub fn start_probes(
        listener: std::net::TcpListener,
        probes: Arc<dyn Probes>,
    ) -> std::io::Result<HttpServer> {
        HttpServer::spawn(listener, move |listener, stopped| {
            Box::pin(async move {
                axum::serve(listener, metrics::probe_router(probes))
                    .with_graceful_shutdown(stopped)
                    .await
            })
        })
    }

    /// Runs what `serve` makes of the listener on a runtime and a thread of their own.
    fn spawn(
        listener: std::net::TcpListener,
        serve: impl FnOnce(tokio::net::TcpListener, Shutdown) -> Served + Send + 'static,
    ) -> std::io::Result<HttpServer> {
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mcp-http")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mcp-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let shutdown: Shutdown = Box::pin(async {
                        let _ = stopped.await;
                    });
                    serve(listener, shutdown).await
                })
            })?;
        Ok(HttpServer {
            address,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Stops serving; open event streams end.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shut_down()
    }

    /// Waits until every open page has had the snapshot of the state as it is now, then stops:
    /// for a process whose job just ended.
    pub fn stop_after_final_snapshot(self) -> std::io::Result<()> {
        // Two intervals: the next snapshot is built, then sent to every stream.
        std::thread::sleep(SNAPSHOT_EVERY * 2 + std::time::Duration::from_millis(100));
        self.stop()
    }

    fn shut_down(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().expect("HTTP thread"),
            None => Ok(()),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
