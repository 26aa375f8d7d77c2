//! The consumer against a real model: the evaluator, and a whole consumer process over the
//! in-memory transport, obeying the operator.

mod evaluator;
mod process;

use mcp_protocol::JobModel;
use mcp_sandbox::{RunLimits, Sandbox};
use mcp_spec::Spec;
use mcp_testkit::model_bytes;

/// The pricing model's job `j`, under its example spec.
fn pricing_job() -> JobModel {
    let spec = std::fs::read_to_string(mcp_testkit::project_file(
        "example-models/pricing/vars.toml",
    ))
    .unwrap();
    job("pricing", &spec)
}

/// Job `j` of the test or example model `model` under the spec `text`.
fn job(model: &str, text: &str) -> JobModel {
    let spec = Spec::parse(text, "vars.toml").unwrap();
    let wasm = model_bytes(model);
    let sandbox = Sandbox::new().unwrap();
    let info = sandbox
        .load(&wasm, &RunLimits::from_spec(&spec.limits))
        .unwrap()
        .info()
        .clone();
    JobModel {
        job: "j".into(),
        info,
        spec,
        wasm,
    }
}
