//! Distributed mode over a real RabbitMQ (`MCP_TEST_BROKER`, started by `cargo xtask test`):
//! `mcp consumer` processes and `mcp submit --broker --wait`, each test under its own prefix.
//! Every test checks exact totals, and that the outputs equal the embedded run's, bit for bit.

use crate::support::broker::*;
use crate::support::*;
use mcp_testkit::model_path;
use serde_json::Value;
use std::process::Command;

#[test]
fn two_consumers_give_the_embedded_answer() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let summary = finish(start_wait(&prefix, "60000"));
    check_same_as_embedded(&summary, "60000");
}

#[test]
fn any_packing_of_batches_into_messages_gives_the_embedded_answer() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let (model, spec) = pricing();
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    // 61 batches of 1024, the last of 60 scenarios: every packing but one ends on a run
    // shorter than the others, holding the partial batch.
    let n = "61500";
    let local = embedded(n);
    for packing in [Some("1"), Some("7"), Some("64"), None] {
        check_packed_as_embedded(&prefix, [m, s, n], packing, &local);
    }
}

/// Submits `[model, spec, scenarios]` over the broker with `packing` batches per message (the
/// producer's choice for `None`), waits, and checks that its scenario count, outputs, tornado
/// and failures are the embedded summary `local`'s, bit for bit.
fn check_packed_as_embedded(prefix: &Prefix, job: [&str; 3], packing: Option<&str>, local: &Value) {
    let [m, s, n] = job;
    let mut args = submit_args(prefix, m, s, n);
    args.extend(["--wait", "--json"].map(String::from));
    if let Some(per_message) = packing {
        args.extend(["--batches-per-message".to_string(), per_message.to_string()]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{packing:?}: {}", stderr(&out));
    let distributed: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["scenarios", "outputs", "tornado", "failed"] {
        assert_eq!(
            serde_json::to_string(&distributed[field]).unwrap(),
            serde_json::to_string(&local[field]).unwrap(),
            "{field} with {packing:?} batches per message"
        );
    }
}

#[test]
fn a_sketch_mode_job_gives_the_same_answer_over_every_transport_and_packing() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let (model, exact_spec) = pricing();
    let text = std::fs::read_to_string(&exact_spec).unwrap();
    let text = text.replace("batch = 1024", "batch = 1024\npercentiles = \"sketch\"")
        + "\n[outputs.price]\nthresholds = [0.0, 10.0, 25.0]\nvar = [0.95]\n";
    let (_dir, spec) = spec_file(&text);
    let n = "61500";
    let local = submit_json(&model, &spec, &["--scenarios", n]);
    let price = &local["outputs"]["price"];
    assert_eq!(price["percentile_error"], mcp_stats::SKETCH_RELATIVE_ERROR);
    // The sketch's percentiles are within its error of the exact ones, and the exceedance
    // counts, taken from the values by the consumers, are exact.
    let (_exact_dir, exact_spec) = spec_file(&text.replace("percentiles = \"sketch\"", ""));
    let exact = submit_json(&model, &exact_spec, &["--scenarios", n]);
    assert_eq!(exact["outputs"]["price"]["percentile_error"], 0.0);
    for q in ["p5", "p50", "p95", "p99"] {
        let (s, e) = (
            price["percentiles"][q].as_f64().unwrap(),
            exact["outputs"]["price"]["percentiles"][q]
                .as_f64()
                .unwrap(),
        );
        assert!(
            (s - e).abs() <= mcp_stats::SKETCH_RELATIVE_ERROR * e.abs(),
            "{q}: {s} against {e}"
        );
    }
    assert_eq!(price["exceedance"], exact["outputs"]["price"]["exceedance"]);
    assert_eq!(price["mean"], exact["outputs"]["price"]["mean"]);
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    for packing in [Some("1"), Some("7"), None] {
        check_packed_as_embedded(&prefix, [m, s, n], packing, &local);
    }
}

#[test]
fn failed_scenarios_are_counted_the_same_as_embedded() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let (_dir, spec) = spec_file(crate::jobs::FAULTY);
    let model = model_path("faulty");
    let distributed = submit_and_wait(&prefix, &model, &spec, "3000");
    let local = submit_json(&model, &spec, &[]);
    assert!(
        local["failed"].as_u64().unwrap() > 0,
        "the spec makes scenarios fail"
    );
    assert_eq!(distributed["failed"], local["failed"]);
    assert_eq!(distributed["scenarios"], local["scenarios"]);
    assert_eq!(
        serde_json::to_string(&distributed["outputs"]).unwrap(),
        serde_json::to_string(&local["outputs"]).unwrap()
    );
}

#[test]
fn a_consumer_started_after_the_submit_takes_the_job() {
    let _broker = shared();
    let prefix = Prefix::new();
    let submit = start_wait(&prefix, "30000");
    // The job is published before any consumer exists; the late one finds model and batches.
    wait_for_queue_messages(&prefix.topology().scenarios_queue(), 1);
    let _late = start_consumer(&prefix, "late");
    check_same_as_embedded(&finish(submit), "30000");
}

#[test]
fn a_consumer_killed_mid_job_loses_nothing() {
    let _broker = shared();
    let prefix = Prefix::new();
    let mut victim = start_consumer(&prefix, "victim");
    let _survivor = start_consumer(&prefix, "survivor");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    // Kill one consumer as soon as results flow, with batches in flight.
    results.wait_for_first();
    victim.kill();
    check_same_as_embedded(&finish(submit), "300000");
}

#[test]
fn a_poison_batch_is_dead_lettered_and_the_job_still_completes() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let (runtime, conn) = connect("poison");
    runtime.block_on(async {
        let ch = confirming_channel(&conn).await;
        topology.declare(&ch).await.unwrap();
        let garbage = b"\xff\xfe garbage, not a batch";
        publish_to(&ch, "", &topology.scenarios_queue(), garbage).await;
    });
    let _c = start_consumer(&prefix, "c");
    check_same_as_embedded(&finish(start_wait(&prefix, "20000")), "20000");
    assert_eq!(queue_state(&topology.dead_letter_queue()).0, 1);
    // It is kept as it came, with why and where from.
    let (data, headers) = take(&topology.dead_letter_queue()).expect("the dead letter");
    assert_eq!(data, b"\xff\xfe garbage, not a batch");
    assert!(header(&headers, mcp_broker_amqp::REASON_HEADER).starts_with("not an mcp message"));
    assert_eq!(
        header(&headers, mcp_broker_amqp::QUEUE_HEADER),
        topology.scenarios_queue()
    );
}

#[test]
fn a_new_submission_supersedes_the_running_job() {
    let _broker = shared();
    let prefix = Prefix::new();
    // Job A is published with no consumer running, then job B, which supersedes it: A's
    // batches are first in the queue, but B's model is the current one, so consumers discard
    // A's batches, and whoever waits for A is told.
    // One batch a message, so that the queue's depth counts batches.
    let (model, spec) = pricing();
    let mut args = submit_args(
        &prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        "200000",
    );
    args.extend(["--batches-per-message", "1"].map(String::from));
    let out = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let job_a = stdout(&out).trim().to_string();
    assert!(!job_a.is_empty(), "submit without --wait prints the job id");
    let waiter_a = start_wait_unpacked(&prefix, "100000");
    wait_for_queue(&prefix.topology().scenarios_queue(), |ready, _| {
        ready >= 196 + 98
    });
    let submit_b = start_wait_unpacked(&prefix, "40000");
    wait_for_queue(&prefix.topology().scenarios_queue(), |ready, _| {
        ready >= 196 + 98 + 40
    });
    let _c = start_consumer(&prefix, "c");
    check_same_as_embedded(&finish(submit_b), "40000");
    let out = waiter_a.output();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(" was superseded by job "),
        "{}",
        stderr(&out)
    );
    let partial: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(partial["scenarios"], 0, "none of A's batches ran");
}

#[test]
fn a_paused_consumer_takes_no_batches_until_resumed() {
    let _broker = shared();
    let prefix = Prefix::new();
    let scenarios = prefix.topology().scenarios_queue();
    let _c = start_consumer(&prefix, "c");
    wait_for_queue(&scenarios, |_, consumers| consumers == 1);
    control(&prefix, &["pause", "--consumer", "c"]);
    // Pausing cancels the consumer's subscription: the queue sees no consumer at all.
    wait_for_queue(&scenarios, |_, consumers| consumers == 0);
    let submit = start_wait_unpacked(&prefix, "20480");
    wait_for_queue(&scenarios, |ready, consumers| ready == 20 && consumers == 0);
    control(&prefix, &["resume"]);
    check_same_as_embedded(&finish(submit), "20480");
}

/// Runs a job on one consumer, stops it with `stop` once results flow, checks that it exits 0,
/// and lets a second consumer finish the job with exact totals.
fn drain_mid_job(stop: impl FnOnce(&Prefix, &Process)) {
    let prefix = Prefix::new();
    let mut first = start_consumer(&prefix, "first");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    results.wait_for_first();
    stop(&prefix, &first);
    assert!(first.exit_status().success(), "a drained consumer exits 0");
    let _second = start_consumer(&prefix, "second");
    check_same_as_embedded(&finish(submit), "300000");
}

#[test]
fn a_drained_consumer_exits_cleanly_and_another_finishes_the_job() {
    let _broker = shared();
    drain_mid_job(|prefix, _| control(prefix, &["drain", "--consumer", "first"]));
}

#[test]
fn sigterm_drains_a_consumer() {
    let _broker = shared();
    drain_mid_job(|_, consumer| {
        let pid = consumer.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    });
}

#[test]
fn credentials_come_from_a_file_and_are_never_printed() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "guest:guest\n").unwrap();
    let (host, file_arg) = ("amqp://127.0.0.1:5672/%2f", file.to_str().unwrap());
    let ok = mcp(&[
        "control",
        "pause",
        "--broker",
        host,
        "--broker-credentials",
        file_arg,
        "--prefix",
        &prefix.0,
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let refused = mcp(&[
        "control",
        "pause",
        "--broker",
        "amqp://guest:hunter2@127.0.0.1:5672/%2f",
        "--prefix",
        &prefix.0,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains("amqp://guest:***@127.0.0.1:5672/%2f"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "the password leaked: {text}");
}

#[test]
fn a_queue_with_other_arguments_stops_a_consumer_with_the_fix() {
    let _broker = shared();
    let prefix = Prefix::new();
    let results = prefix.topology().results_queue();
    let (runtime, conn) = connect("misconfigure");
    runtime.block_on(async {
        let ch = conn.create_channel().await.unwrap();
        let mut other = lapin::types::FieldTable::default();
        other.insert(
            "x-max-length".into(),
            lapin::types::AMQPValue::LongLongInt(7),
        );
        let durable = lapin::options::QueueDeclareOptions::durable();
        ch.queue_declare(results.as_str().into(), durable, other)
            .await
            .unwrap();
    });
    // Retrying cannot help, so the consumer does not wait for the broker: it stops and says why.
    let mut consumer = start_consumer(&prefix, "c");
    assert_eq!(consumer.exit_status().code(), Some(1));
}

#[test]
fn consumers_send_heartbeats() {
    let _broker = shared();
    let prefix = Prefix::new();
    let _c = start_consumer(&prefix, "beat");
    let queue = prefix.topology().consumer_stats_queue();
    wait_for_queue(&queue, |ready, _| ready >= 1);
    let (beat, _) = take(&queue).expect("a heartbeat");
    let status: mcp_protocol::ConsumerStatus = mcp_protocol::decode(&beat).unwrap();
    assert_eq!(status.id, "beat");
    assert!(!status.host.is_empty());
    assert_eq!(status.state, mcp_protocol::ConsumerState::Active);
    assert!(status.rss_bytes > 1 << 20, "rss {}", status.rss_bytes);
    assert!(status.sent_at_ms > 1_700_000_000_000);
}

#[test]
fn a_broker_restart_mid_job_loses_nothing() {
    let _broker = exclusive();
    let prefix = Prefix::new();
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let results = ResultTap::new(&prefix);
    let submit = start_wait(&prefix, "300000");
    results.wait_for_first();
    rabbitmqctl(&["stop_app"]);
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    check_same_as_embedded(&finish(submit), "300000");
}

/// The sum of a normal given by percentiles and a truncated lognormal, rank-correlated by
/// `copula`, under the sampling plan `sampling`.
fn shaped_inputs(sampling: &str, copula: &str) -> String {
    SHAPED_INPUTS
        .replace("PLAN", sampling)
        .replace("COPULA", copula)
}

const SHAPED_INPUTS: &str = r#"
[simulation]
scenarios = 30000
seed = 11
batch = 700
sampling = "PLAN"

[variables]
x = { dist = "normal", p5 = 80, p95 = 120 }
y = { dist = "lognormal", mu = 0.0, sigma = 1.0, truncate = [0.5, 3.0] }

[[correlation]]
variables = ["x", "y"]
matrix = [[1.0, 0.7], [0.7, 1.0]]
COPULA
"#;

#[test]
fn shaped_inputs_correlated_by_t_and_gumbel_copulas_under_lhs_and_sobol_are_the_same_bits_for_any_worker_count_and_over_rabbitmq()
 {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("sum");
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let outputs = |s: &Value| serde_json::to_string(&s["outputs"]).unwrap();
    let mut means = Vec::new();
    let plans = [
        ("lhs", "copula = \"student_t\"\ndf = 5"),
        ("sobol", "copula = \"gumbel\""),
    ];
    for (sampling, copula) in plans {
        let (_dir, spec) = spec_file(&shaped_inputs(sampling, copula));
        let one = submit_json(&model, &spec, &["--workers", "1"]);
        assert_eq!(
            outputs(&one),
            outputs(&submit_json(&model, &spec, &["--workers", "3"])),
            "{sampling}"
        );
        let distributed = submit_and_wait(&prefix, &model, &spec, "30000");
        assert_eq!(distributed["scenarios"], 30000);
        assert_eq!(outputs(&distributed), outputs(&one), "{sampling}");
        // The truncated lognormal's draws stay in [0.5, 3.0] and the normal's mean is 100: the
        // sum's mean lies within their bounds.
        let mean = one["outputs"]["sum"]["mean"].as_f64().unwrap();
        assert!((100.5..103.0).contains(&mean), "{sampling}: {mean}");
        means.push(mean);
    }
    assert_ne!(means[0], means[1], "the two plans drew the same inputs");
}

/// The closed-form price of the discretely monitored geometric-average Asian call of
/// `example-models/asian/vars.toml`: the log of the geometric mean of `S(iΔ)`, `i = 1..n`, is
/// normal with mean `ln S0 + (r − σ²/2) Δ (n+1)/2` and variance `σ² Δ (n+1)(2n+1) / (6n)`.
fn geometric_asian_call(s0: f64, strike: f64, r: f64, sigma: f64, maturity: f64, n: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let dt = maturity / n;
    let mean = s0.ln() + (r - sigma * sigma / 2.0) * dt * (n + 1.0) / 2.0;
    let var = sigma * sigma * dt * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n);
    let unit = Normal::standard();
    let d2 = (mean - strike.ln()) / var.sqrt();
    let d1 = d2 + var.sqrt();
    (-r * maturity).exp() * ((mean + var / 2.0).exp() * unit.cdf(d1) - strike * unit.cdf(d2))
}

#[test]
fn the_asian_example_prices_on_gbm_paths_agree_with_the_control_variate_and_every_transport() {
    let _broker = shared();
    let prefix = Prefix::new();
    let model = model_path("asian");
    let spec = mcp_testkit::project_file("example-models/asian/vars.toml");
    let outputs = |s: &Value| serde_json::to_string(&s["outputs"]).unwrap();
    let one = submit_json(&model, &spec, &["--scenarios", "20000", "--workers", "1"]);
    let three = submit_json(&model, &spec, &["--scenarios", "20000", "--workers", "3"]);
    assert_eq!(outputs(&one), outputs(&three));
    let _a = start_consumer(&prefix, "a");
    let _b = start_consumer(&prefix, "b");
    let distributed = submit_and_wait(&prefix, &model, &spec, "20000");
    assert_eq!(outputs(&distributed), outputs(&one));

    let stat = |name: &str, what: &str| one["outputs"][name][what].as_f64().unwrap();
    let exact = geometric_asian_call(100.0, 100.0, 0.05, 0.2, 1.0, 252.0);
    // The path generator and the model together: the geometric payoff's mean is its closed
    // form within 4 standard errors.
    let (geometric, se) = (stat("geometric", "mean"), stat("geometric", "stderr"));
    assert!(
        (geometric - exact).abs() < 4.0 * se,
        "{geometric} vs {exact} (se {se})"
    );
    // The plain estimate of the arithmetic price against the control-variate one: within 4
    // standard errors of their difference (bounded by the sum of the variances, whatever
    // their correlation: 2(se_p² + se_cv²) ≥ Var(difference)).
    let (price, se_price) = (stat("price", "mean"), stat("price", "stderr"));
    let (cv, se_cv) = (stat("spread", "mean") + exact, stat("spread", "stderr"));
    let bound = 4.0 * (2.0 * (se_price * se_price + se_cv * se_cv)).sqrt();
    assert!(
        (price - cv).abs() < bound,
        "plain {price}, control variate {cv}"
    );
    // The control variate is what makes the estimate precise: its error is far smaller.
    assert!(se_cv < se_price / 10.0, "se {se_cv} vs {se_price}");
}
