//! The routes' handlers and the error answer.

use crate::views::{ConsumerView, JobView, QueueView, latest_jobs, one_job};
use crate::{Api, MAX_LIST, Submitted};
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mcp_protocol::{ControlAction, ControlCommand, now_ms};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The body of `POST /api/control`.
#[derive(Debug, Deserialize)]
pub(crate) struct ControlRequest {
    action: ControlAction,
    #[serde(default)]
    consumer: Option<String>,
}

pub(crate) async fn control(
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
    let command = ControlCommand::to(request.action, request.consumer);
    tokio::task::spawn_blocking(move || controller.send(&command))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn cancel(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
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
        let known = api
            .book()
            .job(&id)
            .map_err(ApiError::internal)?
            .map(|entry| entry.state());
        return Err(match known {
            Some(state) => ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "job `{id}` is not running (it is {})",
                    serde_json::to_value(state)
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
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
    Ok(StatusCode::ACCEPTED)
}

/// An error answer: a status and `{"error": message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
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
pub(crate) struct ListQuery {
    limit: Option<usize>,
}

pub(crate) async fn list_jobs(
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
    // Reading and decoding a long history is blocking work: off the reactor's threads.
    let jobs = tokio::task::spawn_blocking(move || latest_jobs(&api, limit, now_ms()))
        .await
        .map_err(ApiError::internal)?;
    jobs.map(Json).map_err(ApiError::internal)
}

pub(crate) async fn job(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let lookup = id.clone();
    let job = tokio::task::spawn_blocking(move || one_job(&api, &lookup, now_ms()))
        .await
        .map_err(ApiError::internal)?;
    match job {
        Ok(Some(view)) => Ok(Json(view)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no job `{id}`; GET /api/jobs lists the known jobs"),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

pub(crate) async fn consumers(State(api): State<Api>) -> Json<Vec<ConsumerView>> {
    let seen = api.book().consumers(Instant::now());
    Json(seen.into_iter().map(Into::into).collect())
}

pub(crate) async fn queues(State(api): State<Api>) -> Json<Vec<QueueView>> {
    Json(api.book().queues().iter().map(Into::into).collect())
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

pub(crate) async fn submit_job(
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
    let mut overrides = mcp_spec::Overrides::default();
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
            "scenarios" | "seed" => {
                let value = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "the field `{name}` is not a whole number from 0 to 2^64 - 1"
                        ))
                    })?;
                if name == "seed" {
                    overrides.seed = Some(value);
                } else {
                    overrides.scenarios = Some(value);
                }
            }
            other => {
                return Err(bad(format!(
                    "unexpected field `{other}`; send the fields `model` and `spec`, and \
                     optionally `scenarios` and `seed`"
                )));
            }
        }
    }
    let (model, model_name) =
        model.ok_or_else(|| bad("the field `model` (the .wasm file) is missing".into()))?;
    let (spec, spec_name) =
        spec.ok_or_else(|| bad("the field `spec` (vars.toml) is missing".into()))?;
    let upload = crate::Upload {
        model,
        model_name,
        spec,
        spec_name,
        overrides,
    };
    let submitted = tokio::task::spawn_blocking(move || submitter.submit(upload))
        .await
        .map_err(ApiError::internal)?
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m))?;
    Ok((StatusCode::ACCEPTED, Json(submitted)))
}
