//! `mcp serve` over a real RabbitMQ: the job history survives a SIGKILL mid-job, keeps
//! superseded jobs, sees lost consumers, and takes uploads through the HTTP API.

use crate::support::broker::*;
use crate::support::serve::{Serve, TOKEN, publish};
use crate::support::*;
use serde_json::Value;

/// Scenarios evaluated (0 while the job is not known yet).
fn scenarios(job: &Value) -> u64 {
    job["scenarios"].as_u64().unwrap_or(0)
}

fn ended(job: &Value) -> bool {
    matches!(
        job["state"].as_str(),
        Some("completed" | "superseded" | "timed_out" | "failed")
    )
}

#[test]
fn a_serve_killed_mid_job_and_restarted_loses_nothing() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let mut serve = Serve::start(&prefix, &db);
    let _consumer = start_consumer(&prefix, "c");
    let id = publish(&prefix, "300000");
    serve.wait_for_job(&id, |j| scenarios(j) > 0);
    // Hold the job mid-way: the consumer finishes only the batches it already holds.
    control(&prefix, &["pause"]);
    let before = serve.get(&format!("/api/jobs/{id}"));
    assert_eq!(before["state"], "running");
    assert!(scenarios(&before) < 300_000, "{before}");
    serve.kill();

    let serve = Serve::start(&prefix, &db);
    let recorded = serve.get(&format!("/api/jobs/{id}"));
    assert_eq!(recorded["state"], "running", "{recorded}");
    assert!(
        scenarios(&recorded) >= scenarios(&before),
        "what was recorded before the kill is still there: {recorded}"
    );
    control(&prefix, &["resume"]);
    let done = serve.wait_for_job(&id, ended);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(
        (scenarios(&done), done["failed"].as_u64()),
        (300_000, Some(0))
    );
    check_same_as_embedded(&done, "300000");
}

#[test]
fn history_keeps_superseded_jobs_and_consumers_are_seen_lost() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_dir, serve) = Serve::fresh(&prefix);
    let mut consumer = start_consumer(&prefix, "c1");
    let old = publish(&prefix, "2000000");
    serve.wait_for_job(&old, |j| scenarios(j) > 0);
    let new = publish(&prefix, "20480");
    let done = serve.wait_for_job(&new, ended);
    assert_eq!(done["state"], "completed", "{done}");
    check_same_as_embedded(&done, "20480");

    let superseded = serve.get(&format!("/api/jobs/{old}"));
    assert_eq!(superseded["state"], "superseded");
    let partial = scenarios(&superseded);
    assert!(partial > 0 && partial < 2_000_000, "{superseded}");
    assert_eq!(superseded["outputs"]["price"]["count"], partial);
    let ids: Vec<Value> = serve
        .get("/api/jobs")
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    assert_eq!(ids, [Value::from(new), Value::from(old)]);

    let queues = serve.get("/api/queues");
    let names: Vec<&str> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&prefix.topology().scenarios_queue().as_str()),
        "{queues}"
    );
    assert!(
        names.contains(&prefix.topology().dead_letter_queue().as_str()),
        "{queues}"
    );

    let seen = |c: &Value| c[0]["seen_state"].as_str().unwrap_or_default().to_string();
    let active = serve.wait_for("/api/consumers", |c| seen(c) == "active");
    assert_eq!(active[0]["id"], "c1");
    consumer.kill();
    let lost = serve.wait_for("/api/consumers", |c| seen(c) == "lost");
    assert!(lost[0]["silent_s"].as_f64().unwrap() >= 5.0, "{lost}");
}

#[test]
fn a_job_uploaded_to_the_api_runs_and_a_bad_spec_is_refused_with_its_fault() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_dir, serve) = Serve::fresh(&prefix);
    let _consumer = start_consumer(&prefix, "c1");
    let (model, spec) = pricing();
    let spec = std::fs::read_to_string(spec).unwrap();

    let (status, body) = serve.upload(&model, &spec, "not-the-token");
    assert_eq!(status, 401, "uploads need the token: {body}");
    let bad = spec.replace("strike   =", "strik    =");
    let (status, body) = serve.upload(&model, &bad, TOKEN);
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("strik") && error.contains("strike"),
        "{error}"
    );
    assert_eq!(
        serve.get("/api/jobs"),
        Value::Array(vec![]),
        "nothing was submitted"
    );

    let huge = spec.replace("scenarios = 1_000_000", "scenarios = 2_000_000");
    let (status, body) = serve.upload(&model, &huge, TOKEN);
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"],
        "vars.toml: simulation.scenarios is 2000000, more than this server takes (1000000); \
         split the job or ask the operator to raise --max-scenarios"
    );
    let small = spec.replace("scenarios = 1_000_000", "scenarios = 20480");
    let (status, body) = serve.upload(&model, &small, TOKEN);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["scenarios"], 20480);
    let id = body["id"].as_str().unwrap();
    let done = serve.wait_for_job(id, ended);
    assert_eq!(done["state"], "completed", "{done}");
    check_same_as_embedded(&done, "20480");

    // The history keeps what the result depends on, and `mcp rerun` reproduces it from there.
    let provenance = &done["provenance"];
    assert_eq!(provenance["model_digest"], done["model"]["digest"]);
    assert_eq!(provenance["seed"], 42);
    assert_eq!(provenance["mcp_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        provenance["spec_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let m = model.to_str().unwrap();
    let out = mcp(&[
        "rerun",
        id,
        "--model",
        m,
        "--api",
        &serve.url,
        "--workers",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.starts_with(&format!("job {id} reproduced bit for bit: 20480 scenarios")),
        "{said}"
    );
    let other = mcp_testkit::model_path("sum");
    let out = mcp(&[
        "rerun",
        id,
        "--model",
        other.to_str().unwrap(),
        "--api",
        &serve.url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give the model file the job ran"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn garbage_on_the_coordinators_queues_is_dead_lettered_with_a_reason() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let (_dir, serve) = Serve::fresh(&prefix);
    // Serve has bound its queues once its API answers with the queues' depths.
    serve.wait_for("/api/queues", |q| {
        q.as_array().is_some_and(|q| !q.is_empty())
    });
    let (runtime, conn) = connect("garbage");
    runtime.block_on(async {
        let ch = confirming_channel(&conn).await;
        for exchange in [topology.results_exchange(), topology.jobs_exchange()] {
            publish_to(&ch, &exchange, "", b"\x00 not msgpack at all").await;
        }
    });
    wait_for_queue_messages(&topology.dead_letter_queue(), 2);
    let mut from: Vec<String> = (0..2)
        .map(|_| {
            let (_, headers) = take(&topology.dead_letter_queue()).expect("a dead letter");
            let reason = header(&headers, mcp_broker_amqp::REASON_HEADER);
            assert!(reason.starts_with("not an mcp message"), "{reason}");
            header(&headers, mcp_broker_amqp::QUEUE_HEADER)
        })
        .collect();
    from.sort();
    let mut expected = vec![topology.jobs_queue(), topology.results_queue()];
    expected.sort();
    assert_eq!(from, expected);
    assert_eq!(
        serve.get("/api/jobs"),
        Value::Array(vec![]),
        "the coordinator carries on"
    );
}
