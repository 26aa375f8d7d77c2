//! The coordinator's HTTP API, served with axum: jobs and their summaries, consumers, queues,
//! and job submission.
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

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use mcp_coordinator::{Book, ConsumerView, JobView, now_ms};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    book: Arc<Mutex<Book>>,
    submitter: Option<Arc<dyn Submitter>>,
    upload_limit: usize,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("submits", &self.submitter.is_some())
            .field("upload_limit", &self.upload_limit)
            .finish()
    }
}

impl Api {
    /// An API over `book`; `submitter` takes uploads (without one, `POST /api/jobs` answers
    /// 503).
    pub fn new(book: Arc<Mutex<Book>>, submitter: Option<Arc<dyn Submitter>>) -> Api {
        Api {
            book,
            submitter,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
        }
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
        .route("/api/jobs", get(list_jobs).post(submit_job))
        .route("/api/jobs/{id}", get(job))
        .route("/api/consumers", get(consumers))
        .route("/api/queues", get(queues))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route; see /api/jobs") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(api)
}

/// Serves `router(api)` on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(api))
        .with_graceful_shutdown(shutdown)
        .await
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
    let (mut model, mut spec) = (None, None);
    loop {
        let field = multipart.next_field().await.map_err(|e| {
            let status = e.status();
            ApiError::new(
                status,
                format!("could not read the upload: {}", e.body_text()),
            )
        })?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_string();
        let file = field.file_name().unwrap_or(&name).to_string();
        let bytes = field.bytes().await.map_err(|e| {
            ApiError::new(
                e.status(),
                format!("could not read field `{name}`: {}", e.body_text()),
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
