//! The HTTP API, request by request (`tower::ServiceExt::oneshot`, no socket), and the event
//! stream on a real socket.

mod events;
mod exports;
mod guard;
mod jobs;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_coordinator::Book;
use mcp_protocol::{JobAnnouncement, ResultBatch};
use mcp_server::{Api, router};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    book: Arc<Mutex<Book>>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let book = Book::open(&dir.path().join("h.sqlite3"), 0).unwrap();
    Fixture {
        _dir: dir,
        book: Arc::new(Mutex::new(book)),
    }
}

/// Job `id`: 4 scenarios in batches of 2.
fn announcement(id: &str) -> JobAnnouncement {
    let mut a = mcp_testkit::fixtures::announcement(id, 4, 2, mcp_protocol::now_ms());
    a.info.digest = "sha256:ab".into();
    a
}

/// Batch `index` of job `j1`.
fn result(index: u64) -> (String, ResultBatch) {
    let values = vec![1.0 + index as f64, 2.0];
    ("j1".into(), mcp_testkit::fixtures::result(index, 2, values))
}

async fn call(api: Api, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(api).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

async fn get(api: Api, uri: &str) -> (StatusCode, Value) {
    call(api, Request::get(uri).body(Body::empty()).unwrap()).await
}
