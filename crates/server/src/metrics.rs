//! Prometheus and health probes: `GET /metrics` (the OpenMetrics text format), `GET /healthz`
//! (the process answers) and `GET /readyz` (it can do its work: connected to the broker, the
//! history writable). The coordinator's come from its [`Book`](mcp_coordinator::Book); any other
//! process (a consumer) serves its own through [`Probes`] and [`HttpServer::start_probes`].
//!
//! [`HttpServer::start_probes`]: crate::HttpServer::start_probes

use crate::Api;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_coordinator::{JobState, SeenState};
use mcp_protocol::FailureKind;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// The content type of the OpenMetrics text format.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The queues `/metrics` reports, by the label it gives them and their name's last part.
const QUEUES: [(&str, &str); 4] = [
    ("model", ".model"),
    ("scenarios", ".scenarios"),
    ("results", ".results"),
    ("dead_letter", ".dead-letters"),
];

/// What a process other than the coordinator shows its probes.
pub trait Probes: Send + Sync {
    /// Its metrics in the OpenMetrics text format.
    fn metrics(&self) -> String;
    /// `Ok` when it can do its work, else why not.
    fn ready(&self) -> Result<(), String>;
}

type Labels = Vec<(&'static str, String)>;

/// The coordinator's metrics now.
pub(crate) fn render(api: &Api) -> String {
    let (totals, progress, alive, queues, connected, write_failure) = {
        let book = api.book();
        let alive = book
            .consumers(Instant::now())
            .iter()
            .filter(|c| !matches!(c.state, SeenState::Lost | SeenState::Stopped))
            .count();
        (
            book.totals().clone(),
            book.progress(),
            alive,
            book.queues().to_vec(),
            book.connected(),
            book.write_failure().is_some(),
        )
    };
    // Counting jobs reads the history; with a history on disk, without the book's lock.
    let jobs = match &api.history {
        Some(reader) => reader.jobs_by_state(),
        None => api.book().jobs_by_state(),
    };
    let mut registry = Registry::default();
    let counter = |registry: &mut Registry, name: &str, help: &str, value: u64| {
        let c: Counter = Counter::default();
        c.inc_by(value);
        registry.register(name, help, c);
    };
    counter(
        &mut registry,
        "mcp_scenarios",
        "Scenarios recorded (succeeded or failed), every job, since the coordinator started",
        totals.scenarios,
    );
    counter(
        &mut registry,
        "mcp_batches",
        "Result batches recorded since the coordinator started",
        totals.batches,
    );
    // Every kind, at zero until it happens: a rate over it exists from the start.
    let failed = Family::<Labels, Counter>::default();
    for kind in FailureKind::ALL {
        let n = totals.failed.get(&kind).copied().unwrap_or(0);
        failed
            .get_or_create(&vec![("kind", kind.as_str().to_string())])
            .inc_by(n);
    }
    registry.register(
        "mcp_scenarios_failed",
        "Scenarios recorded as failed, by kind, since the coordinator started",
        failed,
    );
    let by_state = Family::<Labels, Gauge>::default();
    if let Ok(jobs) = &jobs {
        for state in JobState::ALL {
            let n = jobs.get(&state).copied().unwrap_or(0);
            by_state
                .get_or_create(&vec![("state", state.as_str().to_string())])
                .set(n as i64);
        }
    }
    registry.register("mcp_jobs", "Jobs in the history, by state", by_state);
    let done = Family::<Labels, Gauge>::default();
    let expected = Family::<Labels, Gauge>::default();
    let ratio = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for (job, p) in &progress {
        // Not `job`: Prometheus names its scrape jobs with that label.
        let labels = vec![("job_id", job.clone())];
        done.get_or_create(&labels).set(p.scenarios as i64);
        expected.get_or_create(&labels).set(p.total as i64);
        let share = if p.total == 0 {
            0.0
        } else {
            p.scenarios as f64 / p.total as f64
        };
        ratio.get_or_create(&labels).set(share);
    }
    registry.register(
        "mcp_job_scenarios",
        "Scenarios recorded of each running job",
        done,
    );
    registry.register(
        "mcp_job_scenarios_expected",
        "Scenarios of each running job",
        expected,
    );
    registry.register(
        "mcp_job_progress_ratio",
        "Share of each running job's scenarios recorded",
        ratio,
    );
    let gauge = |registry: &mut Registry, name: &str, help: &str, value: i64| {
        let g: Gauge = Gauge::default();
        g.set(value);
        registry.register(name, help, g);
    };
    gauge(
        &mut registry,
        "mcp_consumers_alive",
        "Consumers heard from in the last 5 s that have not stopped",
        alive as i64,
    );
    gauge(
        &mut registry,
        "mcp_broker_up",
        "1 while the coordinator holds a link to the broker",
        i64::from(connected),
    );
    gauge(
        &mut registry,
        "mcp_history_writable",
        "0 while the history cannot be written (a full disk)",
        i64::from(!write_failure),
    );
    let messages = Family::<Labels, Gauge>::default();
    let subscribers = Family::<Labels, Gauge>::default();
    for (label, suffix) in QUEUES {
        if let Some(q) = queues.iter().find(|q| q.name.ends_with(suffix)) {
            let labels = vec![("queue", label.to_string())];
            messages.get_or_create(&labels).set(i64::from(q.messages));
            subscribers
                .get_or_create(&labels)
                .set(i64::from(q.consumers));
        }
    }
    registry.register(
        "mcp_queue_messages",
        "Messages ready in each queue",
        messages,
    );
    registry.register(
        "mcp_queue_consumers",
        "Subscribers of each queue",
        subscribers,
    );
    let mut text = String::new();
    encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

/// `GET /metrics` of the coordinator.
pub(crate) async fn metrics(State(api): State<Api>) -> Response {
    match tokio::task::spawn_blocking(move || render(&api)).await {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz` of the coordinator: connected to the broker, with a writable history.
pub(crate) async fn readyz(State(api): State<Api>) -> Response {
    let book = api.book();
    let why = if !book.connected() {
        Some("not connected to the broker".to_string())
    } else {
        book.write_failure()
            .map(|e| format!("the history cannot be written: {e}"))
    };
    drop(book);
    answer_ready(why)
}

fn answer_ready(why: Option<String>) -> Response {
    match why {
        None => "ready\n".into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// The routes of a process's probes: `/metrics`, `/healthz`, `/readyz`.
pub(crate) fn probe_router(probes: Arc<dyn Probes>) -> axum::Router {
    use axum::routing::get;
    let metrics = {
        let probes = probes.clone();
        move || async move { ([(header::CONTENT_TYPE, OPENMETRICS)], probes.metrics()) }
    };
    let ready = move || async move { answer_ready(probes.ready().err()) };
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
}
