//! The coordinator's ingest capacity alone: result messages made by evaluating `pricing` batches
//! the way a consumer does, encoded as they travel, then replayed as fast as one coordinator
//! thread takes them: each decoded as the broker link decodes it and recorded in the book
//! (checked, counted, moments merged in batch order, values kept or sketched), with nothing else
//! running. Exact mode is a job whose every value is kept; sketch mode the same messages in a
//! job twice as long, whose values are past 2²⁵ and sketched by the coordinator; sketched, that
//! job's messages as consumers send them in sketch mode, each batch's outputs already sketched.
//! The job never completes, so the end-of-job summary is not part of the figures.
//!
//! Run with `cargo xtask bench ingest` (release build, after `cargo xtask build-model pricing`).
//! Every figure comes from this one run.

use mcp_consumer::Evaluator;
use mcp_coordinator::Book;
use mcp_producer::{Packing, runs};
use mcp_protocol::{JobAnnouncement, JobModel, ResultMessage, decode, encode, now_ms};
use mcp_sandbox::Sandbox;
use mcp_spec::Spec;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

/// Scenarios replayed: 152 batches of 65536, so that both batch sizes divide it.
const SCENARIOS: u64 = 152 * 65536;

/// The pricing job of `scenarios` scenarios in batches of `batch`.
fn job(sandbox: &Sandbox, batch: u32, scenarios: u64) -> Arc<JobModel> {
    let text = std::fs::read_to_string(mcp_testkit::project_file(
        "example-models/pricing/vars.toml",
    ))
    .unwrap();
    let mut spec = Spec::parse(&text, "vars.toml").unwrap();
    spec.simulation.batch = batch;
    spec.simulation.scenarios = scenarios;
    let wasm = std::fs::read(mcp_testkit::model_path("pricing")).unwrap();
    mcp_producer::prepare(sandbox, wasm, "pricing.wasm", spec, "ingest").unwrap()
}

/// The result messages of the first [`SCENARIOS`] scenarios of `job`, `per_message` batches
/// each, encoded as a consumer sends them (values, or sketches where the job is in sketch
/// mode).
fn record(sandbox: &Sandbox, job: &JobModel, per_message: u32) -> Vec<Vec<u8>> {
    let mut evaluator = Evaluator::new(sandbox, job, None).unwrap().sketching();
    let mut simulation = job.spec.simulation;
    simulation.scenarios = SCENARIOS;
    runs(simulation, 0, per_message, &BTreeSet::new())
        .map(|run| {
            let results = run
                .batches()
                .map(|b| evaluator.evaluate(b).unwrap())
                .collect();
            encode(&ResultMessage {
                job: job.job.clone(),
                consumer: "bench".into(),
                results,
            })
        })
        .collect()
}

/// CPU seconds this thread has used.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime, fields 14 and 15 of stat(5), at Linux's 100 ticks a second.
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}

/// What replaying took: wall and CPU seconds.
struct Replayed {
    wall: f64,
    cpu: f64,
}

/// Replays `messages` into a book following `announced` (in memory, as `mcp submit --wait`
/// does, or with a history on disk, as `mcp serve` does), best of three.
fn replay(announced: &JobAnnouncement, messages: &[Vec<u8>], on_disk: bool) -> Replayed {
    let mut best = Replayed {
        wall: f64::MAX,
        cpu: f64::MAX,
    };
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let mut book = if on_disk {
            Book::open(&dir.path().join("history.sqlite3"), now_ms()).unwrap()
        } else {
            Book::in_memory(false).unwrap()
        };
        book.announce(announced.clone(), now_ms()).unwrap();
        let (started, cpu) = (Instant::now(), thread_cpu());
        for bytes in messages {
            let message: ResultMessage = decode(bytes).unwrap();
            let job = message.job;
            let results = message
                .results
                .into_iter()
                .map(|r| (job.clone(), r))
                .collect();
            book.record(results, now_ms()).unwrap();
        }
        let replayed = Replayed {
            wall: started.elapsed().as_secs_f64(),
            cpu: thread_cpu() - cpu,
        };
        let counted = book.running(&announced.job).unwrap().progress().scenarios;
        assert_eq!(counted, SCENARIOS, "every batch counted once");
        if replayed.wall < best.wall {
            best = replayed;
        }
    }
    best
}

fn main() {
    let sandbox = Sandbox::new().unwrap();
    println!(
        "coordinator ingest, one thread, {SCENARIOS} pricing scenarios (2 outputs) replayed, best of 3"
    );
    println!(
        "{:<8} {:>6} {:>8} {:>8} {:<22} {:>12} {:>11} {:>11}",
        "mode",
        "batch",
        "batches/",
        "messages",
        "history",
        "scenarios/s",
        "CPU µs/msg",
        "CPU ns/scen"
    );
    for batch in [1024u32, 65536] {
        // Exact: one batch more than replayed, so the job never ends; sketch: twice as many
        // scenarios, 4·10⁷ values for two outputs.
        let exact = job(&sandbox, batch, SCENARIOS + u64::from(batch));
        let sketch = job(&sandbox, batch, 2 * SCENARIOS);
        let packed = Packing::of(&sandbox, &exact, mcp_protocol::DEFAULT_MESSAGE_BYTES);
        let mut packings = vec![packed.per_message];
        if batch == 1024 {
            packings.push(1);
        }
        for per_message in packings {
            let values = record(&sandbox, &exact, per_message);
            let sketched = record(&sandbox, &sketch, per_message);
            let cases = [
                ("exact", &exact, &values),
                ("sketch", &sketch, &values),
                ("sketched", &sketch, &sketched),
            ];
            for (mode, job, messages) in cases {
                let announced = JobAnnouncement::of(job, now_ms());
                for on_disk in [false, true] {
                    if on_disk && per_message == 1 {
                        continue;
                    }
                    let r = replay(&announced, messages, on_disk);
                    let history = if on_disk {
                        "SQLite (mcp serve)"
                    } else {
                        "memory (submit --wait)"
                    };
                    println!(
                        "{mode:<8} {batch:>6} {per_message:>8} {:>8} {history:<22} {:>12.0} {:>11.1} {:>11.2}",
                        messages.len(),
                        SCENARIOS as f64 / r.wall,
                        r.cpu / messages.len() as f64 * 1e6,
                        r.cpu / SCENARIOS as f64 * 1e9,
                    );
                }
            }
            let bytes = |m: &[Vec<u8>]| m.iter().map(Vec::len).sum::<usize>() as f64;
            println!(
                "         ({:.2} bytes a scenario on the wire as values, {:.2} sketched; {} \
                 batches a message)",
                bytes(&values) / SCENARIOS as f64,
                bytes(&sketched) / SCENARIOS as f64,
                per_message
            );
        }
    }
}
