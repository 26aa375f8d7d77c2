//! Every role, end to end over RabbitMQ, against generated hostile messages on every exchange it
//! reads: random bytes, real messages cut short or with bytes changed, and well-formed messages
//! whose numbers and texts are past every bound. The coordinator, a consumer, a producer and a
//! follower take them while idle and while a job runs; then the same processes finish that job
//! to the same bits as an embedded run.
//!
//! The messages come from proptest strategies drawn with a fixed seed, so a failure replays.
//! During the job, no exchange gets a message that a legitimate sender could have sent (a valid
//! announcement supersedes the job, a valid model replaces it, a valid command pauses or stops
//! it: SECURITY.md says what forged messages can still do); everything else goes everywhere.

use crate::support::broker::*;
use crate::support::serve::Serve;
use crate::support::*;
use mcp_protocol::{
    BatchMessage, ControlAction, ControlCommand, JobAnnouncement, JobModel, ProducerState,
    ProducerStatus, ResultMessage, ScenarioBatch, ScenarioRun, StopCause, decode, encode,
};
use mcp_testkit::fixtures;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

/// Messages each exchange gets in each round.
const PER_EXCHANGE: usize = 120;

fn draw<T: std::fmt::Debug>(runner: &mut TestRunner, strategy: impl Strategy<Value = T>) -> Vec<T> {
    (0..PER_EXCHANGE)
        .map(|_| strategy.new_tree(runner).unwrap().current())
        .collect()
}

/// Random bytes, and `valid` messages cut short: nothing that decodes.
fn unreadable(valid: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (select(valid), any::<Index>()).prop_map(|(m, cut)| m[..cut.index(m.len())].to_vec()),
    ]
}

/// [`unreadable`], and `valid` messages with up to eight bytes changed (some of which decode).
fn garbled(valid: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let changed = (
        select(valid.clone()),
        proptest::collection::vec((any::<Index>(), any::<u8>()), 1..8),
    )
        .prop_map(|(mut m, changes)| {
            for (at, byte) in changes {
                let at = at.index(m.len());
                m[at] = byte;
            }
            m
        });
    prop_oneof![unreadable(valid), changed]
}

fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(u64::MAX), Just((1 << 53) + 1), 1u64..5000]
}

fn edge_u32() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0), Just(u32::MAX), Just((1 << 20) + 1), 1u32..5000]
}

/// Texts from empty to far past every bound.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z.]{1,12}",
        (0usize..100_000).prop_map(|n| "x".repeat(n)),
        any::<String>(),
    ]
}

/// Announcements (or, with Wasm bytes, models) of jobs whose spec and description are past
/// their bounds.
fn out_of_bounds() -> impl Strategy<Value = JobAnnouncement> {
    (
        text(),
        edge_u64(),
        edge_u32(),
        prop_oneof![Just(0usize), Just(5000), 1usize..4],
        edge_u64(),
        edge_u32(),
        edge_u64(),
    )
        .prop_map(
            |(job, scenarios, batch, outputs, timeout_s, memory_mib, at)| {
                let mut a = fixtures::announcement(&job, 10, 2, at);
                a.spec.simulation.scenarios = scenarios;
                a.spec.simulation.batch = batch;
                a.spec.limits.timeout_s = timeout_s;
                a.spec.limits.memory_mib = memory_mib;
                a.info.outputs = (0..outputs).map(|k| format!("o{k}")).collect();
                a
            },
        )
}

fn batches(jobs: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    (select(jobs), edge_u64(), edge_u64(), edge_u64(), edge_u32()).prop_map(
        |(job, index, start, count, batch)| {
            encode(&BatchMessage {
                job,
                run: ScenarioRun {
                    index,
                    start,
                    count,
                    batch,
                },
            })
        },
    )
}

/// Results for `job` (of `batches` batches of `outputs` outputs) that no consumer could have
/// made: past its last batch, or with a column too many, or with columns that disagree.
fn impossible_results(job: String, batches: u64, outputs: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..3,
        any::<u64>(),
        proptest::collection::vec(-1e9f64..1e9, 1..64),
    )
        .prop_map(move |(how, k, values)| {
            let mut result = fixtures::result(0, values.len() as u32, values.clone());
            let columns = match how {
                1 => outputs + 1,
                _ => outputs,
            };
            result.values = vec![values; columns];
            result.moments = vec![result.moments[0]; columns];
            match how {
                0 => result.batch.index = batches.saturating_add(k % (1 << 40)),
                2 => result.values[0].push(0.5),
                _ => {}
            }
            encode(&ResultMessage {
                job: job.clone(),
                consumer: "forged".into(),
                results: vec![result],
            })
        })
}

fn heartbeats() -> impl Strategy<Value = Vec<u8>> {
    (text(), text(), edge_u64(), any::<f64>()).prop_map(|(id, host, n, rate)| {
        let mut h = fixtures::heartbeat(&format!("forged-{}", id.len()));
        h.host = host;
        (h.batches, h.scenarios, h.failures, h.rss_bytes) = (n, n, n, n);
        h.scenarios_per_s = rate;
        h.refused = Some(mcp_protocol::RefusedModel {
            job: format!("no-such-job-{n}"),
            error: id,
        });
        encode(&h)
    })
}

fn producer_stats() -> impl Strategy<Value = Vec<u8>> {
    (text(), edge_u64(), edge_u64(), any::<f64>()).prop_map(|(job, generated, total, rate)| {
        encode(&ProducerStatus {
            job,
            generated,
            total,
            rate,
            elapsed_s: rate,
            eta_s: -rate,
            state: ProducerState::Publishing,
        })
    })
}

/// Commands for a consumer that does not exist, and stops of jobs that do not exist.
fn commands() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec![
            ControlAction::Pause,
            ControlAction::Resume,
            ControlAction::Drain,
            ControlAction::Cancel,
        ])
        .prop_map(|action| encode(&ControlCommand::to(action, Some("nobody".into())))),
        (text(), text()).prop_map(|(job, reason)| encode(&ControlCommand::stop(
            &format!("no-such-job-{}", job.len()),
            StopCause::Failed { reason }
        ))),
    ]
}

/// Publishes each of `messages` to its exchange, confirmed.
fn publish_all(messages: &[(String, Vec<Vec<u8>>)]) -> usize {
    let (runtime, conn) = connect("fuzz");
    runtime.block_on(async {
        let ch = confirming_channel(&conn).await;
        let mut n = 0;
        for (exchange, bodies) in messages {
            for body in bodies {
                publish_to(&ch, exchange, "", body).await;
                n += 1;
            }
        }
        n
    })
}

fn unreadable_batches(bodies: &[Vec<u8>]) -> u32 {
    bodies
        .iter()
        .filter(|b| decode::<BatchMessage>(b).is_err())
        .count() as u32
}

#[test]
fn every_role_survives_generated_hostile_messages_and_still_gets_the_same_bits() {
    let _broker = shared();
    let prefix = Prefix::new();
    let t = prefix.topology();
    let (_dir, serve) = Serve::fresh(&prefix);
    let mut consumer = start_consumer(&prefix, "c");
    let live = |c: &Value| c.as_array().unwrap().iter().any(|c| c["id"] == "c");
    serve.wait_for("/api/consumers", live);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );

    // Round 1, nothing running: everything, everywhere.
    let wasm = std::fs::read(pricing().0).unwrap();
    let announcements = draw(&mut runner, out_of_bounds());
    let models: Vec<Vec<u8>> = announcements
        .iter()
        .map(|a| {
            encode(&JobModel {
                job: a.job.clone(),
                info: a.info.clone(),
                spec: a.spec.clone(),
                wasm: wasm.clone(),
            })
        })
        .collect();
    let announced: Vec<Vec<u8>> = announcements.iter().map(encode).collect();
    let ids: Vec<String> = announcements.iter().map(|a| a.job.clone()).collect();
    let valid_batch = vec![encode(&BatchMessage {
        job: "j".into(),
        run: ScenarioBatch {
            index: 0,
            start: 0,
            count: 2,
        }
        .into(),
    })];
    let valid_result = vec![encode(&ResultMessage {
        job: "j".into(),
        consumer: "forged".into(),
        results: vec![fixtures::result(0, 2, vec![0.5, 1.5])],
    })];
    let scenarios_round_1 = [
        draw(&mut runner, garbled(valid_batch.clone())),
        draw(&mut runner, batches(ids)),
    ]
    .concat();
    let round_1 = vec![
        (
            t.jobs_exchange(),
            [announced.clone(), draw(&mut runner, garbled(announced))].concat(),
        ),
        (
            t.model_exchange(),
            [models.clone(), draw(&mut runner, garbled(models))].concat(),
        ),
        (t.scenarios_exchange(), scenarios_round_1.clone()),
        (
            t.results_exchange(),
            [
                draw(&mut runner, garbled(valid_result.clone())),
                draw(&mut runner, impossible_results("j".into(), 5, 1)),
            ]
            .concat(),
        ),
        (
            t.consumer_stats_exchange(),
            [
                draw(&mut runner, heartbeats()),
                draw(
                    &mut runner,
                    garbled(vec![encode(&fixtures::heartbeat("f"))]),
                ),
            ]
            .concat(),
        ),
        (
            t.producer_stats_exchange(),
            draw(&mut runner, producer_stats()),
        ),
        (t.control_exchange(), draw(&mut runner, commands())),
    ];
    publish_all(&round_1);

    // Round 2, while a job waits on a paused consumer: what no legitimate sender could send.
    control(&prefix, &["pause", "--consumer", "c"]);
    serve.wait_for("/api/consumers", |cs| {
        cs.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "c" && c["seen_state"] == "paused")
    });
    let scenarios = "40960";
    let submit = start_wait(&prefix, scenarios);
    let jobs = serve.wait_for("/api/jobs", |jobs| {
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["model"]["name"] == "pricing" && j["state"] == "running")
    });
    let job = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["model"]["name"] == "pricing")
        .unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let batch = job["spec"]["simulation"]["batch"].as_u64().unwrap();
    let n_batches = 40960u64.div_ceil(batch);
    let real_batch = vec![encode(&BatchMessage {
        job: id.clone(),
        run: ScenarioBatch {
            index: 1,
            start: batch,
            count: batch as u32,
        }
        .into(),
    })];
    let command = vec![encode(&ControlCommand::to(ControlAction::Pause, None))];
    let announcement = vec![encode(&fixtures::announcement(&id, 40960, 1024, 0))];
    let scenarios_round_2 = [
        draw(&mut runner, garbled(real_batch.clone())),
        draw(&mut runner, batches(vec![id.clone()])),
    ]
    .concat();
    let round_2 = vec![
        (t.scenarios_exchange(), scenarios_round_2.clone()),
        (
            t.results_exchange(),
            [
                draw(&mut runner, unreadable(valid_result)),
                draw(&mut runner, impossible_results(id.clone(), n_batches, 2)),
            ]
            .concat(),
        ),
        (
            t.jobs_exchange(),
            draw(&mut runner, unreadable(announcement)),
        ),
        (t.control_exchange(), draw(&mut runner, unreadable(command))),
        (t.consumer_stats_exchange(), draw(&mut runner, heartbeats())),
        (
            t.producer_stats_exchange(),
            draw(&mut runner, producer_stats()),
        ),
    ];
    publish_all(&round_2);
    control(&prefix, &["resume", "--consumer", "c"]);

    // The job ends as if nothing had happened, and every role is still there.
    check_same_as_embedded(&finish(submit), scenarios);
    let done = serve.wait_for_job(&id, |j| j["state"] == "completed");
    assert_eq!(done["scenarios"], 40960, "{done}");
    assert!(consumer.running(), "the consumer must survive");
    serve.wait_for("/api/consumers", live);
    assert!(serve.get("/api/jobs").as_array().is_some());
    // What could not be read as a batch was dead-lettered, not dropped or retried.
    let unreadable =
        unreadable_batches(&scenarios_round_1) + unreadable_batches(&scenarios_round_2);
    assert!(unreadable > 0);
    wait_for_queue(&t.dead_letter_queue(), |ready, _| ready >= unreadable);
}
