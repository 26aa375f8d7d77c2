//! A job is checked before anything is published: the model loads in the sandbox, the spec
//! matches its inputs, every distribution can be sampled, result batches fit in a message, and
//! (for jobs uploaded to `mcp serve`) the operator's limits hold.

use anyhow::{anyhow, bail};
use mcp_protocol::{JobModel, MAX_RESULT_VALUES};
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{ModelDigest, RunLimits, Sandbox};
use mcp_spec::{Ceilings, Spec};
use std::sync::Arc;

/// Checks `wasm` (named `wasm_origin` in errors) against `spec` and builds the job's model message.
pub fn prepare(
    sandbox: &Sandbox,
    wasm: Vec<u8>,
    wasm_origin: &str,
    spec: Spec,
    job: &str,
) -> anyhow::Result<Arc<JobModel>> {
    spec.validate()
        .map_err(|e| anyhow!("{}: {e}", spec.source.origin))?;
    let limits = RunLimits::from_spec(&spec.limits);
    let model = sandbox
        .load(&wasm, &limits)
        .map_err(|e| anyhow!("{wasm_origin}: {e}"))?;
    let info = model.info().clone();
    spec.check_model(&info.name, &info.version, &info.inputs, &info.sizes)?;
    spec.check_outputs(&info.name, &info.outputs)?;
    check_result_size(&spec, info.outputs.len())?;
    ScenarioGenerator::new(&spec, &info.inputs)
        .map_err(|e| anyhow!("{}: {e}", spec.source.origin))?;
    Ok(Arc::new(JobModel {
        job: job.to_string(),
        info,
        spec,
        wasm,
    }))
}

/// Refuses a spec whose result batches would carry more than [`MAX_RESULT_VALUES`] values
/// with a model of `outputs` outputs (receivers refuse such results).
fn check_result_size(spec: &Spec, outputs: usize) -> anyhow::Result<()> {
    let values = u64::from(spec.simulation.batch) * outputs as u64;
    if values > MAX_RESULT_VALUES as u64 {
        bail!(
            "{}: simulation.batch: {} scenarios of a model with {outputs} outputs make result \
             batches of {values} values, more than {MAX_RESULT_VALUES}; lower the batch to at \
             most {}",
            spec.source.origin,
            spec.simulation.batch,
            MAX_RESULT_VALUES / outputs
        );
    }
    Ok(())
}

/// What an operator allows a job submitted to `mcp serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionLimits {
    /// Most scenarios.
    pub scenarios: u64,
    /// Largest `simulation.batch`.
    pub batch: u32,
    /// Most model outputs.
    pub outputs: usize,
    /// The operator's ceilings on the job's limits, and floor on its batch.
    pub ceilings: Ceilings,
    /// The broker's largest message, in bytes: the model and each result batch must fit.
    pub message_bytes: usize,
}

impl SubmissionLimits {
    /// Checks a validated job against the limits, naming the one it exceeds.
    pub fn check(&self, job: &JobModel, spec_name: &str) -> Result<(), String> {
        let sim = &job.spec.simulation;
        if sim.scenarios > self.scenarios {
            return Err(format!(
                "{spec_name}: simulation.scenarios is {}, more than this server takes ({}); \
                 split the job or ask the operator to raise --max-scenarios",
                sim.scenarios, self.scenarios
            ));
        }
        if sim.batch > self.batch {
            return Err(format!(
                "{spec_name}: simulation.batch is {}, more than this server takes ({}); use a \
                 smaller batch or ask the operator to raise --max-batch",
                sim.batch, self.batch
            ));
        }
        self.ceilings
            .check(&job.spec, "this server")
            .map_err(|e| format!("{spec_name}: {e}"))?;
        mcp_protocol::check_message_size(job, self.message_bytes, spec_name)?;
        let outputs = job.info.outputs.len();
        if outputs > self.outputs {
            return Err(format!(
                "the model has {outputs} outputs, more than this server takes ({}); ask the \
                 operator to raise --max-outputs",
                self.outputs
            ));
        }
        Ok(())
    }
}

/// Validates an uploaded job (`model` named `model_name`, the spec's text named `spec_name`,
/// with `overrides` put in) and checks it against `limits`; the error names the file, field or
/// limit at fault.
pub fn accept(
    sandbox: &Sandbox,
    limits: &SubmissionLimits,
    model: Vec<u8>,
    model_name: &str,
    spec: &str,
    spec_name: &str,
    overrides: &mcp_spec::Overrides,
) -> Result<Arc<JobModel>, String> {
    let mut spec = Spec::parse(spec, spec_name).map_err(|e| e.to_string())?;
    overrides.apply(&mut spec, "")?;
    let job = crate::new_job_id(&ModelDigest::of(&model).0);
    let job = prepare(sandbox, model, model_name, spec, &job).map_err(|e| format!("{e:#}"))?;
    limits.check(&job, spec_name)?;
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_too_big_for_one_result_message_is_refused_with_the_batch_that_fits() {
        let spec = Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\nbatch = 1048576\n[variables]\n",
            "vars.toml",
        )
        .unwrap();
        assert!(check_result_size(&spec, 64).is_ok());
        let err = check_result_size(&spec, 65).unwrap_err().to_string();
        assert_eq!(
            err,
            "vars.toml: simulation.batch: 1048576 scenarios of a model with 65 outputs make \
             result batches of 68157440 values, more than 67108864; lower the batch to at most \
             1032444"
        );
    }
}
