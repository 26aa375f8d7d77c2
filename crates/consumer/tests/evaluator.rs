//! The evaluator against a real model: a batch bigger than one sandbox call is generated and
//! evaluated in parts, and gives what the same scenarios give in small batches; its rank
//! correlations are over the scenarios that succeeded, each input's own.

use super::{job, pricing_job};
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

#[test]
fn rank_correlations_pair_each_success_with_its_own_inputs() {
    // `faulty` fails every scenario whose `mode` is 1 and passes `x` through the others.
    let spec = "[simulation]\nscenarios = 10000\nseed = 5\nbatch = 5000\n[variables]\n\
                mode = { dist = \"bernoulli\", p = 0.3 }\n\
                x = { dist = \"normal\", mean = 0.0, std = 1.0 }\n";
    let job = job("faulty", spec);
    let sandbox = Sandbox::new().unwrap();
    let mut evaluator = Evaluator::new(&sandbox, &job, None).unwrap();
    let count = MAX_SCENARIOS_PER_CALL as u32 + 904;
    let r = evaluator
        .evaluate(ScenarioBatch {
            index: 0,
            start: 0,
            count,
        })
        .unwrap();
    let succeeded = r.succeeded() as u32;
    assert!(succeeded < count && succeeded > count / 2, "{succeeded}");
    let t = r
        .tornado
        .expect("a batch of thousands carries its rank correlations");
    // Pairs (y, mode), (y, x): `mode` is 0 in every success, so it has no coefficient; `y` is
    // `x`, so theirs is 1 unless a failure shifted the rows.
    assert_eq!(t.n, vec![0, succeeded]);
    assert!((t.rho[1] - 1.0).abs() < 1e-12, "{t:?}");
    // A batch under 32 scenarios carries none; `mcp compare`'s evaluators compute none.
    let small = ScenarioBatch {
        index: 0,
        start: 0,
        count: 31,
    };
    assert_eq!(evaluator.evaluate(small).unwrap().tornado, None);
    // Past the first 32 batches, one in 8 is ranked.
    let at = |index: u64| ScenarioBatch {
        index,
        start: index * 500,
        count: 500,
    };
    assert!(evaluator.evaluate(at(31)).unwrap().tornado.is_some());
    assert_eq!(evaluator.evaluate(at(33)).unwrap().tornado, None);
    assert!(evaluator.evaluate(at(40)).unwrap().tornado.is_some());
    let mut quiet = Evaluator::new(&sandbox, &job, None)
        .unwrap()
        .without_tornado();
    assert_eq!(
        quiet
            .evaluate(ScenarioBatch {
                count: 500,
                ..small
            })
            .unwrap()
            .tornado,
        None
    );
}

#[test]
fn the_pricing_payoff_ranks_with_its_one_random_input() {
    let mut evaluator = Evaluator::new(&Sandbox::new().unwrap(), &pricing_job(), None).unwrap();
    let r = evaluator
        .evaluate(ScenarioBatch {
            index: 0,
            start: 0,
            count: 1024,
        })
        .unwrap();
    let t = r.tornado.unwrap();
    // Inputs spot, strike, rate, vol, maturity (constants), z; outputs price, itm: both rise
    // with z, and only z moves.
    assert_eq!(t.n, [[0, 0, 0, 0, 0, 1024]; 2].concat());
    assert!(t.rho[5] > 0.8 && t.rho[11] > 0.8, "{t:?}");
}

#[test]
fn in_sketch_mode_a_sketching_evaluator_sends_each_batch_as_its_values_sketch() {
    let sandbox = Sandbox::new().unwrap();
    let batch = ScenarioBatch {
        index: 3,
        start: 3072,
        count: 1024,
    };
    // The example spec (1 M scenarios of two outputs): exact percentiles, so values travel.
    let mut exact = Evaluator::new(&sandbox, &pricing_job(), None)
        .unwrap()
        .sketching();
    let values = exact.evaluate(batch).unwrap();
    assert!(values.sketches.is_empty() && values.values.len() == 2);
    // Past 2^25 values, or asked for: the outputs travel as sketches, with the counts above
    // the output's thresholds.
    let mut job = pricing_job();
    job.spec.simulation.scenarios = 20_000_000;
    job.spec.outputs = mcp_spec::Spec::parse(
        "[simulation]\nscenarios = 1\nseed = 1\n[variables]\n\
         [outputs.price]\nthresholds = [0.0, 20.0]\n",
        "vars.toml",
    )
    .unwrap()
    .outputs;
    let mut sketching = Evaluator::new(&sandbox, &job, None).unwrap().sketching();
    let sketched = sketching.evaluate(batch).unwrap();
    assert!(sketched.values.is_empty());
    assert_eq!(sketched.sketches.len(), 2);
    for (column, values) in sketched.sketches.iter().zip(&values.values) {
        let (mut merged, mut added) = (mcp_stats::Sketch::default(), mcp_stats::Sketch::default());
        merged.merge(&column.part);
        added.add(values);
        assert_eq!(merged.percentiles(), added.percentiles());
        assert_eq!(column.part.count(), 1024);
    }
    let price = &values.values[0];
    let above = |t: f64| price.iter().filter(|&&x| x > t).count() as u64;
    assert_eq!(sketched.sketches[0].above, vec![above(0.0), above(20.0)]);
    assert!(sketched.sketches[1].above.is_empty());
    // `in the money` is 0 or 1: two buckets, a few bytes instead of 8 KiB.
    assert_eq!(sketched.sketches[1].part.buckets().len(), 2);
    assert_eq!(sketched.moments, values.moments);
    // Without `sketching()` (`mcp replay`, `mcp compare`), the values stay.
    let mut reading = Evaluator::new(&sandbox, &job, None).unwrap();
    assert_eq!(reading.evaluate(batch).unwrap().values, values.values);
}
