//! Small jobs, results and heartbeats for the tests of the roles, the server and the
//! transports: one model `m` with one input `x` (constant 1) and one output `y`.

use mcp_protocol::{
    ConsumerState, ConsumerStatus, JobAnnouncement, JobModel, KeptScenario, ModelInfo, ResultBatch,
    ScenarioBatch,
};
use mcp_spec::Spec;
use mcp_stats::Moments;
use std::sync::Arc;

/// A spec of `scenarios` scenarios in batches of `batch`, seed 1, a one-hour time-out.
pub fn spec(scenarios: u64, batch: u32) -> Spec {
    let text = format!(
        "[simulation]\nscenarios = {scenarios}\nseed = 1\nbatch = {batch}\n[limits]\n\
         timeout_s = 3600\n[variables]\nx = {{ dist = \"constant\", value = 1.0 }}\n"
    );
    Spec::parse(&text, "vars.toml").expect("the fixture spec is valid")
}

/// The model `m`, version 1: input `x`, output `y`.
pub fn model_info() -> ModelInfo {
    ModelInfo {
        name: "m".into(),
        version: "1".into(),
        inputs: vec!["x".into()],
        sizes: Vec::new(),
        outputs: vec!["y".into()],
        digest: "sha256:00".into(),
    }
}

/// The announcement of job `id` of model `m` under [`spec`]`(scenarios, batch)`.
pub fn announcement(id: &str, scenarios: u64, batch: u32, submitted_at_ms: u64) -> JobAnnouncement {
    JobAnnouncement {
        job: id.to_string(),
        info: model_info(),
        spec: spec(scenarios, batch),
        submitted_at_ms,
    }
}

/// The model message of job `id` (its bytes are a Wasm header, nothing that runs).
pub fn job_model(id: &str, scenarios: u64, batch: u32) -> Arc<JobModel> {
    Arc::new(JobModel {
        job: id.to_string(),
        info: model_info(),
        spec: spec(scenarios, batch),
        wasm: b"\0asm".to_vec(),
    })
}

/// The result of batch `index` of a job in batches of `batch` whose scenarios all succeeded
/// with output `values`.
pub fn result(index: u64, batch: u32, values: Vec<f64>) -> ResultBatch {
    ResultBatch {
        batch: ScenarioBatch {
            index,
            start: index * u64::from(batch),
            count: values.len() as u32,
        },
        moments: vec![Moments::of_slice(&values)],
        values: vec![values],
        failures: vec![],
        eval_seconds: 0.0,
        sobol: Vec::new(),
        kept: vec![],
        tornado: None,
        sketches: Vec::new(),
    }
}

/// `result` with every scenario kept whole, as a spec with `keep = "all"` asks: input `x` is
/// 1 (the fixture spec's constant), output `y` the scenario's value.
pub fn keeping_all(mut result: ResultBatch) -> ResultBatch {
    let start = result.batch.start;
    result.kept = result.values[0]
        .iter()
        .enumerate()
        .map(|(k, &y)| KeptScenario {
            scenario: start + k as u64,
            inputs: vec![1.0],
            outputs: vec![y],
            failure: None,
        })
        .collect();
    result
}

/// A heartbeat of an active consumer `id` that has done nothing yet.
pub fn heartbeat(id: &str) -> ConsumerStatus {
    ConsumerStatus {
        id: id.into(),
        host: "h".into(),
        state: ConsumerState::Active,
        batches: 0,
        scenarios: 0,
        scenarios_per_s: 0.0,
        last_s_per_scenario: 0.0,
        mean_s_per_scenario: 0.0,
        failures: 0,
        expired: 0,
        rss_bytes: 0,
        cpu_percent: 0.0,
        sent_at_ms: 1,
        refused: None,
    }
}
