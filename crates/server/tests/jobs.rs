//! Jobs, consumers and queues; uploads; control commands and cancellation; the token.

use super::*;
use mcp_broker::{BrokerError, ControlLink};
use mcp_protocol::{ConsumerState, ConsumerStatus, ControlCommand};
use mcp_server::{Submitted, Submitter, Upload};

#[tokio::test]
async fn jobs_are_listed_and_shown_with_their_state_and_summary() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    assert_eq!(
        get(api.clone(), "/api/jobs").await,
        (StatusCode::OK, Value::Array(vec![]))
    );

    let now = mcp_protocol::now_ms();
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
        host: "h1".into(),
        state: ConsumerState::Paused,
        batches: 3,
        scenarios: 3072,
        scenarios_per_s: 1000.0,
        failures: 1,
        rss_bytes: 1 << 20,
        cpu_percent: 50.0,
        ..mcp_testkit::fixtures::heartbeat("C1")
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
    fn submit(&self, upload: Upload) -> Result<Submitted, String> {
        if upload.model.first() != Some(&0) {
            return Err(format!(
                "{} is not a WebAssembly component",
                upload.model_name
            ));
        }
        Ok(Submitted {
            id: format!("job-{}", upload.spec.len()),
            scenarios: upload.overrides.scenarios.unwrap_or(1),
            digest: upload.spec_name,
        })
    }
}

pub(crate) fn multipart(parts: &[(&str, &str, &[u8])]) -> Request<Body> {
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

/// Fails the test if anything reaches it.
struct MustNotSubmit;

impl Submitter for MustNotSubmit {
    fn submit(&self, upload: Upload) -> Result<Submitted, String> {
        let name = &upload.model_name;
        panic!("{name} reached the submitter")
    }
}

#[tokio::test]
async fn a_100_mib_upload_is_refused_before_anything_is_submitted() {
    let f = fixture();
    // The default limit of `mcp serve` (--max-upload-mib 64).
    let api = Api::new(f.book.clone(), Some(Arc::new(MustNotSubmit)));
    let model = vec![0u8; 100 << 20];
    let (status, body) = call(
        api,
        multipart(&[("model", "big.wasm", &model), ("spec", "vars.toml", b"abc")]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let message = body["error"].as_str().unwrap();
    assert_eq!(
        message,
        "the upload is larger than this server takes (64 MiB for model and spec together); \
         `mcp serve --max-upload-mib` raises the limit"
    );
}

/// Records every command it is given.
#[derive(Default)]
struct FakeController(Mutex<Vec<String>>);

impl ControlLink for FakeController {
    fn send(&self, command: &ControlCommand) -> Result<(), BrokerError> {
        let (action, consumer) = (command.action, &command.consumer);
        self.0
            .lock()
            .unwrap()
            .push(format!("{action:?} {consumer:?}"));
        Ok(())
    }

    fn cancel(&self, job: &str) -> Result<(), BrokerError> {
        self.0.lock().unwrap().push(format!("cancel {job}"));
        Ok(())
    }
}

fn json_post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn control_commands_and_cancel_go_to_the_controller() {
    let f = fixture();
    let controller = Arc::new(FakeController::default());
    let api = Api::new(f.book.clone(), None).with_controller(controller.clone());
    let empty = |r: axum::response::Response| r.status();
    let send = |req| {
        let api = api.clone();
        async move { empty(router(api).oneshot(req).await.unwrap()) }
    };
    assert_eq!(
        send(json_post(
            "/api/control",
            r#"{"action":"pause","consumer":"C1"}"#
        ))
        .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(json_post("/api/control", r#"{"action":"drain"}"#)).await,
        StatusCode::ACCEPTED
    );
    let (status, body) = call(
        api.clone(),
        json_post("/api/control", r#"{"action":"explode"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("pause, resume or drain"),
        "{body}"
    );

    f.book
        .lock()
        .unwrap()
        .announce(announcement("j1"), 1)
        .unwrap();
    f.book.lock().unwrap().record(vec![result(0)], 2).unwrap();
    assert_eq!(
        send(json_post("/api/jobs/j1/cancel", "")).await,
        StatusCode::ACCEPTED
    );
    let (_, job) = get(api.clone(), "/api/jobs/j1").await;
    assert_eq!(job["state"], "cancelled");
    assert_eq!(
        job["outputs"]["y"]["count"], 2,
        "the partial summary is kept"
    );
    let (status, body) = call(api.clone(), json_post("/api/jobs/j1/cancel", "")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "job `j1` is not running (it is cancelled)");
    let (status, _) = call(api, json_post("/api/jobs/nope/cancel", "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        *controller.0.lock().unwrap(),
        ["Pause Some(\"C1\")", "Drain None", "cancel j1"]
    );
}

#[tokio::test]
async fn writes_need_the_token_and_reads_do_not() {
    let f = fixture();
    let controller = Arc::new(FakeController::default());
    let api = Api::new(f.book.clone(), Some(Arc::new(FakeSubmitter)))
        .with_controller(controller.clone())
        .with_token("s3cret");
    let pause = |auth: Option<&str>| {
        let mut request = Request::post("/api/control").header("content-type", "application/json");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.body(Body::from(r#"{"action":"pause"}"#)).unwrap()
    };
    let (status, body) = call(api.clone(), pause(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer TOKEN"),
        "{body}"
    );
    let (status, body) = call(api.clone(), pause(Some("Bearer guess"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().starts_with("wrong token"),
        "{body}"
    );
    let (status, _) = call(api.clone(), multipart(&[("model", "m.wasm", b"\0")])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "uploads too");
    assert!(
        controller.0.lock().unwrap().is_empty(),
        "nothing got through"
    );

    let response = router(api.clone())
        .oneshot(pause(Some("Bearer s3cret")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(*controller.0.lock().unwrap(), ["Pause None"]);
    let (status, _) = get(api, "/api/jobs").await;
    assert_eq!(status, StatusCode::OK, "reading needs no token");
}
