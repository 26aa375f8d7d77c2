//! The sandbox's rules hold for models in every language: the `faulty-py`, `faulty-js` and
//! `faulty-c` test models misbehave on request, as the Rust `faulty` does, and each failure
//! stays in its scenario, with the language's own message where the model gave one.
//!
//! Python and JavaScript components carry their interpreter (10-20 MB); each test loads its
//! model once and runs every mode on it.

use crate::modes::{check_isolated_on as check_isolated, run_modes as run};
use mcp_protocol::FailureKind;
use mcp_sandbox::{RunLimits, Sandbox};
use mcp_testkit::model_bytes;
use std::time::Duration;

/// Limits that fit an interpreter: 64 MiB (mcp's default), and fuel enough for a scenario of
/// interpreted code.
fn limits() -> RunLimits {
    RunLimits {
        fuel_per_scenario: 10_000_000,
        memory_bytes: 64 << 20,
        scenario_timeout: Duration::from_secs(10),
    }
}

/// Every rule, for the faulty model of one language; `refusal` is how that language words
/// mode 1's failure.
fn check_language(name: &str, refusal: &str, out_of_memory: &[FailureKind]) {
    let model = Sandbox::new()
        .unwrap()
        .load(&model_bytes(name), &limits())
        .unwrap_or_else(|e| panic!("{name} loads: {e}"));

    // Mode 0 works; a model error fails its scenario alone, in the language's words.
    let out = run(&model, &[0.0, 0.0, 0.0], limits());
    assert!(out.failures.is_empty(), "{name}: {:?}", out.failures);
    assert_eq!(out.columns, vec![vec![0.0, 1.0, 2.0]], "{name}");
    check_isolated(&model, limits(), 1.0, &[FailureKind::ModelError], refusal);

    // An endless loop runs out of fuel; with fuel to spare, the time limit stops it.
    check_isolated(
        &model,
        limits(),
        3.0,
        &[FailureKind::OutOfFuel],
        "used more than its fuel",
    );
    let timed = RunLimits {
        fuel_per_scenario: u64::MAX / 4,
        scenario_timeout: Duration::from_millis(300),
        ..limits()
    };
    check_isolated(
        &model,
        timed,
        3.0,
        &[FailureKind::Timeout],
        "ran longer than 300 ms",
    );

    // Growing memory without bound stops at the limit.
    check_isolated(&model, limits(), 5.0, out_of_memory, "");

    // The host's files, directories, environment, arguments, network and clocks are out of
    // reach: each bit of `y` is one thing the model saw (see the model's mode 12). Trying
    // everything, a busy loop among it, takes more than the usual fuel.
    let probing = RunLimits {
        fuel_per_scenario: 2_000_000_000,
        ..limits()
    };
    let out = run(&model, &[12.0], probing);
    assert!(out.failures.is_empty(), "{name}: {:?}", out.failures);
    assert_eq!(out.columns, vec![vec![0.0]], "{name} saw part of the host");

    // Entropy and clocks are the same in every instance.
    let first = run(&model, &[13.0, 13.0], limits());
    let again = run(&model, &[13.0, 13.0], limits());
    assert!(first.failures.is_empty(), "{name}: {:?}", first.failures);
    assert_eq!(first.columns, again.columns, "{name}");
}

#[test]
fn a_python_model_keeps_every_rule_of_the_sandbox() {
    // CPython raises MemoryError when an allocation fails, and the guest library reports it as
    // the scenario's error; an allocation past the limit may also trap first.
    check_language(
        "faulty-py",
        "ValueError: mode 1 refuses x = 1",
        &[FailureKind::MemoryLimit, FailureKind::ModelError],
    );
}

#[test]
fn a_javascript_model_keeps_every_rule_of_the_sandbox() {
    check_language(
        "faulty-js",
        "Error: mode 1 refuses x = 1",
        &[FailureKind::MemoryLimit, FailureKind::ModelError],
    );
}

#[test]
fn a_c_model_keeps_every_rule_of_the_sandbox() {
    check_language(
        "faulty-c",
        "mode 1 refuses x = 1",
        &[FailureKind::MemoryLimit],
    );
    let model = Sandbox::new()
        .unwrap()
        .load(&model_bytes("faulty-c"), &limits())
        .unwrap();
    check_isolated(
        &model,
        limits(),
        2.0,
        &[FailureKind::Unreachable],
        "unreachable",
    );
}
