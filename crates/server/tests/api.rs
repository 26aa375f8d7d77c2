//! The HTTP API, request by request (`tower::ServiceExt::oneshot`, no socket).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_coordinator::Book;
use mcp_protocol::{
    ConsumerState, ConsumerStatus, JobAnnouncement, ModelInfo, ResultBatch, ScenarioBatch,
};
use mcp_server::{Api, Submitted, Submitter, router};
use mcp_spec::Spec;
use mcp_stats::Moments;
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

fn announcement(id: &str) -> JobAnnouncement {
    let text = "[simulation]\nscenarios = 4\nseed = 9\nbatch = 2\n[limits]\ntimeout_s = 3600\n\
                [variables]\nx = { dist = \"constant\", value = 1.0 }\n";
    JobAnnouncement {
        job: id.into(),
        info: ModelInfo {
            name: "m".into(),
            version: "1".into(),
            inputs: vec!["x".into()],
            outputs: vec!["y".into()],
            digest: "sha256:ab".into(),
        },
        spec: Spec::parse(text, "vars.toml").unwrap(),
        submitted_at_ms: mcp_coordinator::now_ms(),
    }
}

fn result(index: u64) -> (String, ResultBatch) {
    let values = vec![1.0 + index as f64, 2.0];
    (
        "j1".into(),
        ResultBatch {
            batch: ScenarioBatch {
                index,
                start: 2 * index,
                count: 2,
            },
            moments: vec![Moments::of(values.iter().copied())],
            values: vec![values],
            failures: vec![],
            eval_seconds: 0.0,
        },
    )
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

#[tokio::test]
async fn jobs_are_listed_and_shown_with_their_state_and_summary() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    assert_eq!(
        get(api.clone(), "/api/jobs").await,
        (StatusCode::OK, Value::Array(vec![]))
    );

    let now = mcp_coordinator::now_ms();
    f.book
        .lock()
        .unwrap()
        .announce(announcement("j1"), now)
        .unwrap();
    f.book.lock().unwrap().record(vec![result(1)], now).unwrap();
    let (status, job) = get(api.clone(), "/api/jobs/j1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["state"], "running");
    assert_eq!(
        (job["scenarios"].as_u64(), job["total"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(job["model"]["digest"], "sha256:ab");

    f.book.lock().unwrap().record(vec![result(0)], now).unwrap();
    let (_, job) = get(api.clone(), "/api/jobs/j1").await;
    assert_eq!(job["state"], "completed");
    assert_eq!(job["outputs"]["y"]["count"], 4);
    assert_eq!(job["outputs"]["y"]["mean"], 1.75);
    for key in [
        "model",
        "seed",
        "scenarios",
        "failed",
        "elapsed_s",
        "outputs",
    ] {
        assert!(
            job.get(key).is_some(),
            "the summary's `{key}` is missing: {job}"
        );
    }
    let (_, list) = get(api, "/api/jobs?limit=5").await;
    assert_eq!(list[0]["id"], "j1");
}

#[tokio::test]
async fn unknown_jobs_routes_and_bad_queries_are_client_errors_with_a_message() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    let (status, body) = get(api.clone(), "/api/jobs/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        "no job `nope`; GET /api/jobs lists the known jobs"
    );
    let (status, body) = get(api.clone(), "/api/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("no such route"));
    let (status, body) = get(api, "/api/jobs?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("`limit`"),
        "{body}"
    );
}

#[tokio::test]
async fn consumers_show_their_heartbeat_and_queues_their_depth() {
    let f = fixture();
    let status = ConsumerStatus {
        id: "C1".into(),
        host: "h1".into(),
        state: ConsumerState::Paused,
        batches: 3,
        scenarios: 3072,
        scenarios_per_s: 1000.0,
        last_s_per_scenario: 1e-6,
        mean_s_per_scenario: 1e-6,
        failures: 1,
        expired: 0,
        rss_bytes: 1 << 20,
        cpu_percent: 50.0,
        sent_at_ms: 1,
        refused: None,
    };
    f.book
        .lock()
        .unwrap()
        .consumer_status(status, Instant::now(), 1)
        .unwrap();
    f.book
        .lock()
        .unwrap()
        .set_queues(vec![mcp_broker::QueueDepth {
            name: "mcp.scenarios".into(),
            messages: 7,
            consumers: 2,
        }]);
    let api = Api::new(f.book.clone(), None);
    let (_, consumers) = get(api.clone(), "/api/consumers").await;
    assert_eq!(consumers[0]["id"], "C1");
    assert_eq!(consumers[0]["state"], "paused");
    assert_eq!(consumers[0]["seen_state"], "paused");
    assert_eq!(consumers[0]["scenarios"], 3072);
    let (_, queues) = get(api, "/api/queues").await;
    assert_eq!(
        queues,
        serde_json::json!([{"name": "mcp.scenarios", "messages": 7, "consumers": 2}])
    );
}

/// Accepts any model whose first byte is 0 and says why it refuses the others.
struct FakeSubmitter;

impl Submitter for FakeSubmitter {
    fn submit(
        &self,
        model: Vec<u8>,
        model_name: &str,
        spec: &str,
        spec_name: &str,
    ) -> Result<Submitted, String> {
        if model.first() != Some(&0) {
            return Err(format!("{model_name} is not a WebAssembly component"));
        }
        Ok(Submitted {
            id: format!("job-{}", spec.len()),
            scenarios: 1,
            digest: spec_name.to_string(),
        })
    }
}

fn multipart(parts: &[(&str, &str, &[u8])]) -> Request<Body> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--XX\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XX--\r\n");
    Request::post("/api/jobs")
        .header("content-type", "multipart/form-data; boundary=XX")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn uploads_are_validated_and_submitted() {
    let f = fixture();
    let api = Api::new(f.book.clone(), Some(Arc::new(FakeSubmitter))).with_upload_limit(1024);
    let (status, body) = call(
        api.clone(),
        multipart(&[("model", "m.wasm", b"\0asm"), ("spec", "vars.toml", b"abc")]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        serde_json::json!({"id": "job-3", "scenarios": 1, "digest": "vars.toml"})
    );

    let (status, body) = call(
        api.clone(),
        multipart(&[("model", "m.wasm", b"junk"), ("spec", "vars.toml", b"abc")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "m.wasm is not a WebAssembly component");

    let (status, body) = call(api.clone(), multipart(&[("model", "m.wasm", b"\0")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "the field `spec` (vars.toml) is missing");

    let (status, body) = call(
        api.clone(),
        multipart(&[("model", "m.wasm", b"\0"), ("extra", "x", b"")]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("`extra`"));

    let big = vec![0u8; 4096];
    let (status, body) = call(
        api.clone(),
        multipart(&[("model", "m.wasm", &big), ("spec", "vars.toml", b"abc")]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let not_multipart = Request::post("/api/jobs")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = call(api, not_multipart).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data"),
        "{body}"
    );

    let read_only = Api::new(f.book.clone(), None);
    let (status, _) = call(read_only, multipart(&[("model", "m.wasm", b"\0")])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
