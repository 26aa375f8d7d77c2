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
