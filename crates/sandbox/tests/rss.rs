//! What hostile models cost the host in resident memory: within `memory_mib` and a fixed margin.
//!
//! One test in a process of its own, because it reads the process's peak resident set
//! (`VmHWM`), which any other test running alongside would raise.

mod hostile;

use mcp_sandbox::{ModelRunner, RunLimits, Sandbox};
use std::time::Duration;

const MIB: usize = 1 << 20;
/// The model's limit in this test.
const MEMORY: usize = 16 * MIB;
/// What the host may hold beyond the model's limit for one instance: the copies it makes of
/// what a model returns (at most 2 MiB for `describe()`, one call's outputs plus 64 KiB for a
/// batch), its bookkeeping, and the compiler's and allocator's working memory. SECURITY.md
/// states this bound.
const MARGIN: usize = 24 * MIB;

/// The process's peak resident set, in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn model(body: &str, pages: u32) -> Vec<u8> {
    hostile::component(&hostile::core(pages, body), "")
}

#[test]
fn hostile_models_keep_the_host_within_memory_mib_and_a_fixed_margin() {
    let limits = RunLimits {
        fuel_per_scenario: 1 << 40,
        memory_bytes: MEMORY,
        scenario_timeout: Duration::from_secs(60),
    };
    let sandbox = Sandbox::new().unwrap();
    // Warm up: the engine, the compiler and a first instance are resident before measuring.
    let benign = model(
        &format!("{}{}", hostile::DESCRIBE, hostile::run_batch("")),
        1,
    );
    let mut runner = ModelRunner::new(sandbox.load(&benign, &limits).unwrap(), limits).unwrap();
    assert!(runner.run_batch(0, 64, &[0.0; 64]).failures.is_empty());
    let before = peak_rss();

    // Names overlapping in memory: 4,096 names of the same 1,000,000 bytes.
    let describe = hostile::overlapping_names();
    let names = model(&format!("{describe}{}", hostile::run_batch("")), 32);
    assert!(sandbox.load(&names, &limits).is_err());

    // Four memories, each grown by 15 MiB and written to.
    let fill = |m: &str| {
        format!(
            "(if (i32.ne (memory.grow {m} (i32.const 240)) (i32.const -1)) (then (memory.fill {m} \
             (i32.const 0) (i32.const 1) (i32.const 15728640))))"
        )
    };
    let memories = model(
        &format!(
            "(memory $b 1) (memory $c 1) (memory $d 1) {}{}",
            hostile::DESCRIBE,
            hostile::run_batch(&[fill("0"), fill("$b"), fill("$c"), fill("$d")].concat())
        ),
        1,
    );
    let mut runner = ModelRunner::new(sandbox.load(&memories, &limits).unwrap(), limits).unwrap();
    let out = runner.run_batch(0, 1, &[0.0]);
    assert_eq!(out.failures.len(), 1, "{out:?}");

    // A values list and a failure message as large as the model's memory allows.
    let values = model(
        &format!(
            "{}{}",
            hostile::DESCRIBE,
            hostile::run_batch_answering((1 << 16, 1_900_000), Some((0, 1 << 16, 15_000_000)))
        ),
        250,
    );
    let mut runner = ModelRunner::new(sandbox.load(&values, &limits).unwrap(), limits).unwrap();
    for _ in 0..4 {
        assert_eq!(runner.run_batch(0, 1, &[0.0]).failures.len(), 1);
    }

    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "peak resident set grew by {:.1} MiB under hostile models with memory_mib = {}",
        grown as f64 / MIB as f64,
        MEMORY / MIB
    );
    assert!(
        grown <= MEMORY + MARGIN,
        "the peak resident set grew by {} MiB, more than memory_mib ({}) and {} MiB",
        grown / MIB,
        MEMORY / MIB,
        MARGIN / MIB
    );
}
