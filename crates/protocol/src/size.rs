//! What fits in one broker message. RabbitMQ refuses a message over its `max_message_size`
//! (16 MiB by default since 4.0; 128 MiB on 3.x), and closes the channel that sent it: a job
//! whose model or result batches cannot fit must be refused before anything is published, by
//! whoever would send them.

use crate::{JobModel, ResultBatch, encode};

/// RabbitMQ 4's default `max_message_size`: what mcp assumes unless told otherwise.
pub const DEFAULT_MESSAGE_BYTES: usize = 16 << 20;

/// The most a failed scenario adds to a result message: its message (at most 1 KiB), its index
/// and kind.
pub(crate) const FAILURE_BYTES: u64 = 1024 + 64;
/// A result message's bytes besides its scenarios: the job id, the consumer, the batch, one
/// moment per output.
const RESULT_OVERHEAD_BYTES: u64 = 64 << 10;

/// The most bytes a result batch of `batch` scenarios of a model of `outputs` outputs takes on
/// the wire: each scenario either succeeds (8 bytes an output) or fails (a clipped message).
pub fn result_bytes_at_most(batch: u32, outputs: usize) -> u64 {
    u64::from(batch) * scenario_bytes(outputs) + batch_bytes(outputs)
}

/// The most one scenario adds to a result message: its outputs, or a failure.
fn scenario_bytes(outputs: usize) -> u64 {
    (outputs as u64 * 8).max(FAILURE_BYTES)
}

/// A result message's bytes whatever its size: the overhead and one moment per output.
fn batch_bytes(outputs: usize) -> u64 {
    RESULT_OVERHEAD_BYTES + outputs as u64 * 64
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

/// Checks that `job`'s model message and its result batches fit in messages of `max_bytes`;
/// the error names the limit, what is over it, and the fix. `origin` names the spec file.
pub fn check_message_size(job: &JobModel, max_bytes: usize, origin: &str) -> Result<(), String> {
    let limit = max_bytes as u64;
    let model = encode(job).len() as u64;
    if model > limit {
        return Err(format!(
            "the model message (the component and the spec) is {:.1} MiB, more than the \
             broker's message limit of {:.1} MiB; make the model smaller (build it in release \
             mode), or raise RabbitMQ's max_message_size and give the new limit with \
             --max-message-mib",
            mib(model),
            mib(limit)
        ));
    }
    check_result_size(&job.spec, job.info.outputs.len(), max_bytes, origin)
}

/// Checks that result batches of `spec`'s batch size, for a model of `outputs` outputs, fit in
/// messages of `max_bytes`: what a consumer, which received the model message already, checks.
pub fn check_result_size(
    spec: &mcp_spec::Spec,
    outputs: usize,
    max_bytes: usize,
    origin: &str,
) -> Result<(), String> {
    let limit = max_bytes as u64;
    let batch = spec.simulation.batch;
    // A kept scenario travels whole besides its outputs: at worst, every scenario is kept.
    let (per_scenario, kept) = if spec.simulation.keep.is_nothing() {
        (scenario_bytes(outputs), "")
    } else {
        let row = spec.kept_row_values(outputs);
        (
            scenario_bytes(outputs) + crate::kept::kept_bytes(row),
            ", each kept whole (simulation.keep),",
        )
    };
    let results = u64::from(batch) * per_scenario + batch_bytes(outputs);
    if results > limit {
        let fits = (limit.saturating_sub(batch_bytes(outputs)) / per_scenario).max(1);
        return Err(format!(
            "{origin}: simulation.batch: result batches of {batch} scenarios of a model with \
             {outputs} outputs{kept} may take {:.1} MiB, more than the broker's message limit of \
             {:.1} MiB; lower the batch to at most {fits}, or raise RabbitMQ's \
             max_message_size and give the new limit with --max-message-mib",
            mib(results),
            mib(limit)
        ));
    }
    Ok(())
}

/// The most bytes `result` takes in a result message: each value 8 bytes (the raw encoding, the
/// largest of the three), or its sketch's bytes, and every failure and kept scenario whole.
fn wire_bytes_at_most(result: &ResultBatch) -> u64 {
    let values: u64 = result.values.iter().map(|c| c.len() as u64 * 8 + 16).sum();
    let sketches: u64 = (result.sketches.iter())
        .map(|c| c.part.wire_len() as u64 + c.above.len() as u64 * 9 + 32)
        .sum();
    let failures: u64 = result
        .failures
        .iter()
        .map(|f| f.message.len() as u64 + 64)
        .sum();
    let kept: u64 = result
        .kept
        .iter()
        .map(|k| crate::kept::kept_bytes((k.inputs.len() + k.outputs.len()) as u64))
        .sum();
    let small = encode(&(&result.sobol, &result.tornado)).len() as u64;
    // The batch's range, timing and one moment an output; the message's own overhead (job,
    // consumer) is counted once, by the caller.
    values + sketches + failures + kept + small + 256 + result.moments.len() as u64 * 64
}

/// `results`, in order, in groups that each fit in a message of `max_bytes` (a result too large
/// alone still makes a group of its own: its job was admitted because it fits): how a consumer
/// answers a run whose results would not fit in one message, which happens only when many of
/// its scenarios fail with long messages or are kept whole.
pub fn split_results(results: Vec<ResultBatch>, max_bytes: usize) -> Vec<Vec<ResultBatch>> {
    let limit = (max_bytes as u64).saturating_sub(RESULT_OVERHEAD_BYTES);
    let mut groups: Vec<Vec<ResultBatch>> = Vec::new();
    let mut bytes = 0;
    for result in results {
        let size = wire_bytes_at_most(&result);
        match groups.last_mut() {
            Some(group) if bytes + size <= limit => group.push(result),
            _ => {
                bytes = 0;
                groups.push(vec![result]);
            }
        }
        bytes += size;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_whose_results_or_model_cannot_fit_is_refused_with_the_batch_that_fits() {
        let mut job = (*mcp_testkit_free_job()).clone();
        assert_eq!(
            check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml"),
            Ok(())
        );
        job.spec.simulation.batch = 1 << 20;
        let err = check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml").unwrap_err();
        assert!(
            err.starts_with("vars.toml: simulation.batch: result batches of 1048576 scenarios")
                && err.contains("more than the broker's message limit of 16.0 MiB; lower the batch to at most 15359"),
            "{err}"
        );
        // The batch it proposes fits.
        job.spec.simulation.batch = 15359;
        assert_eq!(
            check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml"),
            Ok(())
        );
        job.spec.simulation.batch = 15360;
        assert!(check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml").is_err());
        job.spec.simulation.batch = 1;
        job.wasm = vec![0; 17 << 20];
        let err = check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml").unwrap_err();
        assert!(
            err.starts_with("the model message (the component and the spec) is 17.0 MiB"),
            "{err}"
        );
    }

    #[test]
    fn kept_scenarios_count_against_the_message_limit() {
        let mut job = (*mcp_testkit_free_job()).clone();
        job.spec.simulation.batch = 15359;
        assert_eq!(
            check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml"),
            Ok(())
        );
        job.spec.simulation.keep = mcp_spec::Keep::All;
        let err = check_message_size(&job, DEFAULT_MESSAGE_BYTES, "vars.toml").unwrap_err();
        assert!(
            err.contains("1 outputs, each kept whole (simulation.keep), may take")
                && err.contains("lower the batch to at most 7401"),
            "{err}"
        );
    }

    #[test]
    fn results_too_large_for_one_message_are_split_in_order() {
        let result = |index: u64, failing: usize| ResultBatch {
            batch: crate::ScenarioBatch {
                index,
                start: index * 1000,
                count: 1000,
            },
            moments: vec![mcp_stats::Moments::default()],
            values: vec![vec![1.0; 1000 - failing]],
            failures: (0..failing as u64)
                .map(|k| crate::ScenarioFailure {
                    scenario: index * 1000 + k,
                    kind: crate::FailureKind::ModelError,
                    message: "x".repeat(1024),
                })
                .collect(),
            eval_seconds: 0.0,
            sobol: Vec::new(),
            kept: Vec::new(),
            tornado: None,
            sketches: Vec::new(),
        };
        let all: Vec<_> = (0..6).map(|i| result(i, 0)).collect();
        let groups = split_results(all.clone(), DEFAULT_MESSAGE_BYTES);
        assert_eq!(groups, [all]);
        // A run as the producer packs it, 2^20 values, stays one message.
        let packed: Vec<_> = (0..1048).map(|i| result(i, 0)).collect();
        assert_eq!(split_results(packed, DEFAULT_MESSAGE_BYTES).len(), 1);
        // Every scenario failing with a 1 KiB message: about 1 MiB a batch.
        let all: Vec<_> = (0..40).map(|i| result(i, 1000)).collect();
        let groups = split_results(all.clone(), DEFAULT_MESSAGE_BYTES);
        assert!(groups.len() >= 3, "{} groups", groups.len());
        for group in &groups {
            let bytes = encode(group).len();
            assert!(bytes <= DEFAULT_MESSAGE_BYTES, "{bytes} bytes");
        }
        assert_eq!(groups.concat(), all, "each result once, in order");
        // One result over the limit still travels, alone.
        let groups = split_results(vec![result(0, 0), result(1, 1000)], 100 << 10);
        assert_eq!(groups.len(), 2);
    }

    /// A job of one output (the protocol's own tests cannot use mcp-testkit's fixtures).
    fn mcp_testkit_free_job() -> std::sync::Arc<JobModel> {
        let spec = mcp_spec::Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nx = { dist = \"constant\", value = 1.0 }\n",
            "vars.toml",
        )
        .unwrap();
        std::sync::Arc::new(JobModel {
            job: "j".into(),
            info: crate::ModelInfo {
                name: "m".into(),
                version: "1".into(),
                inputs: vec!["x".into()],
                sizes: Vec::new(),
                outputs: vec!["y".into()],
                digest: "sha256:00".into(),
            },
            spec,
            wasm: b"\0asm".to_vec(),
        })
    }
}
