//! The evaluator against a real model: a batch bigger than one sandbox call is generated and
//! evaluated in parts, and gives what the same scenarios give in small batches.

use super::pricing_job;
use mcp_consumer::Evaluator;
use mcp_protocol::ScenarioBatch;
use mcp_sandbox::{MAX_SCENARIOS_PER_CALL, Sandbox};

#[test]
fn a_batch_of_several_calls_equals_the_same_scenarios_in_small_batches() {
    let job = pricing_job();
    let sandbox = Sandbox::new().unwrap();
    let mut evaluator = Evaluator::new(&sandbox, &job, None).unwrap();
    let count = 2 * MAX_SCENARIOS_PER_CALL as u32 + 77;
    let big = evaluator
        .evaluate(ScenarioBatch {
            index: 0,
            start: 1000,
            count,
        })
        .unwrap();
    assert_eq!(big.batch.count, count);
    assert!(big.failures.is_empty());
    let mut small: Vec<Vec<f64>> = vec![Vec::new(); 2];
    for (i, start) in (1000..1000 + u64::from(count)).step_by(1000).enumerate() {
        let part = evaluator
            .evaluate(ScenarioBatch {
                index: i as u64,
                start,
                count: (1000 + u64::from(count) - start).min(1000) as u32,
            })
            .unwrap();
        for (all, column) in small.iter_mut().zip(part.values) {
            all.extend(column);
        }
    }
    let bits = |c: &[f64]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for (b, s) in big.values.iter().zip(&small) {
        assert_eq!(b.len(), count as usize);
        assert_eq!(bits(b), bits(s));
    }
    assert_eq!(big.moments.len(), 2);
    assert_eq!(big.moments[0].count, u64::from(count));
}

#[test]
fn kept_scenarios_are_the_rows_and_outputs_of_their_indices_across_calls() {
    let mut job = pricing_job();
    // Past the first sandbox call of the batch, so that the second call's offsets count.
    let first = MAX_SCENARIOS_PER_CALL as u64 + 10;
    job.spec.simulation.keep = mcp_spec::Keep::First(first);
    let sandbox = Sandbox::new().unwrap();
    let mut evaluator = Evaluator::new(&sandbox, &job, None).unwrap();
    let count = 2 * MAX_SCENARIOS_PER_CALL as u32 + 77;
    let batch = evaluator
        .evaluate(ScenarioBatch {
            index: 0,
            start: 0,
            count,
        })
        .unwrap();
    assert_eq!(batch.kept.len() as u64, first);
    for (i, kept) in batch.kept.iter().enumerate() {
        assert_eq!(kept.scenario, i as u64);
        assert_eq!(kept.inputs, evaluator.inputs(i as u64), "scenario {i}");
        let outputs: Vec<f64> = batch.values.iter().map(|c| c[i]).collect();
        assert_eq!(kept.outputs, outputs, "scenario {i}");
        assert!(kept.failure.is_none());
    }
}
