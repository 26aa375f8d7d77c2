//! Running a `faulty` model (in any language) by its `mode` input, and checking that one
//! misbehaving scenario fails alone: what the Rust `faulty`'s tests and the other languages'
//! share.

use mcp_protocol::FailureKind;
use mcp_sandbox::{BatchOutcome, LoadedModel, ModelRunner, RunLimits};
use std::sync::Arc;

/// Runs one batch whose scenario `k` has `modes[k]` and `x = k`, numbered from 100.
pub fn run_modes(model: &Arc<LoadedModel>, modes: &[f64], limits: RunLimits) -> BatchOutcome {
    let mut runner = ModelRunner::new(model.clone(), limits).unwrap();
    let inputs: Vec<f64> = modes
        .iter()
        .enumerate()
        .flat_map(|(k, m)| [*m, k as f64])
        .collect();
    runner.run_batch(100, modes.len(), &inputs)
}

/// Checks that scenario 101 of `[0, mode, 0]` failed as one of `kinds`, with `message` in its
/// message, and that its neighbours 100 and 102 still produced their outputs.
pub fn check_isolated_on(
    model: &Arc<LoadedModel>,
    limits: RunLimits,
    mode: f64,
    kinds: &[FailureKind],
    message: &str,
) {
    let out = run_modes(model, &[0.0, mode, 0.0], limits);
    assert_eq!(
        out.columns,
        vec![vec![0.0, 2.0]],
        "neighbours of mode {mode}"
    );
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(f.scenario, 101, "{f:?}");
    assert!(
        kinds.contains(&f.kind),
        "mode {mode}: {f:?} is not one of {kinds:?}"
    );
    assert!(
        f.message.contains(message),
        "mode {mode}: {:?} lacks {message:?}",
        f.message
    );
}
