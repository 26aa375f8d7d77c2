//! `GET /api/jobs/{id}/results` and `/scenarios`: an ended job's summary and kept scenarios as
//! files, and the errors for a job that is unknown, running or kept nothing.

use super::*;
use axum::http::HeaderMap;
use mcp_export::{Cells, read_parquet};

/// `GET uri`: status, headers and body.
async fn download(api: Api, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = router(api).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap().to_str().unwrap()
}

/// Job `id`, announced with `keep = "all"` when `keep`, and its first batch recorded (every
/// scenario kept whole when `keep`).
fn started(f: &Fixture, id: &str, keep: bool) {
    let mut a = announcement(id);
    if keep {
        a.spec.simulation.keep = mcp_spec::Keep::All;
    }
    let mut book = f.book.lock().unwrap();
    let now = mcp_protocol::now_ms();
    book.announce(a, now).unwrap();
    book.record(vec![batch(id, 1, keep)], now).unwrap();
}

fn batch(id: &str, index: u64, keep: bool) -> (String, ResultBatch) {
    let (_, r) = result(index);
    let r = if keep {
        mcp_testkit::fixtures::keeping_all(r)
    } else {
        r
    };
    (id.to_string(), r)
}

fn finish(f: &Fixture, id: &str, keep: bool) {
    let now = mcp_protocol::now_ms();
    f.book
        .lock()
        .unwrap()
        .record(vec![batch(id, 0, keep)], now)
        .unwrap();
}

#[tokio::test]
async fn an_ended_jobs_summary_and_kept_scenarios_download_in_each_format() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    started(&f, "j1", true);
    let (status, body) = get(api.clone(), "/api/jobs/j1/results?format=csv").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        "job `j1` is still running; its results can be exported once it ends"
    );
    finish(&f, "j1", true);
    let (_, job) = get(api.clone(), "/api/jobs/j1").await;
    assert_eq!(job["kept_scenarios"], 4);

    let (status, headers, bytes) =
        download(api.clone(), "/api/jobs/j1/results?format=parquet").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-type"),
        "application/vnd.apache.parquet"
    );
    assert_eq!(
        header(&headers, "content-disposition"),
        "attachment; filename=\"j1-summary.parquet\""
    );
    let summary = read_parquet(&bytes).unwrap();
    assert_eq!(
        summary.column("output"),
        Some(&Cells::Text(vec![Some("y".into())]))
    );
    // Values 2, 2, 1, 2 (batches 1 and 0 of the fixture): mean 1.75.
    assert_eq!(summary.column("mean"), Some(&Cells::Real(vec![Some(1.75)])));

    let (status, headers, bytes) = download(api.clone(), "/api/jobs/j1/results?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .starts_with("output,count,mean,std,")
    );

    let (status, headers, bytes) = download(api.clone(), "/api/jobs/j1/results").await;
    assert_eq!(
        (status, header(&headers, "content-type")),
        (StatusCode::OK, "application/json")
    );
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["outputs"]["y"]["mean"], 1.75);

    let (status, headers, bytes) =
        download(api.clone(), "/api/jobs/j1/scenarios?format=parquet").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-disposition"),
        "attachment; filename=\"j1-scenarios.parquet\""
    );
    let rows = read_parquet(&bytes).unwrap();
    assert_eq!(
        rows.column("scenario"),
        Some(&Cells::Count(vec![Some(0), Some(1), Some(2), Some(3)]))
    );
    assert_eq!(
        rows.column("y"),
        Some(&Cells::Real(vec![
            Some(1.0),
            Some(2.0),
            Some(2.0),
            Some(2.0)
        ]))
    );
    assert_eq!(rows.column("x"), Some(&Cells::Real(vec![Some(1.0); 4])));
    let digest = rows.metadata.iter().find(|(k, _)| k == "mcp.model_digest");
    assert_eq!(digest.map(|(_, v)| v.as_str()), Some("sha256:ab"));

    let (status, _, bytes) = download(api, "/api/jobs/j1/scenarios?format=json").await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json[3]["scenario"], 3);
    assert_eq!(json[0]["y"], 1.0);
}

#[tokio::test]
async fn exports_of_unknown_jobs_jobs_that_kept_nothing_and_unknown_formats_are_refused() {
    let f = fixture();
    let api = Api::new(f.book.clone(), None);
    let (status, body) = get(api.clone(), "/api/jobs/nope/scenarios").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        "no job `nope`; GET /api/jobs lists the known jobs"
    );

    started(&f, "j2", false);
    finish(&f, "j2", false);
    let (status, body) = get(api.clone(), "/api/jobs/j2/scenarios?format=csv").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        "job `j2` kept no scenarios; to keep them, set `keep = \"all\"`, `\"failed\"` or a \
         number N under [simulation] in its spec and run it again"
    );
    let (status, body) = get(api.clone(), "/api/jobs/j2/results?format=xlsx").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "format: unknown format `xlsx`; use csv, json or parquet"
    );
    // A history in memory (an embedded run's dashboard) answers the same way.
    let book = Arc::new(Mutex::new(Book::in_memory(false).unwrap()));
    let mut a = announcement("j3");
    a.spec.simulation.keep = mcp_spec::Keep::All;
    let now = mcp_protocol::now_ms();
    book.lock().unwrap().announce(a, now).unwrap();
    book.lock()
        .unwrap()
        .record(vec![batch("j3", 0, true), batch("j3", 1, true)], now)
        .unwrap();
    let (status, _, bytes) =
        download(Api::new(book, None), "/api/jobs/j3/scenarios?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text,
        "scenario,x,y,failure_kind,failure_message\n0,1.0,1.0,,\n1,1.0,2.0,,\n2,1.0,2.0,,\n3,1.0,2.0,,\n"
    );
}
