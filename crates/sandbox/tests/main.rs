//! The sandbox against real components: the example models, the `faulty` test models (in
//! Rust here, in Python, JavaScript and C in `languages.rs`), hand-written components that are
//! not mcp models, and hand-written hostile models.

mod hostile;
mod languages;
mod modes;

use mcp_protocol::FailureKind;
use mcp_sandbox::{ModelRunner, RunLimits, Sandbox, SandboxLimits};
use mcp_testkit::model_bytes;
use modes::{check_isolated_on, run_modes};
use std::time::Duration;

fn limits() -> RunLimits {
    RunLimits {
        fuel_per_scenario: 1_000_000,
        memory_bytes: 16 << 20,
        scenario_timeout: Duration::from_secs(5),
    }
}

fn load_err(wasm: &[u8]) -> String {
    Sandbox::new()
        .unwrap()
        .load(wasm, &limits())
        .expect_err("the sandbox must refuse this")
        .to_string()
}

#[test]
fn describes_the_pricing_model() {
    let sandbox = Sandbox::new().unwrap();
    let model = sandbox.load(&model_bytes("pricing"), &limits()).unwrap();
    let info = model.info();
    assert_eq!(info.name, "pricing");
    assert_eq!(info.version, "0.1.0");
    assert_eq!(
        info.inputs,
        ["spot", "strike", "rate", "vol", "maturity", "z"]
    );
    assert_eq!(info.outputs, ["price", "itm"]);
    assert!(info.digest.starts_with("sha256:") && info.digest.len() == 71);
}

#[test]
fn compiles_each_model_once() {
    let sandbox = Sandbox::new().unwrap();
    let a = sandbox.load(&model_bytes("sum"), &limits()).unwrap();
    let b = sandbox.load(&model_bytes("sum"), &limits()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn a_vector_input_is_one_name_of_many_values_and_calls_shrink_to_fit_it() {
    let sandbox = Sandbox::new().unwrap();
    let model = sandbox.load(&model_bytes("asian"), &limits()).unwrap();
    assert_eq!(model.info().inputs, ["strike", "rate", "maturity", "path"]);
    assert_eq!(model.info().sizes, [1, 1, 1, 252]);
    assert_eq!(model.info().width(), 255);
    let mut runner = ModelRunner::new(model, limits()).unwrap();
    // 2^18 values a call: 1028 rows of 255.
    assert_eq!(runner.scenarios_per_call(), (1 << 18) / 255);
    // 3000 flat paths at 110 (three calls): every payoff is the discounted 10.
    let n = 3000;
    let row: Vec<f64> = [100.0, 0.0, 1.0].into_iter().chain([110.0; 252]).collect();
    let inputs: Vec<f64> = row.iter().copied().cycle().take(n * 255).collect();
    let out = runner.run_batch(0, n, &inputs);
    assert_eq!(out.failures, []);
    assert!(out.columns[0].iter().all(|&p| (p - 10.0).abs() < 1e-9));
    assert_eq!(out.columns[0].len(), n);
}

#[test]
fn evaluates_a_batch() {
    let sandbox = Sandbox::new().unwrap();
    let model = sandbox.load(&model_bytes("sum"), &limits()).unwrap();
    let mut runner = ModelRunner::new(model, limits()).unwrap();
    let out = runner.run_batch(10, 3, &[1.0, 2.0, 3.0, 4.0, -1.0, 0.5]);
    assert!(out.failures.is_empty());
    assert_eq!(out.columns, vec![vec![3.0, 7.0, -0.5]]);
    assert!(out.fuel_used > 0);
}

/// Runs `faulty` on one batch whose scenario `k` has `modes[k]` and `x = k`.
fn run_faulty(modes: &[f64]) -> mcp_sandbox::BatchOutcome {
    run_faulty_with(modes, limits())
}

fn run_faulty_with(modes: &[f64], limits: RunLimits) -> mcp_sandbox::BatchOutcome {
    let model = Sandbox::new()
        .unwrap()
        .load(&model_bytes("faulty"), &limits)
        .unwrap();
    run_modes(&model, modes, limits)
}

/// Checks that exactly scenario 101 of a batch of three failed with `kind`, and that its
/// neighbours 100 and 102 still produced their outputs.
fn check_isolated(mode: f64, kind: FailureKind, message: &str) {
    check_isolated_with(limits(), mode, kind, message);
}

fn check_isolated_with(limits: RunLimits, mode: f64, kind: FailureKind, message: &str) {
    let model = Sandbox::new()
        .unwrap()
        .load(&model_bytes("faulty"), &limits)
        .unwrap();
    check_isolated_on(&model, limits, mode, &[kind], message);
}

#[test]
fn a_model_error_fails_only_its_scenario() {
    check_isolated(1.0, FailureKind::ModelError, "mode 1 refuses x = 1");
}

#[test]
fn a_panic_fails_only_its_scenario_with_its_message() {
    check_isolated(2.0, FailureKind::Panic, "mode 2 panics on x = 1");
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    check_isolated(
        3.0,
        FailureKind::OutOfFuel,
        "used more than its fuel (1000000 units per scenario)",
    );
}

#[test]
fn bulk_memory_pays_fuel_by_the_byte_and_stops_at_the_time_limit() {
    // wasmtime charges `memory.fill` per byte written, so filling 4 MiB over and over runs out
    // of fuel like any loop...
    check_isolated(
        10.0,
        FailureKind::OutOfFuel,
        "used more than its fuel (1000000 units per scenario)",
    );
    // ...and with fuel to spare, the wall-clock limit (epoch interruption) stops it.
    let limits = RunLimits {
        scenario_timeout: Duration::from_millis(300),
        fuel_per_scenario: u64::MAX / 4,
        ..limits()
    };
    check_isolated_with(
        limits,
        10.0,
        FailureKind::Timeout,
        "ran longer than 300 ms per scenario",
    );
}

#[test]
fn a_model_that_sleeps_holds_nothing_up() {
    // A sleep is one blocking host call, where neither fuel nor the epoch can reach; time is
    // frozen for models, so the sandbox lets no time pass and the scenario goes on at once.
    let out = run_faulty(&[14.0, 0.0]);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.columns, vec![vec![0.0, 1.0]]);
}

#[test]
fn integer_division_by_zero_is_its_own_kind() {
    check_isolated(11.0, FailureKind::DivideByZero, "integer divide by zero");
}

#[test]
fn a_model_sees_no_files_environment_sockets_or_time() {
    // Trying everything (and failing) takes more than the default fuel.
    let limits = RunLimits {
        fuel_per_scenario: 100_000_000,
        ..limits()
    };
    let out = run_faulty_with(&[12.0], limits);
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    // Each bit is one thing the model reached; see the faulty model's probe_host().
    assert_eq!(
        out.columns,
        vec![vec![0.0]],
        "the model saw part of the host"
    );
}

#[test]
fn host_entropy_and_clocks_are_the_same_in_every_instance() {
    let first = run_faulty(&[13.0, 13.0, 13.0]);
    let again = run_faulty(&[13.0, 13.0, 13.0]);
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(first.columns, again.columns);
    // Not a constant model: successive draws within an instance differ.
    assert_ne!(first.columns[0][0], first.columns[0][1]);
}

#[test]
fn nan_outputs_are_failures() {
    check_isolated(4.0, FailureKind::NonFiniteOutput, "output `y` is NaN");
}

#[test]
fn a_memory_bomb_hits_the_limit() {
    check_isolated(
        5.0,
        FailureKind::MemoryLimit,
        "memory limit of 16 MiB reached",
    );
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    check_isolated(6.0, FailureKind::StackOverflow, "call stack exhausted");
}

#[test]
fn unreachable_is_its_own_kind() {
    check_isolated(7.0, FailureKind::Unreachable, "unreachable");
}

#[test]
fn a_wrong_output_count_is_found_per_scenario() {
    check_isolated(
        8.0,
        FailureKind::WrongOutputCount,
        "returned 0 values for a scenario of 1 outputs",
    );
}

#[test]
fn a_failure_reported_past_the_call_is_found_per_scenario() {
    // Counted as given, it would fail a scenario of the next call, or one outside the batch.
    check_isolated(
        16.0,
        FailureKind::WrongOutputCount,
        "reported a failure of scenario 1 of a call of 1",
    );
}

#[test]
fn several_failures_in_one_batch_are_all_counted() {
    let out = run_faulty(&[2.0, 0.0, 3.0, 1.0, 0.0, 4.0, 0.0]);
    assert_eq!(out.columns, vec![vec![1.0, 4.0, 6.0]]);
    let kinds: Vec<_> = out.failures.iter().map(|f| (f.scenario, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            (100, FailureKind::Panic),
            (102, FailureKind::OutOfFuel),
            (103, FailureKind::ModelError),
            (105, FailureKind::NonFiniteOutput),
        ]
    );
}

#[test]
fn a_batch_larger_than_one_call_keeps_its_order_and_its_failures() {
    // Failures on both sides of the calls' boundaries, and in the last, shorter call.
    let n = 2 * mcp_sandbox::MAX_SCENARIOS_PER_CALL + 100;
    let boundary = mcp_sandbox::MAX_SCENARIOS_PER_CALL;
    let mut modes = vec![0.0; n];
    for (k, mode) in [(boundary - 1, 2.0), (boundary, 1.0), (n - 1, 4.0)] {
        modes[k] = mode;
    }
    let out = run_faulty(&modes);
    let failed = [boundary - 1, boundary, n - 1];
    let expected: Vec<f64> = (0..n)
        .filter(|k| !failed.contains(k))
        .map(|k| k as f64)
        .collect();
    assert_eq!(out.columns, vec![expected]);
    let kinds: Vec<_> = out.failures.iter().map(|f| (f.scenario, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            (100 + boundary as u64 - 1, FailureKind::Panic),
            (100 + boundary as u64, FailureKind::ModelError),
            (100 + n as u64 - 1, FailureKind::NonFiniteOutput),
        ]
    );
}

#[test]
fn a_batch_larger_than_the_model_memory_runs_in_calls_that_fit() {
    // 2^20 scenarios of two inputs are 16 MiB of rows, the whole of the model's memory limit:
    // handed over in one call they could not fit.
    let sandbox = Sandbox::new().unwrap();
    let model = sandbox.load(&model_bytes("sum"), &limits()).unwrap();
    let mut runner = ModelRunner::new(model, limits()).unwrap();
    let n = 1 << 20;
    let inputs: Vec<f64> = (0..n).flat_map(|k| [k as f64, 0.5]).collect();
    assert!(inputs.len() * 8 >= limits().memory_bytes);
    let out = runner.run_batch(0, n, &inputs);
    assert!(out.failures.is_empty(), "{:?}", &out.failures[..1]);
    assert_eq!(out.columns[0].len(), n);
    assert!(
        out.columns[0]
            .iter()
            .enumerate()
            .all(|(k, v)| *v == k as f64 + 0.5)
    );
    // No call ran out of memory to be retried scenario by scenario: the batch cost what its
    // calls cost, one full call's worth of fuel at a time.
    let call = mcp_sandbox::MAX_SCENARIOS_PER_CALL;
    let one_call = runner.run_batch(0, call, &inputs[..2 * call]).fuel_used;
    let calls = (n / call) as u64;
    assert!(
        out.fuel_used <= calls * one_call * 11 / 10,
        "{} fuel for {calls} calls of {one_call}",
        out.fuel_used
    );
}

#[test]
fn model_output_goes_to_the_log_not_the_terminal() {
    // Printing must neither fail the scenario nor reach the host's stdout.
    let out = run_faulty(&[9.0, 9.0]);
    assert!(out.failures.is_empty());
    assert_eq!(out.columns, vec![vec![0.0, 1.0]]);
}

#[test]
fn refuses_a_model_that_panics_in_describe() {
    let err = load_err(&model_bytes("describe-panics"));
    assert!(
        err.starts_with("the model's describe() failed (panic): panicked at "),
        "{err}"
    );
    assert!(
        err.contains("describe-panics cannot describe itself"),
        "{err}"
    );
}

#[test]
fn refuses_files_that_are_not_wasm() {
    assert_eq!(
        load_err(b"[simulation]\nscenarios = 1\n"),
        "not a WebAssembly file (it starts with bytes 5b 73 69 6d 75 6c 61 74); build the model \
         with `cargo xtask build-model NAME`"
    );
}

#[test]
fn refuses_core_modules() {
    let module = wat::parse_str("(module (func (export \"run\")))").unwrap();
    assert_eq!(
        load_err(&module),
        "a core WebAssembly module, not a component; build the model for wasm32-wasip2 with the \
         mcp model SDK (`cargo xtask build-model NAME`)"
    );
}

#[test]
fn refuses_truncated_components() {
    let wasm = model_bytes("sum");
    let err = load_err(&wasm[..wasm.len() / 2]);
    assert!(
        err.starts_with("not a valid WebAssembly component: "),
        "{err}"
    );
}

#[test]
fn refuses_components_without_the_model_export() {
    let component = wat::parse_str("(component)").unwrap();
    assert_eq!(
        load_err(&component),
        "the component does not export `mcp:model/evaluate@0.1.0` (its exports: none); it is not \
         an mcp model: implement mcp_model_sdk::Model and call mcp_model_sdk::export_model!"
    );
}

#[test]
fn refuses_another_world_version() {
    let component = wat::parse_str(
        r#"(component (instance $i) (export "mcp:model/evaluate@0.2.0" (instance $i)))"#,
    )
    .unwrap();
    assert_eq!(
        load_err(&component),
        "the model exports `mcp:model/evaluate@0.2.0`, but this mcp runs models of the \
         mcp:model@0.1.0 world; rebuild the model with a matching mcp model SDK"
    );
}

#[test]
fn refuses_the_export_with_wrong_functions() {
    let component = wat::parse_str(
        r#"(component (instance $i) (export "mcp:model/evaluate@0.1.0" (instance $i)))"#,
    )
    .unwrap();
    let err = load_err(&component);
    assert!(
        err.starts_with(
            "the component's `mcp:model/evaluate@0.1.0` export does not match the mcp:model@0.1.0 world: "
        ),
        "{err}"
    );
}

#[test]
fn refuses_imports_the_host_does_not_grant() {
    let component = wat::parse_str(
        r#"(component
             (import "wasi:http/types@0.2.0" (instance))
             (instance $i)
             (export "mcp:model/evaluate@0.1.0" (instance $i)))"#,
    )
    .unwrap();
    assert_eq!(
        load_err(&component),
        "the model imports `wasi:http/types@0.2.0`, which mcp does not provide; models may import \
         only WASI 0.2 interfaces (cli, io, clocks, random, filesystem, sockets), and get no \
         authority through them"
    );
}

/// Loads a hand-written hostile model under [`limits`] (16 MiB).
fn load_hostile(wasm: &[u8]) -> Result<std::sync::Arc<mcp_sandbox::LoadedModel>, String> {
    Sandbox::new()
        .unwrap()
        .load(wasm, &limits())
        .map_err(|e| e.to_string())
}

/// Runs one batch of `count` scenarios of a hostile model that loads.
fn run_hostile(wasm: &[u8], count: usize) -> mcp_sandbox::BatchOutcome {
    run_hostile_with(wasm, count, limits())
}

fn run_hostile_with(wasm: &[u8], count: usize, limits: RunLimits) -> mcp_sandbox::BatchOutcome {
    let model = load_hostile(wasm).expect("the model loads");
    let mut runner = ModelRunner::new(model, limits).unwrap();
    runner.run_batch(0, count, &vec![0.0; count])
}

#[test]
fn the_hostile_harness_makes_a_model_that_works() {
    let wasm = hostile::component(
        &hostile::core(
            1,
            &format!("{}{}", hostile::DESCRIBE, hostile::run_batch("")),
        ),
        "",
    );
    let out = run_hostile(&wasm, 3);
    assert_eq!(out.failures, []);
    assert_eq!(out.columns, vec![vec![0.0; 3]]);
}

#[test]
fn names_overlapping_in_memory_cannot_make_the_host_copy_gigabytes() {
    // wasmtime's own cap would let the host copy 128 MiB of these names.
    let describe = hostile::overlapping_names();
    let wasm = hostile::component(
        &hostile::core(32, &format!("{describe}{}", hostile::run_batch(""))),
        "",
    );
    let err = load_hostile(&wasm).unwrap_err();
    assert_eq!(
        err,
        "the model's describe() returned more than 2 MiB of names (names overlapping in the \
         model's memory count once each); a model has at most 4096 inputs and 1024 outputs of \
         256 bytes"
    );
}

#[test]
fn too_many_names_are_refused_by_count() {
    // 5,000 inputs of one byte each: cheap to copy, but more than a model may declare.
    let describe = hostile::describe_inputs(4096, 5000, 16, 1);
    let wasm = hostile::component(
        &hostile::core(1, &format!("{describe}{}", hostile::run_batch(""))),
        "",
    );
    assert_eq!(
        load_hostile(&wasm).unwrap_err(),
        "the model's describe() of model `hostile` declares 5000 inputs, more than 4096"
    );
}

#[test]
fn a_malformed_vector_input_is_refused_naming_it() {
    // One input named `x[0]`: a vector input of no values.
    let describe = hostile::describe_inputs(2048, 1, 1024, 4);
    let wasm = hostile::component(
        &hostile::core(
            1,
            &format!(
                "(data (i32.const 1024) \"x[0]\"){describe}{}",
                hostile::run_batch("")
            ),
        ),
        "",
    );
    assert_eq!(
        load_hostile(&wasm).unwrap_err(),
        "the model's describe() declares input `x[0]`: a vector input is written `name[N]` with \
         N from 1 to 65536, and no other input name ends in `]`"
    );
}

#[test]
fn a_values_list_far_beyond_the_call_is_not_copied() {
    // One scenario of one output answered with a million values (8 MB of the model's memory).
    let run = hostile::run_batch_answering((1 << 16, 1_000_000), None);
    let wasm = hostile::component(
        &hostile::core(160, &format!("{}{run}", hostile::DESCRIBE)),
        "",
    );
    let out = run_hostile(&wasm, 1);
    assert_eq!(out.columns, vec![Vec::<f64>::new()]);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].kind, FailureKind::WrongOutputCount);
    assert_eq!(
        out.failures[0].message,
        "returned more than its 1 scenario(s) of 1 outputs and a failure message of 64 KiB: the \
         host copies no more"
    );
}

#[test]
fn a_huge_failure_message_is_not_copied_and_a_long_one_is_cut() {
    // Scenario 0 fails with 8 MB of message: refused before the host copies it.
    let run = hostile::run_batch_answering((1024, 0), Some((0, 1 << 16, 8_000_000)));
    let wasm = hostile::component(
        &hostile::core(160, &format!("{}{run}", hostile::DESCRIBE)),
        "",
    );
    let out = run_hostile(&wasm, 1);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].kind, FailureKind::WrongOutputCount);
    assert!(out.failures[0].message.ends_with("the host copies no more"));

    // 60,000 bytes of message: copied, then cut to what a tally keeps.
    let run = hostile::run_batch_answering((1024, 0), Some((0, 1 << 16, 60_000)));
    let wasm = hostile::component(
        &hostile::core(4, &format!("{}{run}", hostile::DESCRIBE)),
        "",
    );
    let out = run_hostile(&wasm, 1);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].kind, FailureKind::ModelError);
    assert_eq!(
        out.failures[0].message,
        format!("{}…", "\0".repeat(mcp_sandbox::MAX_FAILURE_MESSAGE_BYTES))
    );
}

#[test]
fn the_memory_limit_counts_every_memory_of_the_instance() {
    // A second memory grown to 12 MiB, then the first grown by 6 MiB: each under the 16 MiB
    // limit, together over it.
    let body = format!(
        r#"(memory $second 1)
        {}{}"#,
        hostile::DESCRIBE,
        hostile::run_batch(
            "(drop (memory.grow $second (i32.const 192))) (drop (memory.grow (i32.const 96)))"
        )
    );
    let wasm = hostile::component(&hostile::core(1, &body), "");
    let out = run_hostile(&wasm, 1);
    assert_eq!(out.failures.len(), 1, "{out:?}");
    assert_eq!(out.failures[0].kind, FailureKind::MemoryLimit);
    assert!(
        out.failures[0].message.starts_with(
            "memory limit of 16 MiB reached (the model's memories and tables would hold 19 MiB"
        ),
        "{}",
        out.failures[0].message
    );
}

#[test]
fn the_memory_limit_counts_every_core_instance_a_component_makes() {
    // Five instances of a module with 4 MiB of memory each: 20 MiB, over the 16 MiB limit.
    let body = format!("{}{}", hostile::DESCRIBE, hostile::run_batch(""));
    let extra = "(core instance (instantiate $m)) ".repeat(4);
    let wasm = hostile::component(&hostile::core(64, &body), &extra);
    let err = load_hostile(&wasm).unwrap_err();
    assert!(
        err.starts_with("the model's describe() could not be instantiated: ")
            && err.contains("memory limit of 16 MiB reached"),
        "{err}"
    );
}

#[test]
fn a_component_cannot_make_more_core_instances_than_the_limit() {
    let body = format!("{}{}", hostile::DESCRIBE, hostile::run_batch(""));
    let extra = format!(
        "(core module $tiny) {}",
        "(core instance (instantiate $tiny)) ".repeat(mcp_sandbox::MAX_CORE_INSTANCES)
    );
    let wasm = hostile::component(&hostile::core(1, &body), &extra);
    let err = load_hostile(&wasm).unwrap_err();
    assert!(
        err.starts_with("the model's describe() could not be instantiated: ")
            && err.contains("instance"),
        "{err}"
    );
}

#[test]
fn table_elements_count_against_the_memory_limit() {
    // Three million table elements: 24 MB of host memory at 8 bytes each.
    let body = format!(
        r#"(table $t 1 funcref)
        {}{}"#,
        hostile::DESCRIBE,
        hostile::run_batch("(drop (table.grow $t (ref.null func) (i32.const 3000000)))")
    );
    let wasm = hostile::component(&hostile::core(1, &body), "");
    // Growing a table costs fuel by the element; with fuel to spare, memory is what stops it.
    let generous = RunLimits {
        fuel_per_scenario: 1 << 40,
        ..limits()
    };
    let out = run_hostile_with(&wasm, 1, generous);
    assert_eq!(out.failures.len(), 1, "{out:?}");
    assert_eq!(out.failures[0].kind, FailureKind::MemoryLimit);
    assert!(
        out.failures[0].message.contains("with this table growth"),
        "{}",
        out.failures[0].message
    );
}

fn sandbox_with(limits: SandboxLimits) -> Sandbox {
    Sandbox::with_limits(limits).unwrap()
}

#[test]
fn a_model_over_the_size_cap_is_refused_before_it_is_parsed() {
    let wasm = model_bytes("sum");
    let sandbox = sandbox_with(SandboxLimits {
        max_model_bytes: wasm.len() - 1,
        ..SandboxLimits::default()
    });
    assert_eq!(
        sandbox.load(&wasm, &limits()).unwrap_err().to_string(),
        format!(
            "the model is {} bytes, more than the {} bytes this mcp compiles; models built with \
             the SDK are far smaller (build in release mode), or raise --max-model-mib",
            wasm.len(),
            wasm.len() - 1
        )
    );
    assert_eq!(sandbox.cached_models(), 0);
}

#[test]
fn a_model_that_compiles_longer_than_the_limit_is_refused() {
    // No compile of a real model finishes within a millisecond.
    let sandbox = sandbox_with(SandboxLimits {
        compile_timeout: Duration::from_millis(1),
        ..SandboxLimits::default()
    });
    assert_eq!(
        sandbox
            .load(&model_bytes("faulty"), &limits())
            .unwrap_err()
            .to_string(),
        "the model took longer than 0.001 s to compile and was refused; models built with the \
         SDK compile in well under a second"
    );
}

#[test]
fn describe_runs_within_its_own_time_limit_whatever_the_spec_allows() {
    let spin = r#"(func (export "describe") (result i32) (loop $l (br $l)) (i32.const 48))"#;
    let wasm = hostile::component(
        &hostile::core(1, &format!("{spin}{}", hostile::run_batch(""))),
        "",
    );
    let sandbox = sandbox_with(SandboxLimits {
        describe_timeout: Duration::from_millis(50),
        ..SandboxLimits::default()
    });
    let generous = RunLimits {
        fuel_per_scenario: u64::MAX,
        scenario_timeout: Duration::from_secs(3600),
        ..limits()
    };
    assert_eq!(
        sandbox.load(&wasm, &generous).unwrap_err().to_string(),
        "the model's describe() failed (timeout): ran longer than 50 ms (describe() must return \
         its names at once)"
    );
}

#[test]
fn the_compiled_model_cache_keeps_the_most_recently_used() {
    let sandbox = sandbox_with(SandboxLimits {
        cached_models: 2,
        ..SandboxLimits::default()
    });
    let load = |name: &str| sandbox.load(&model_bytes(name), &limits()).unwrap();
    let sum = load("sum");
    let pricing = load("pricing");
    assert!(std::sync::Arc::ptr_eq(&sum, &load("sum")));
    load("portfolio");
    assert_eq!(sandbox.cached_models(), 2);
    // `pricing` was the least recently used: it went, and is compiled afresh.
    assert!(std::sync::Arc::ptr_eq(&sum, &load("sum")));
    assert!(!std::sync::Arc::ptr_eq(&pricing, &load("pricing")));
    assert_eq!(sandbox.cached_models(), 2);
}
