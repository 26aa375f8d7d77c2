//! Who decides a job's fate over a real RabbitMQ: the operator's ceilings on `mcp serve` and
//! `mcp consumer`, a fleet where some consumers refuse a job, a producer told to stop wherever
//! it runs, and an order of jobs that no producer's clock can forge.

use crate::support::broker::*;
use crate::support::serve::{Serve, TOKEN};
use crate::support::*;
use mcp_protocol::{JobAnnouncement, now_ms};
use serde_json::Value;
use std::process::Command;

/// The pricing spec's `limits.memory_mib` (the default), and a ceiling below it.
const MEMORY_MIB: u32 = mcp_spec::DEFAULT_MEMORY_MIB;
const LOW_CEILING: &str = "32";

fn failed(job: &Value) -> bool {
    job["state"] == "failed"
}

/// An `mcp consumer` that refuses jobs asking for more than 32 MiB.
fn start_small_consumer(prefix: &Prefix, id: &str) -> Process {
    let mut command = consumer_command(&broker_url(), prefix, id);
    command.args(["--max-memory-mib", LOW_CEILING]);
    Process::spawn(command)
}

/// `mcp submit` of the pricing job on the test broker, its stderr collected.
fn submit_role(prefix: &Prefix, spec: &std::path::Path, scenarios: &str, wait: bool) -> Role {
    let model = pricing().0;
    let mut args = submit_args(
        prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        scenarios,
    );
    if wait {
        args.extend(["--wait".to_string(), "--json".to_string()]);
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp"));
    command.args(&args).stdout(std::process::Stdio::piped());
    Role::spawn(command)
}

#[test]
fn the_servers_ceilings_refuse_uploads_and_cli_submissions_naming_the_ceiling() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Serve::command(&broker_url(), &prefix, &dir.path().join("h.sqlite3"));
    command.args(["--max-memory-mib", LOW_CEILING]);
    let serve = Serve::spawn(command);
    let (model, spec) = pricing();
    let refusal = format!(
        "limits.memory_mib is {MEMORY_MIB}, more than this server allows ({LOW_CEILING}); \
         lower it or ask the operator to raise --max-memory-mib"
    );

    // Through the API: refused before anything is published.
    let text = std::fs::read_to_string(&spec).unwrap();
    let (status, body) = serve.upload(&model, &text, TOKEN);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], format!("vars.toml: {refusal}"));

    // Through the CLI, straight to the broker: `mcp serve` refuses the announcement, and the
    // submitter hears why and exits non-zero, whether it was still publishing or following.
    let mut submit = submit_role(&prefix, &spec, "200000", true);
    let (status, _) = submit.finish();
    assert_eq!(status.code(), Some(1), "{}", submit.stderr.text());
    let said = submit.stderr.text().to_string();
    assert!(
        said.contains("failed: refused: ") && said.contains(&refusal),
        "{said}"
    );
    let jobs = serve.wait_for("/api/jobs", |jobs| jobs[0]["state"] == "failed");
    assert_eq!(jobs[0]["message"], format!("refused: {refusal}"));
}

#[test]
fn a_job_every_consumer_refuses_fails_with_each_reason_and_one_able_consumer_is_enough() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_dir, serve) = Serve::fresh(&prefix);
    let mut small_a = start_small_consumer(&prefix, "small-a");
    let mut small_b = start_small_consumer(&prefix, "small-b");
    serve.wait_for("/api/consumers", |c| c.as_array().unwrap().len() == 2);
    let spec = pricing().1;
    let over = |id: &str| {
        format!(
            "consumer {id}: limits.memory_mib is {MEMORY_MIB}, more than this consumer allows \
             ({LOW_CEILING}); lower it or ask the operator to raise --max-memory-mib"
        )
    };

    // Every consumer refuses: the job fails with each one's reason, and its submitter says so.
    let mut refused = submit_role(&prefix, &spec, "20000", true);
    let (status, _) = refused.finish();
    assert_eq!(status.code(), Some(1), "{}", refused.stderr.text());
    let said = refused.stderr.text().to_string();
    assert!(
        said.contains("no consumer can run it: ")
            && said.contains(&over("small-a"))
            && said.contains(&over("small-b")),
        "{said}"
    );
    let jobs = serve.wait_for("/api/jobs", |jobs| failed(&jobs[0]));
    let message = jobs[0]["message"].as_str().unwrap();
    assert!(message.contains(&over("small-a")) && message.contains(&over("small-b")));
    // Its batches were given back, not dead-lettered, and the refusing consumers live on.
    let topology = prefix.topology();
    assert_eq!(queue_state(&topology.dead_letter_queue()).0, 0);
    assert!(small_a.running() && small_b.running());

    // One consumer that can run it is enough: the others give their batches to it. One batch a
    // message, so that the broker hands each small consumer some of the job's 59 runs; packed,
    // the able one could hold all of them before a small one is offered any.
    let _able = start_consumer(&prefix, "able");
    let summary = finish(start_wait_unpacked(&prefix, "60000"));
    check_same_as_embedded(&summary, "60000");
    let id = serve.get("/api/jobs")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(serve.get(&format!("/api/jobs/{id}"))["state"], "completed");
    // The small ones say, in their heartbeats, that they refuse the current job, and why.
    let consumers = serve.wait_for("/api/consumers", |c| {
        c.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["refused"]["job"] == id.as_str())
            .count()
            == 2
    });
    for c in consumers.as_array().unwrap() {
        if c["id"] != "able" {
            let line = format!(
                "consumer {}: {}",
                c["id"].as_str().unwrap(),
                c["refused"]["error"].as_str().unwrap()
            );
            assert_eq!(line, over(c["id"].as_str().unwrap()));
        }
    }
}

#[test]
fn a_model_that_does_not_load_anywhere_fails_its_job_and_the_consumer_lives() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let (_dir, serve) = Serve::fresh(&prefix);
    let mut consumer = start_consumer(&prefix, "c");
    serve.wait_for("/api/consumers", |c| c.as_array().unwrap().len() == 1);
    // A producer that skipped validation: the model's bytes are not Wasm.
    let mut model = (*mcp_testkit::fixtures::job_model("broken", 3, 1)).clone();
    model.wasm = b"not wasm at all".to_vec();
    let (runtime, conn) = connect("broken");
    runtime.block_on(async {
        let ch = confirming_channel(&conn).await;
        topology.declare(&ch).await.unwrap();
        let announcement = JobAnnouncement::of(&model, now_ms());
        let announcement = mcp_protocol::encode(&announcement);
        publish_to(&ch, &topology.jobs_exchange(), "", &announcement).await;
        publish_to(
            &ch,
            "",
            &topology.model_queue(),
            &mcp_protocol::encode(&model),
        )
        .await;
        for index in 0..3 {
            let message = mcp_protocol::BatchMessage {
                job: "broken".into(),
                run: mcp_protocol::ScenarioBatch {
                    index,
                    start: index,
                    count: 1,
                }
                .into(),
            };
            let body = mcp_protocol::encode(&message);
            publish_to(&ch, "", &topology.scenarios_queue(), &body).await;
        }
    });
    let job = serve.wait_for_job("broken", failed);
    let message = job["message"].as_str().unwrap();
    assert!(
        message.starts_with("no consumer can run it: consumer c: ")
            && message.contains("not a WebAssembly file"),
        "{message}"
    );
    // Its batches are discarded once the job is stopped (counted as expired), not
    // dead-lettered.
    serve.wait_for("/api/consumers", |c| c[0]["expired"] == 3);
    assert_eq!(queue_state(&topology.scenarios_queue()).0, 0);
    assert_eq!(queue_state(&topology.dead_letter_queue()).0, 0);
    assert!(
        consumer.running(),
        "the consumer must survive a broken model"
    );
    // And it still takes real work.
    check_same_as_embedded(&finish(start_wait(&prefix, "10240")), "10240");
}

#[test]
fn a_producer_stops_when_its_job_is_superseded_cancelled_or_timed_out() {
    let _broker = shared();
    let prefix = Prefix::new();
    let spec = pricing().1;
    let endless = mcp_spec::MAX_SCENARIOS.to_string();
    let scenarios = prefix.topology().scenarios_queue();

    // Superseded, with no coordinator running: the producer hears the newer announcement.
    let mut old = submit_role(&prefix, &spec, &endless, false);
    wait_for_queue_messages(&scenarios, 1);
    let mut newer = submit_role(&prefix, &spec, "1000", false);
    let (status, newer_id) = newer.finish();
    assert!(status.success(), "{}", newer.stderr.text());
    assert_eq!(old.exit_status().code(), Some(4), "{}", old.stderr.text());
    assert!(
        old.stderr.text().contains(&format!(
            "was superseded by job {} while it was being published",
            newer_id.trim()
        )),
        "{}",
        old.stderr.text()
    );

    // Timed out: the producer stops at its job's time-out, on its own clock.
    let (dir, short) = spec_file(
        &std::fs::read_to_string(&spec)
            .unwrap()
            .replace("[variables]", "[limits]\ntimeout_s = 2\n\n[variables]"),
    );
    let mut late = submit_role(&prefix, &short, &endless, false);
    assert_eq!(late.exit_status().code(), Some(3), "{}", late.stderr.text());
    assert!(
        late.stderr
            .text()
            .contains("timed out after 2 s while it was being published")
    );

    // Cancelled through the API: the CLI's producer and the API's own producer both stop.
    let db = dir.path().join("h.sqlite3");
    let mut command = Serve::command_taking(&broker_url(), &prefix, &db, &endless);
    command
        .env("RUST_LOG", "mcp=info,lapin=off")
        .stderr(std::process::Stdio::piped());
    let mut serve = Serve::spawn(command);
    let mut serve_log = Lines::of(serve.take_stderr());
    let mut cancelled = submit_role(&prefix, &spec, &endless, false);
    let jobs = serve.wait_for("/api/jobs", |j| {
        j[0]["state"] == "running" && j[0]["total"] == endless.parse::<u64>().unwrap()
    });
    let id = jobs[0]["id"].as_str().unwrap().to_string();
    let (status, body) = serve.post(&format!("/api/jobs/{id}/cancel"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        cancelled.exit_status().code(),
        Some(130),
        "{}",
        cancelled.stderr.text()
    );
    assert!(
        cancelled
            .stderr
            .text()
            .contains("was cancelled while it was being published")
    );

    // Endless batches of one scenario: however many batches the producer packs into a message,
    // far more messages than can be published before the cancel.
    let text = std::fs::read_to_string(&spec).unwrap();
    let text = text
        .replace("batch = 1024", "batch = 1")
        .replace("scenarios = 1_000_000", &format!("scenarios = {endless}"));
    assert!(
        text.contains(&endless) && text.contains("batch = 1\n"),
        "{text}"
    );
    let (status, body) = serve.upload(&pricing().0, &text, TOKEN);
    assert_eq!(status, 202, "{body}");
    let uploaded = body["id"].as_str().unwrap().to_string();
    serve.wait_for_job(&uploaded, |j| j["state"] == "running");
    let (status, body) = serve.post(&format!("/api/jobs/{uploaded}/cancel"));
    assert_eq!(status, 202, "{body}");
    serve_log.wait_for("stopped publishing the job: Cancelled");
    assert!(serve_log.text().contains(&uploaded), "{}", serve_log.text());
}

#[test]
fn a_producer_with_a_fast_clock_does_not_supersede_the_jobs_after_it() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let (_dir, serve) = Serve::fresh(&prefix);
    let _consumer = start_consumer(&prefix, "c");
    serve.wait_for("/api/consumers", |c| c.as_array().unwrap().len() == 1);
    // A job announced by a producer whose clock runs a century fast.
    let century_ms = 100 * 365 * 86_400 * 1000;
    let fast = mcp_testkit::fixtures::announcement("fast-clock", 10, 10, now_ms() + century_ms);
    let (runtime, conn) = connect("fast-clock");
    runtime.block_on(async {
        let ch = confirming_channel(&conn).await;
        topology.declare(&ch).await.unwrap();
        publish_to(
            &ch,
            &topology.jobs_exchange(),
            "",
            &mcp_protocol::encode(&fast),
        )
        .await;
    });
    serve.wait_for_job("fast-clock", |j| j["state"] == "running");
    // A job submitted after it runs, and it is the fast one that is superseded.
    let summary = finish(start_wait(&prefix, "20000"));
    check_same_as_embedded(&summary, "20000");
    let jobs = serve.wait_for("/api/jobs", |j| j[0]["state"] == "completed");
    assert_eq!(jobs[1]["id"], "fast-clock");
    assert_eq!(jobs[1]["state"], "superseded");
}
