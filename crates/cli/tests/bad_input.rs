//! Bad input: every message names the file, field or import at fault and the fix, the exit
//! code is not zero, and nothing runs.

use crate::support::*;
use mcp_testkit::model_path;
use std::path::Path;

/// Runs `mcp args`, expects exit code 1 and returns stderr.
fn refused(args: &[&str]) -> String {
    let out = mcp(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail:\n{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing on stdout: {}",
        stdout(&out)
    );
    stderr(&out)
}

fn submit(model: &Path, spec: &Path) -> String {
    refused(&[
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ])
}

#[test]
fn an_invalid_spec_names_the_file_line_and_field() {
    let (_dir, spec) = spec_file(
        "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nx = { dist = \"normal\", mean = 0.0, std = 0.0 }\ny = { dist = \"gaussian\" }\n",
    );
    let err = submit(&model_path("sum"), &spec);
    let origin = spec.display();
    assert_eq!(
        err,
        format!(
            "error: {origin}:5:42: variables.x.std: must be greater than 0 (got 0)\n\
             {origin}:6:14: variables.y.dist: unknown distribution \"gaussian\"; expected one of: \
             constant, normal, uniform, exponential, lognormal, triangular, binomial, poisson, \
             bernoulli, beta, gamma, weibull, pert, student_t, truncated_normal, discrete\n"
        )
    );
}

#[test]
fn a_variable_the_model_lacks_and_an_input_the_spec_lacks_are_named() {
    let (_dir, spec) = spec_file(
        "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nx = { dist = \"constant\", value = 1 }\nw = { dist = \"constant\", value = 1 }\n",
    );
    let err = submit(&model_path("sum"), &spec);
    let origin = spec.display();
    assert_eq!(
        err,
        format!(
            "error: {origin}:4:2: variables: model `sum` input `y` has no distribution; add one \
             under [variables], for example `y = {{ dist = \"normal\", mean = 0.0, std = 1.0 }}`\n\
             {origin}:6:1: variables.w: model `sum` has no input `w` (its inputs are: x, y); \
             remove the variable or fix its name\n"
        )
    );
}

#[test]
fn the_wrong_model_for_the_spec_is_named() {
    let (_, spec) = pricing();
    let err = submit(&model_path("sum"), &spec);
    assert!(
        err.starts_with(&format!(
            "error: {}:5:8: model.name: the spec expects model `pricing` but the file is model \
             `sum`; submit the right model or change `model.name`\n",
            spec.display()
        )),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let (_, spec) = pricing();
    let err = submit(&spec, &spec);
    assert_eq!(
        err,
        format!(
            "error: {}: not a WebAssembly file (it starts with bytes 23 20 41 20 45 75 72 6f); \
             build the model with `cargo xtask build-model NAME`\n",
            spec.display()
        )
    );
}

#[test]
fn a_component_of_another_world_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("other.wasm");
    std::fs::write(&wasm, wat::parse_str("(component)").unwrap()).unwrap();
    let err = refused(&["inspect", wasm.to_str().unwrap()]);
    assert_eq!(
        err,
        format!(
            "error: {}: the component does not export `mcp:model/evaluate@0.1.0` (its exports: \
             none); it is not an mcp model: implement mcp_model_sdk::Model and call \
             mcp_model_sdk::export_model!\n",
            wasm.display()
        )
    );
}

#[test]
fn a_core_module_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("core.wasm");
    std::fs::write(&wasm, wat::parse_str("(module)").unwrap()).unwrap();
    let (_, spec) = pricing();
    let err = submit(&wasm, &spec);
    assert!(
        err.contains("a core WebAssembly module, not a component;"),
        "{err}"
    );
}

#[test]
fn missing_files_are_named() {
    let (model, _) = pricing();
    let err = submit(&model, Path::new("/nonexistent/vars.toml"));
    assert_eq!(
        err,
        "error: could not read /nonexistent/vars.toml: No such file or directory (os error 2)\n"
    );
}

#[test]
fn flags_out_of_range_are_refused() {
    let (model, spec) = pricing();
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    assert_eq!(
        refused(&["submit", m, "--spec", s, "--scenarios", "0"]),
        "error: --scenarios must be at least 1\n"
    );
    assert_eq!(
        refused(&["submit", m, "--spec", s, "--workers", "0"]),
        "error: --workers must be at least 1\n"
    );
    // Before they were checked, these sized the coordinator's memory and aborted the process.
    assert_eq!(
        refused(&[
            "submit",
            m,
            "--spec",
            s,
            "--scenarios",
            "18446744073709551615"
        ]),
        "error: --scenarios must be at most 9007199254740992\n"
    );
    assert_eq!(
        refused(&["validate", m, "--spec", s, "--scenarios", "4294967295"]),
        "error: --scenarios must be at most 1048576 (one batch)\n"
    );
    // Packing batches into messages is for a broker's messages; clap refuses with code 2.
    for (args, says) in [
        (
            vec!["--batches-per-message", "4"],
            "the following required arguments were not provided:\n  --broker <BROKER>",
        ),
        (
            vec!["--batches-per-message", "0", "--broker", "amqp://nowhere"],
            "invalid value '0' for '--batches-per-message <N>': 0 is not in 1..=65536",
        ),
    ] {
        let out = mcp_command(&[["submit", m, "--spec", s].as_slice(), &args].concat())
            .env_remove("MCP_BROKER")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_spec_past_a_bound_is_refused_with_the_field_and_the_bound() {
    let (model, _) = pricing();
    let text = std::fs::read_to_string(pricing().1).unwrap();
    let (_dir, spec) =
        spec_file(&text.replace("scenarios = 1_000_000", "scenarios = 9_007_199_254_740_993"));
    let err = submit(&model, &spec);
    assert!(
        err.contains("simulation.scenarios: must be at most 9007199254740992"),
        "{err}"
    );
}

#[test]
fn a_spec_that_is_not_text_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("vars.toml");
    std::fs::write(&spec, [0xff, 0xfe, 0x00]).unwrap();
    let err = submit(&model_path("sum"), &spec);
    assert_eq!(
        err,
        format!(
            "error: {}: not UTF-8 text; a spec is a TOML file\n",
            spec.display()
        )
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in ["submit", "validate", "inspect"] {
        let out = mcp(&[cmd, "--help"]);
        assert!(out.status.success());
        assert!(
            stdout(&out).contains("Example:\n  mcp "),
            "{cmd} --help lacks an example"
        );
    }
}
