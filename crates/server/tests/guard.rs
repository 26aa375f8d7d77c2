//! Who may ask what, and how many at once: hosts, origins, security headers, bounds.

use super::*;
use mcp_broker::{BrokerError, ControlLink};
use mcp_protocol::ControlCommand;
use mcp_server::{AllowedHosts, Submitted, Submitter, Upload};
use std::sync::mpsc;

struct NoControl;

impl ControlLink for NoControl {
    fn send(&self, _: &ControlCommand) -> Result<(), BrokerError> {
        Ok(())
    }
    fn cancel(&self, _: &str) -> Result<(), BrokerError> {
        Ok(())
    }
}

fn with_headers(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if method == "POST" {
        Body::from(r#"{"action":"pause"}"#)
    } else {
        Body::empty()
    };
    request
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn requests_for_another_host_and_writes_from_another_site_are_refused() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None)
        .with_controller(Arc::new(NoControl))
        .with_allowed_hosts(AllowedHosts::new(&["mcp.example.com"]));
    for host in [
        "127.0.0.1:8080",
        "localhost:8080",
        "mcp.example.com",
        "[::1]:8080",
    ] {
        let (status, _) = call(
            api.clone(),
            with_headers("GET", "/api/jobs", &[("host", host)]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    // A page that rebinds its own name to this machine still says its name.
    let (status, body) = call(
        api.clone(),
        with_headers("GET", "/api/jobs", &[("host", "rebound.example:8080")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"],
        "this server does not answer for host `rebound.example`; if that is its name, start it \
         with --allowed-host rebound.example (or MCP_ALLOWED_HOSTS)"
    );
    let write = |origin: &'static str| {
        with_headers(
            "POST",
            "/api/control",
            &[("host", "127.0.0.1:8080"), ("origin", origin)],
        )
    };
    let (status, body) = call(api.clone(), write("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("a page of `https://evil.example`")
    );
    let (status, _) = call(api.clone(), write("null")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = router(api).oneshot(write("http://127.0.0.1:8080")).await;
    assert_eq!(
        response.unwrap().status(),
        StatusCode::ACCEPTED,
        "the server's own page may write"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    for uri in ["/", "/app.js", "/api/jobs", "/api/nothing"] {
        let response = router(api.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{uri}");
    }
}

/// Says when an upload reached it, and takes it only once the test lets it go.
struct HeldSubmitter {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Submitter for HeldSubmitter {
    fn submit(&self, _: Upload) -> Result<Submitted, String> {
        self.entered.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        Ok(Submitted {
            id: "held".into(),
            scenarios: 1,
            digest: "sha256:00".into(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_bounds_a_server_answers_503_at_once() {
    use tokio::io::AsyncWriteExt;
    let f = fixture();
    let (release, held) = mpsc::channel();
    let (entered, in_handler) = mpsc::channel();
    let submitter = HeldSubmitter {
        entered: Mutex::new(entered),
        release: Mutex::new(held),
    };
    let api = Api::new(f.book.clone(), Some(Arc::new(submitter))).with_limits(1, 2);
    // One request in flight (an upload the submitter holds): the next is refused at once.
    let upload = tokio::spawn(call(
        api.clone(),
        jobs::multipart(&[("model", "m.wasm", b"\0asm"), ("spec", "vars.toml", b"x")]),
    ));
    tokio::task::spawn_blocking(move || in_handler.recv().unwrap())
        .await
        .unwrap();
    let (status, body) = get(api.clone(), "/api/jobs").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["error"],
        "this server is handling 1 requests already; try again in a moment"
    );
    release.send(()).unwrap();
    assert_eq!(upload.await.unwrap().0, StatusCode::ACCEPTED);
    assert_eq!(get(api.clone(), "/api/jobs").await.0, StatusCode::OK);

    // Two event streams open: a third is refused; when one closes, there is room again.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(mcp_server::run(listener, api, std::future::pending()));
    let open = || async move {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket
            .write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut reader = tokio::io::BufReader::new(socket);
        let mut status = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut status)
            .await
            .unwrap();
        (status, reader)
    };
    let (first, _a) = open().await;
    let (second, b) = open().await;
    let (third, _) = open().await;
    assert!(
        first.contains("200") && second.contains("200"),
        "{first}{second}"
    );
    assert!(third.contains("503"), "{third}");
    drop(b);
    let (again, _c) = mcp_testkit::eventually_async(|| async move {
        let (status, reader) = open().await;
        status.contains("200").then_some((status, reader))
    })
    .await;
    assert!(again.contains("200"));
    server.abort();
}
