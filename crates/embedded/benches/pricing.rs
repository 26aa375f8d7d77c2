//! Throughput of the `pricing` model: native Rust against the Wasm sandbox, and end to end.
//!
//! Run with `cargo xtask bench` (release build, models built first). Every figure comes from
//! this one run, so the ratios compare like with like on a shared, noisy machine: each case runs
//! `REPEATS` times and the fastest run counts. The single-thread cases (evaluation alone, and
//! generation plus evaluation) count the thread's CPU time, which other processes on the machine
//! do not inflate; the cases on several threads count wall time.

use cpu_time::ThreadTime;
use mcp_consumer::default_threads;
use mcp_embedded::run;
use mcp_model_sdk::Model;
use mcp_producer::prepare;
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{ModelRunner, RunLimits, Sandbox};
use mcp_spec::Spec;
use std::hint::black_box;
use std::time::Instant;

const SCENARIOS: u64 = 10_000_000;
const BATCH: usize = 1024;
const REPEATS: usize = 3;

/// Scenarios per second, the best of [`REPEATS`] runs of `run`, which returns its seconds.
fn best(scenarios: u64, mut run: impl FnMut() -> f64) -> f64 {
    let fastest = (0..REPEATS).map(|_| run()).fold(f64::INFINITY, f64::min);
    scenarios as f64 / fastest
}

/// Scenarios per second of wall time, the best of [`REPEATS`] runs of `f`.
fn best_rate(scenarios: u64, mut f: impl FnMut()) -> f64 {
    best(scenarios, || {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    })
}

/// Scenarios per second of this thread's CPU time, the best of [`REPEATS`] runs of `f`, which
/// must do all its work on this thread.
fn best_cpu_rate(scenarios: u64, mut f: impl FnMut()) -> f64 {
    best(scenarios, || {
        let start = ThreadTime::now();
        f();
        start.elapsed().as_secs_f64()
    })
}

fn main() {
    let text = std::fs::read_to_string(mcp_testkit::project_file(
        "example-models/pricing/vars.toml",
    ))
    .expect("read the pricing spec");
    let mut spec = Spec::parse(&text, "vars.toml").expect("valid spec");
    spec.simulation.scenarios = SCENARIOS;
    let inputs: Vec<String> = example_pricing::Pricing::INPUTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let generator = ScenarioGenerator::new(&spec, &inputs).expect("generator");
    let width = inputs.len();
    let n_out = example_pricing::Pricing::OUTPUTS.len();

    // Inputs of one batch, reused by the evaluation-only cases.
    let mut batch_inputs = Vec::new();
    generator.fill(0, BATCH, &mut batch_inputs);
    let batches = SCENARIOS / BATCH as u64;
    let eval_scenarios = batches * BATCH as u64;

    let native_eval = best_cpu_rate(eval_scenarios, || {
        let mut out = vec![0.0; n_out];
        let mut acc = 0.0;
        for _ in 0..batches {
            for row in batch_inputs.chunks_exact(width) {
                example_pricing::Pricing::evaluate(black_box(row), &mut out).unwrap();
                acc += out[0];
            }
        }
        black_box(acc);
    });

    // Native generation and evaluation of the batches `first, first + step, ...`.
    let native_batches = |first: u64, step: u64| {
        let mut rows = Vec::new();
        let mut out = vec![0.0; n_out];
        let mut acc = 0.0;
        let mut start = first * BATCH as u64;
        while start < SCENARIOS {
            let count = (SCENARIOS - start).min(BATCH as u64) as usize;
            generator.fill(start, count, &mut rows);
            for row in rows.chunks_exact(width) {
                example_pricing::Pricing::evaluate(row, &mut out).unwrap();
                acc += out[0];
            }
            start += step * BATCH as u64;
        }
        black_box(acc);
    };
    let native_e2e = best_cpu_rate(SCENARIOS, || native_batches(0, 1));
    let cores = default_threads();
    let native_e2e_all = best_rate(SCENARIOS, || {
        std::thread::scope(|scope| {
            for t in 0..cores {
                let work = &native_batches;
                scope.spawn(move || work(t as u64, cores as u64));
            }
        })
    });

    let sandbox = Sandbox::new().expect("sandbox");
    let wasm = mcp_testkit::model_bytes("pricing");
    let limits = RunLimits::from_spec(&spec.limits);
    let model = sandbox.load(&wasm, &limits).expect("load pricing");
    let mut runner = ModelRunner::new(model, limits).expect("instantiate");
    let wasm_eval = best_cpu_rate(eval_scenarios, || {
        for b in 0..batches {
            let out = runner.run_batch(b * BATCH as u64, BATCH, &batch_inputs);
            assert!(out.failures.is_empty());
            black_box(out);
        }
    });

    if std::env::var("PRICING_BENCH").as_deref() == Ok("eval") {
        // Evaluation alone: what a change to the model or the sandbox is first judged by.
        println!(
            "native evaluation {:.2} M/s, wasm {:.2} M/s: {:.3}x",
            native_eval / 1e6,
            wasm_eval / 1e6,
            wasm_eval / native_eval
        );
        return;
    }
    let job = prepare(&sandbox, wasm, "pricing.wasm", spec, "bench").expect("prepare");
    let embedded = |workers: usize| {
        best_rate(SCENARIOS, || {
            let ended = run(&sandbox, job.clone(), workers, &mut |_| {}).expect("run");
            assert_eq!(ended.summary.scenarios, SCENARIOS);
        })
    };
    let e2e_1 = embedded(1);
    let e2e_all = embedded(cores);

    // Per-scenario calls, the seed design's shape, on a smaller count.
    let single_n = 200_000u64;
    let single = best_cpu_rate(single_n, || {
        for i in 0..single_n {
            let row = &batch_inputs[(i as usize % BATCH) * width..][..width];
            black_box(runner.run_batch(i, 1, row));
        }
    });

    let m = |r: f64| format!("{:>8.2} M/s", r / 1e6);
    println!(
        "pricing, {SCENARIOS} scenarios, batch {BATCH}, {cores} cores, best of {REPEATS} \
         (1 thread: per CPU second of the thread; otherwise per wall second)"
    );
    println!("native evaluation, 1 thread            {}", m(native_eval));
    println!(
        "wasm batch evaluation (fuel), 1 thread {}   {:.2}x native evaluation",
        m(wasm_eval),
        wasm_eval / native_eval
    );
    println!(
        "wasm, one call per scenario, 1 thread  {}   {:.3}x native evaluation",
        m(single),
        single / native_eval
    );
    println!("native generation + evaluation, 1 thr  {}", m(native_e2e));
    println!("embedded end to end, 1 worker (wall)   {}", m(e2e_1));
    println!(
        "native generation + evaluation, {cores} thr {}",
        m(native_e2e_all)
    );
    println!(
        "embedded end to end, {cores} workers         {}   {:.2}x native generation + evaluation on {cores} threads",
        m(e2e_all),
        e2e_all / native_e2e_all
    );
}
