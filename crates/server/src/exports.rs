//! `GET /api/jobs/{id}/results?format=csv|json|parquet` (the summary) and
//! `GET /api/jobs/{id}/scenarios?format=...` (the scenarios its spec kept whole): files to
//! download, made by `mcp-export` from what the history recorded of an ended job.

use crate::Api;
use crate::handlers::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_coordinator::{JobEntry, JobRecord, StoreResult};
use mcp_export::Format;
use mcp_protocol::KeptScenario;
use serde::Deserialize;

/// The query of both routes.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Export {
    Summary,
    Scenarios,
}

pub(crate) async fn results(
    State(api): State<Api>,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    export(api, id, query, Export::Summary).await
}

pub(crate) async fn scenarios(
    State(api): State<Api>,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    export(api, id, query, Export::Scenarios).await
}

async fn export(
    api: Api,
    id: String,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
    what: Export,
) -> Result<Response, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let Query(query) = query.map_err(|e| bad(format!("{e}; use ?format=csv, json or parquet")))?;
    let format = match query.format.as_deref() {
        None => Format::Json,
        Some(name) => Format::named(name).map_err(|e| bad(format!("format: {e}")))?,
    };
    let lookup = id.clone();
    let bytes = tokio::task::spawn_blocking(move || made(&api, &lookup, what, format))
        .await
        .map_err(ApiError::internal)??;
    let name = match what {
        Export::Summary => "summary",
        Export::Scenarios => "scenarios",
    };
    let disposition = format!("attachment; filename=\"{id}-{name}.{}\"", format.name());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The export of job `id`, or why there is none.
fn made(api: &Api, id: &str, what: Export, format: Format) -> Result<Vec<u8>, ApiError> {
    let record = ended(api, id).map_err(ApiError::internal)?;
    let record = match record {
        Ended::Unknown => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no job `{id}`; GET /api/jobs lists the known jobs"),
            ));
        }
        Ended::Running => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("job `{id}` is still running; its results can be exported once it ends"),
            ));
        }
        Ended::Recorded(record) => *record,
    };
    let Some(summary) = &record.summary else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job `{id}` ended without a summary"),
        ));
    };
    let unmade = |e: mcp_export::ExportError| ApiError::internal(e);
    match what {
        Export::Summary => mcp_export::summary(summary, format).map_err(unmade),
        Export::Scenarios => {
            if record.kept == 0 {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "job `{id}` kept no scenarios; to keep them, set `keep = \"all\"`, \
                         `\"failed\"` or a number N under [simulation] in its spec and run it \
                         again"
                    ),
                ));
            }
            let kept = kept(api, id).map_err(ApiError::internal)?;
            let metadata = mcp_export::job_metadata(summary);
            mcp_export::scenarios(&record.announcement.info, &kept, metadata, format)
                .map_err(unmade)
        }
    }
}

/// Where a job stands, for an export.
enum Ended {
    Unknown,
    Running,
    Recorded(Box<JobRecord>),
}

/// Job `id` as the history records it once it ended: read on the history's own connection
/// when it has one (as `GET /api/jobs/{id}` reads), else through the book.
fn ended(api: &Api, id: &str) -> StoreResult<Ended> {
    let Some(history) = &api.history else {
        return Ok(match api.book().job(id)? {
            None => Ended::Unknown,
            Some(JobEntry::Running(_)) => Ended::Running,
            Some(JobEntry::Recorded(record)) => Ended::Recorded(record),
        });
    };
    if api.book().running(id).is_some() {
        return Ok(Ended::Running);
    }
    Ok(match history.job(id)? {
        None => Ended::Unknown,
        Some(record) if record.ended_at_ms.is_none() => Ended::Running,
        Some(record) => Ended::Recorded(Box::new(record)),
    })
}

/// The scenarios job `id` kept, read as [`ended`] reads.
fn kept(api: &Api, id: &str) -> StoreResult<Vec<KeptScenario>> {
    match &api.history {
        Some(history) => history.kept(id),
        None => api.book().kept(id),
    }
}
