//! The dashboard's files and the live event stream.

use super::*;
use mcp_protocol::ConsumerStatus;

#[tokio::test]
async fn the_dashboard_is_served_from_the_binary() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    for (path, kind, needle) in [
        ("/", "text/html", "/app.js"),
        ("/", "text/html", "/tornado.js"),
        ("/app.js", "text/javascript", "EventSource"),
        ("/sobol.js", "text/javascript", "function renderSobol"),
        ("/tornado.js", "text/javascript", "renderTornado"),
        ("/style.css", "text/css", "--accent"),
        ("/vendor/uPlot.iife.min.js", "text/javascript", "uPlot"),
    ] {
        let response = router(api.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
    }
}

/// Reads one SSE event (up to its blank line) from `reader`.
async fn next_event(reader: &mut (impl tokio::io::AsyncBufRead + Unpin)) -> Vec<String> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).await.unwrap() > 0,
            "the stream ended"
        );
        let line = line.trim_end().to_string();
        if line.is_empty() && lines.iter().any(|l: &String| l.starts_with("data:")) {
            return lines;
        }
        // Skip HTTP headers, chunk sizes and keep-alive comments.
        if line.starts_with("event:")
            || line.starts_with("data:")
            || line.starts_with("id:")
            || line.starts_with("retry:")
        {
            lines.push(line);
        }
    }
}

fn field<'a>(event: &'a [String], name: &str) -> &'a str {
    event
        .iter()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {event:?}"))
        .trim()
}

#[tokio::test]
async fn events_stream_snapshots_on_a_real_socket_and_resume_after_a_reconnect() {
    use tokio::io::AsyncWriteExt;
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mcp_server::run(listener, api, async {
        let _ = stopped.await;
    }));
    let open = || async {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket
            .write_all(
                b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
            )
            .await
            .unwrap();
        tokio::io::BufReader::new(socket)
    };
    let mut stream = open().await;
    let first = next_event(&mut stream).await;
    assert_eq!(field(&first, "event:"), "snapshot");
    assert_eq!(field(&first, "retry:"), "1000");

    f.book
        .lock()
        .unwrap()
        .announce(announcement("j1"), mcp_protocol::now_ms())
        .unwrap();
    // The batch's rank correlation travels to the snapshot's live tornado.
    let (job, mut batch) = result(1);
    batch.tornado = Some(mcp_protocol::TornadoBatch {
        inputs: 1,
        rho: vec![-0.5],
        n: vec![2],
    });
    f.book
        .lock()
        .unwrap()
        .record(vec![(job, batch)], mcp_protocol::now_ms())
        .unwrap();
    // Snapshots come twice a second: wait for one that shows the job's first batch.
    let seen = loop {
        let event = next_event(&mut stream).await;
        let snapshot: Value = serde_json::from_str(field(&event, "data:")).unwrap();
        if snapshot["job"]["scenarios"] == 2 {
            break (event, snapshot);
        }
    };
    let (event, snapshot) = seen;
    assert!(
        field(&event, "id:").parse::<u64>().unwrap() > field(&first, "id:").parse::<u64>().unwrap()
    );
    assert_eq!(snapshot["job"]["id"], "j1");
    assert_eq!(snapshot["job"]["live"]["outputs"][0]["count"], 2);
    let tornado = &snapshot["job"]["live"]["tornado"];
    assert_eq!(tornado["outputs"]["y"][0]["input"], "x", "{tornado}");
    assert_eq!(tornado["outputs"]["y"][0]["spearman"], -0.5, "{tornado}");
    assert_eq!(snapshot["jobs"][0]["state"], "running");

    // A browser that reconnects gets the latest snapshot at once.
    drop(stream);
    let mut again = open().await;
    let resumed = next_event(&mut again).await;
    let snapshot: Value = serde_json::from_str(field(&resumed, "data:")).unwrap();
    assert_eq!(snapshot["job"]["scenarios"], 2);
    let _ = stop.send(());
    drop(again);
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_stops_reading_slows_nothing() {
    use tokio::io::AsyncWriteExt;
    let f = fixture();
    // Fat snapshots: 200 consumers' heartbeats.
    for c in 0..200 {
        let status = ConsumerStatus {
            host: "h".repeat(60),
            batches: 1,
            scenarios: 1,
            scenarios_per_s: 1.0,
            ..mcp_testkit::fixtures::heartbeat(&format!("consumer-{c:03}-{}", "x".repeat(40)))
        };
        f.book
            .lock()
            .unwrap()
            .consumer_status(status, Instant::now(), 1)
            .unwrap();
    }
    let api = Api::new(f.book.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mcp_server::run(listener, api.clone(), async {
        let _ = stopped.await;
    }));
    let open = || async {
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket
            .write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        socket
    };
    // This browser never reads: its socket buffers fill up.
    let _stalled = open().await;
    let snapshot = mcp_server::Snapshot::of(&mut f.book.lock().unwrap(), Instant::now(), 1);
    let size = serde_json::to_string(&snapshot.unwrap()).unwrap().len();
    // Enough snapshots to fill any socket buffer many times over; none of them waits for it.
    let rounds = (64 << 20) / size + 1;
    let api2 = api.clone();
    let refreshing = tokio::task::spawn_blocking(move || {
        for _ in 0..rounds {
            api2.refresh();
        }
    });
    tokio::time::timeout(std::time::Duration::from_secs(120), refreshing)
        .await
        .expect("building snapshots waited for the stalled browser")
        .unwrap();
    // A browser that reads gets the latest snapshot at once.
    let mut reader = tokio::io::BufReader::new(open().await);
    let event = next_event(&mut reader).await;
    let seq: u64 = field(&event, "id:").parse().unwrap();
    assert!(seq >= rounds as u64, "seq {seq} after {rounds} refreshes");
    let _ = stop.send(());
    drop(reader);
    drop(_stalled);
    server.abort();
}

#[test]
fn a_snapshot_with_fifty_consumers_and_ten_million_scenarios_stays_compact() {
    use mcp_server::Snapshot;
    use mcp_testkit::fixtures;
    let mut book = Book::in_memory(true).unwrap();
    book.announce(fixtures::announcement("big", 10_000_000, 8192, 1), 1)
        .unwrap();
    let at = Instant::now();
    for c in 0..50 {
        let mut status = fixtures::heartbeat(&format!("consumer-{c:02}"));
        status.scenarios = 200_000;
        book.consumer_status(status, at, 2).unwrap();
    }
    let batches = 10_000_000u64.div_ceil(8192);
    let mut size = 0;
    for index in 0..batches {
        let count = (10_000_000 - index * 8192).min(8192);
        let values: Vec<f64> = (0..count)
            .map(|i| ((index * 8192 + i) as f64 * 0.618).fract())
            .collect();
        let mut result = fixtures::result(index, 8192, values);
        result.eval_seconds = 1e-3;
        book.record(vec![("big".to_string(), result)], 3).unwrap();
        if index % 8 == 0 {
            // A snapshot every few batches, as twice a second would take during the job.
            let snapshot = Snapshot::of(&mut book, at, 4).unwrap();
            size = serde_json::to_string(&snapshot).unwrap().len();
        }
    }
    let snapshot = Snapshot::of(&mut book, at, 5).unwrap();
    let job = snapshot.job.as_ref().unwrap();
    assert_eq!(job.job.scenarios, 10_000_000);
    assert_eq!(job.live.outputs[0].count, 10_000_000);
    assert_eq!(snapshot.consumers.len(), 50);
    assert!(job.live.outputs[0].convergence.len() <= 512);
    assert!(size < 96 * 1024, "a snapshot is {size} bytes");
}

#[test]
fn a_snapshot_carries_the_sobol_indices_live_and_the_summarys_once_the_job_ended() {
    use mcp_protocol::SobolSums;
    use mcp_server::Snapshot;
    use mcp_testkit::fixtures;
    let mut book = Book::in_memory(true).unwrap();
    // Input `x`, output `y`: design rows of 3 runs (A, B, A with x from B); 10 rows in 2
    // batches of 5. `y` is x's value, with A = j and B = 2j + 1: the one input explains all.
    let mut job = fixtures::announcement("s", 30, 15, 1);
    job.spec.sensitivity = Some(mcp_spec::Sensitivity {
        method: mcp_spec::SensitivityMethod::Sobol,
    });
    book.announce(job, 1).unwrap();
    let batch = |index: u64| {
        let values: Vec<f64> = (5 * index..5 * index + 5)
            .flat_map(|j| [j as f64, (2 * j + 1) as f64, (2 * j + 1) as f64])
            .collect();
        let mut result = fixtures::result(index, 15, values);
        result.sobol = vec![SobolSums::of_batch(&result.values[0], &[], 15, 1)];
        ("s".to_string(), result)
    };
    book.record(vec![batch(0)], 2).unwrap();
    let live = Snapshot::of(&mut book, Instant::now(), 3).unwrap();
    let json = serde_json::to_value(&live).unwrap();
    let sobol = &json["job"]["live"]["sobol"];
    assert_eq!(sobol["rows"], 5, "{sobol}");
    let x = &sobol["outputs"]["y"][0];
    assert_eq!(x["input"], "x");
    // f(AB) = f(B) in every row: the total index is exactly 1.
    assert_eq!(x["total"], 1.0, "{x}");

    book.record(vec![batch(1)], 4).unwrap();
    let ended = Snapshot::of(&mut book, Instant::now(), 5).unwrap();
    let json = serde_json::to_value(&ended).unwrap();
    assert_eq!(json["job"]["state"], "completed");
    assert_eq!(json["job"]["live"]["sobol"]["rows"], 10);
    assert_eq!(json["job"]["live"]["sobol"], json["job"]["sobol"]);
}
