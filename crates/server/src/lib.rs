//! The coordinator's HTTP API and live dashboard, served with axum: jobs and their summaries,
//! consumers, queues, job submission, control, and a Server-Sent Events stream of snapshots.
//!
//! It reads the coordinator's [`Book`] and hands uploads to a [`Submitter`], which the binary
//! implements (validating a model needs the Wasm engine, which this crate never sees). Every
//! answer is JSON; every error is `{"error": "..."}` with a 4xx status for the client's
//! mistakes and 500 only for the server's own (its job history failing).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/jobs[?limit=N]` | the N (default 100) most recent jobs, newest first |
//! | `GET /api/jobs/{id}` | one job: the summary's shape plus state, total, times, failures, spec |
//! | `GET /api/consumers` | every consumer heard from in the last hour, with `seen_state` (`lost` after 5 s of silence) |
//! | `GET /api/queues` | depth and subscribers of each queue |
//! | `POST /api/jobs` | multipart `model` (the .wasm) and `spec` (vars.toml): validates, then submits; 202 with the job id |
//! | `POST /api/jobs/{id}/cancel` | cancels a running job (409 when it is not running) |
//! | `POST /api/control` | JSON `{"action": "pause"/"resume"/"drain", "consumer": ID or null for all}` |
//! | `GET /api/events` | Server-Sent Events: a `snapshot` event (the whole live state, JSON) twice a second |
//! | `GET /` | the dashboard (static files compiled in; charts by uPlot) |
//!
//! Snapshots are built once per interval whatever the number of browsers, and each stream
//! sends only the latest: a slow browser skips snapshots, it never slows the job.
//!
//! With a token set ([`Api::with_token`]), every request that changes something (any method
//! but GET and HEAD) needs `Authorization: Bearer TOKEN`; reading stays open, so the dashboard
//! can be watched read-only.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_coordinator::{Book, ConsumerView, JobView, now_ms};
use mcp_protocol::ControlAction;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod assets;

/// How often live snapshots are built.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

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

/// Validates and submits uploaded jobs.
pub trait Submitter: Send + Sync {
    /// Checks `model` against `spec` and submits the job; `Err` carries a message for the user
    /// naming the file, field or export at fault. `model_name` and `spec_name` are the uploaded
    /// file names, for those messages.
    fn submit(
        &self,
        model: Vec<u8>,
        model_name: &str,
        spec: &str,
        spec_name: &str,
    ) -> Result<Submitted, String>;
}

/// Sends commands to consumers and stops cancelled jobs' work.
pub trait Controller: Send + Sync {
    /// Pauses, resumes or drains one consumer, or all when `consumer` is `None`.
    fn control(&self, action: ControlAction, consumer: Option<&str>) -> Result<(), String>;
    /// Tells consumers to drop the remaining batches of `job`.
    fn cancel(&self, job: &str) -> Result<(), String>;
}

/// The latest snapshot: its sequence number and its JSON.
type Latest = (u64, Arc<str>);

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    token: Option<Arc<str>>,
    book: Arc<Mutex<Book>>,
    submitter: Option<Arc<dyn Submitter>>,
    controller: Option<Arc<dyn Controller>>,
    upload_limit: usize,
    snapshots: Arc<watch::Sender<Latest>>,
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
        Api {
            token: None,
            book,
            submitter,
            controller: None,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            snapshots: Arc::new(watch::channel((0, Arc::from("null"))).0),
        }
    }

    /// Sets what pause/resume/drain and cancel go through (without one they answer 503).
    pub fn with_controller(mut self, controller: Arc<dyn Controller>) -> Api {
        self.controller = Some(controller);
        self
    }

    /// Builds a snapshot of the book now and hands it to every event stream.
    pub fn refresh(&self) {
        let snapshot = self.book().snapshot(Instant::now(), now_ms());
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
    let limit = api.upload_limit;
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::app))
        .route("/style.css", get(assets::style))
        .route("/vendor/uPlot.iife.min.js", get(assets::uplot))
        .route("/vendor/uPlot.min.css", get(assets::uplot_css))
        .route("/api/events", get(events))
        .route("/api/control", post(control))
        .route("/api/jobs", get(list_jobs).post(submit_job))
        .route("/api/jobs/{id}", get(job))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/consumers", get(consumers))
        .route("/api/queues", get(queues))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route; see /api/jobs") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            require_token,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(api)
}

/// Refuses writes without the token, before their body is read.
async fn require_token(
    State(api): State<Api>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    use subtle::ConstantTimeEq;
    let Some(token) = &api.token else {
        return next.run(request).await;
    };
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return next.run(request).await;
    }
    let message = if given.is_empty() {
        "this needs the server's token: send `Authorization: Bearer TOKEN` (the token is printed \
         when the server starts, or set with --token / MCP_TOKEN)"
    } else {
        "wrong token: use the one the server printed when it started, or its --token / MCP_TOKEN"
    };
    ApiError::new(StatusCode::UNAUTHORIZED, message).into_response()
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

/// `GET /api/events`: the latest snapshot at once, then each new one.
async fn events(
    State(api): State<Api>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let receiver = api.snapshots.subscribe();
    let stream = futures_util::stream::unfold((receiver, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let (seq, json) = rx.borrow_and_update().clone();
        let mut event = Event::default()
            .event("snapshot")
            .id(seq.to_string())
            .data(&*json);
        if first {
            // A dropped stream is reopened by the browser after a second.
            event = event.retry(Duration::from_secs(1));
        }
        Some((Ok(event), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The body of `POST /api/control`.
#[derive(Debug, Deserialize)]
struct ControlRequest {
    action: ControlAction,
    #[serde(default)]
    consumer: Option<String>,
}

async fn control(
    State(api): State<Api>,
    request: Result<Json<ControlRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(request) = request.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{}; send JSON like {{\"action\": \"pause\", \"consumer\": \"C1\"}} (action: pause, resume or drain; consumer: an id, or null for all)",
                e.body_text()
            ),
        )
    })?;
    if request.action == ControlAction::Cancel {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "cancel is a job's: POST /api/jobs/{id}/cancel",
        ));
    }
    let controller = api.controller.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server controls no consumers",
        )
    })?;
    tokio::task::spawn_blocking(move || {
        controller.control(request.action, request.consumer.as_deref())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e))?;
    Ok(StatusCode::ACCEPTED)
}

async fn cancel(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let controller = api.controller.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server controls no jobs",
        )
    })?;
    let cancelled = api
        .book()
        .cancel(&id, now_ms())
        .map_err(ApiError::internal)?;
    if !cancelled {
        let known = api.book().job(&id, now_ms()).map_err(ApiError::internal)?;
        return Err(match known {
            Some(job) => ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "job `{id}` is not running (it is {})",
                    serde_json::to_value(job.state)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("ended")
                ),
            ),
            None => ApiError::new(StatusCode::NOT_FOUND, format!("no job `{id}`")),
        });
    }
    tokio::task::spawn_blocking(move || controller.cancel(&id))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e))?;
    Ok(StatusCode::ACCEPTED)
}

/// An error answer: a status and `{"error": message}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("API: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            self.status,
            Json(Body {
                error: self.message,
            }),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list_jobs(
    State(api): State<Api>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{e}; `limit` must be a whole number"),
        )
    })?;
    let limit = query.limit.unwrap_or(100).min(MAX_LIST);
    api.book()
        .jobs(limit, now_ms())
        .map(Json)
        .map_err(ApiError::internal)
}

async fn job(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<JobView>, ApiError> {
    match api.book().job(&id, now_ms()) {
        Ok(Some(view)) => Ok(Json(view)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no job `{id}`; GET /api/jobs lists the known jobs"),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

async fn consumers(State(api): State<Api>) -> Json<Vec<ConsumerView>> {
    Json(api.book().consumers(Instant::now()))
}

/// A queue's depth.
#[derive(Debug, Serialize)]
struct Queue {
    name: String,
    messages: u32,
    consumers: u32,
}

async fn queues(State(api): State<Api>) -> Json<Vec<Queue>> {
    Json(
        api.book()
            .queues()
            .iter()
            .map(|q| Queue {
                name: q.name.clone(),
                messages: q.messages,
                consumers: q.consumers,
            })
            .collect(),
    )
}

/// The error for an upload that could not be read; one over the size limit says which limit.
fn read_error(status: StatusCode, what: String, limit: usize) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let size = if limit.is_multiple_of(1 << 20) {
            format!("{} MiB", limit >> 20)
        } else {
            format!("{limit} bytes")
        };
        return ApiError::new(
            status,
            format!(
                "the upload is larger than this server takes ({size} for model and spec \
                 together); `mcp serve --max-upload-mib` raises the limit"
            ),
        );
    }
    ApiError::new(status, format!("could not read {what}"))
}

async fn submit_job(
    State(api): State<Api>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let Some(submitter) = api.submitter.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server takes no submissions",
        ));
    };
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let mut multipart = multipart.map_err(|e| {
        bad(format!(
            "{e}; send multipart/form-data with the fields `model` and `spec`"
        ))
    })?;
    let limit = api.upload_limit;
    let (mut model, mut spec) = (None, None);
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| read_error(e.status(), format!("the upload: {}", e.body_text()), limit))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_string();
        let file = field.file_name().unwrap_or(&name).to_string();
        let bytes = field.bytes().await.map_err(|e| {
            read_error(
                e.status(),
                format!("field `{name}`: {}", e.body_text()),
                limit,
            )
        })?;
        match name.as_str() {
            "model" => model = Some((bytes.to_vec(), file)),
            "spec" => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| bad(format!("the spec `{file}` is not UTF-8 text")))?;
                spec = Some((text, file));
            }
            other => {
                return Err(bad(format!(
                    "unexpected field `{other}`; send the fields `model` and `spec`"
                )));
            }
        }
    }
    let (model, model_name) =
        model.ok_or_else(|| bad("the field `model` (the .wasm file) is missing".into()))?;
    let (spec, spec_name) =
        spec.ok_or_else(|| bad("the field `spec` (vars.toml) is missing".into()))?;
    let submitted = tokio::task::spawn_blocking(move || {
        submitter.submit(model, &model_name, &spec, &spec_name)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m))?;
    Ok((StatusCode::ACCEPTED, Json(submitted)))
}
