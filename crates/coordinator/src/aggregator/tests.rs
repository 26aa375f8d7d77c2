//! The aggregator against arrival orders, duplicates, forged batches and stop rules.

use super::*;

use mcp_stats::EXACT_PERCENTILE_VALUES;
use mcp_testkit::fixtures::{model_info as info, spec};

fn result(index: u64, values: Vec<f64>) -> ResultBatch {
    mcp_testkit::fixtures::result(index, 2, values)
}

#[test]
fn arrival_order_and_duplicates_do_not_change_the_summary() {
    let batches = [
        result(0, vec![1.0, 2.0]),
        result(1, vec![3.5, -1.0]),
        result(2, vec![0.1, 0.2]),
    ];
    let mut in_order = Aggregator::new(info(), &spec(6, 2));
    for b in batches.iter().cloned() {
        assert_eq!(in_order.add(b), Added::New);
    }
    let mut shuffled = Aggregator::new(info(), &spec(6, 2));
    for i in [2, 0, 2, 1, 0] {
        shuffled.add(batches[i].clone());
    }
    assert!(shuffled.is_complete());
    assert_eq!(shuffled.progress().scenarios, 6);
    let a = in_order.into_summary(0.0);
    let b = shuffled.into_summary(0.0);
    assert_eq!(a, b);
    assert_eq!(a.outputs.0[0].1.count, 6);
}

#[test]
fn histogram_and_convergence_are_the_same_bits_in_any_arrival_order() {
    // 300 batches of 2: a point at each power of two and, 300 / 4 being at most 128, every
    // 4 batches.
    let batches: Vec<ResultBatch> = (0..300u64)
        .map(|i| {
            result(
                i,
                vec![(i as f64 * 0.9).sin(), (i as f64 * 0.4).cos() * 2.0],
            )
        })
        .collect();
    let orders: [Vec<usize>; 3] = [
        (0..300).collect(),
        (0..300).rev().collect(),
        (0..150).flat_map(|i| [299 - i, i]).collect(),
    ];
    let summaries: Vec<JobSummary> = orders
        .iter()
        .map(|order| {
            let mut agg = Aggregator::new(info(), &spec(600, 2));
            for &i in order {
                agg.add(batches[i].clone());
            }
            agg.into_summary(0.0)
        })
        .collect();
    let json = |s: &JobSummary| serde_json::to_string(s).unwrap();
    assert_eq!(json(&summaries[0]), json(&summaries[1]));
    assert_eq!(json(&summaries[0]), json(&summaries[2]));
    let y = &summaries[0].outputs.0[0].1;
    let histogram = y.histogram.as_ref().unwrap();
    assert_eq!(histogram.total(), 600);
    let at: Vec<f64> = y.convergence.iter().map(|p| p[0]).collect();
    // Values after batches 1, 2, 4, 8, 12, 16, 20, …: two per batch.
    assert_eq!(at[..7], [2.0, 4.0, 8.0, 16.0, 24.0, 32.0, 40.0]);
    let last = y.convergence.last().unwrap();
    assert_eq!((last[0], last[1]), (600.0, y.mean));
    assert_eq!([last[2], last[3]], y.ci95);
}

/// The fixture spec with `[outputs.y]` asking for exceedance and VaR.
fn risk_spec(scenarios: u64, batch: u32) -> Spec {
    let mut spec = spec(scenarios, batch);
    let text = "[simulation]\nscenarios = 1\nseed = 1\n[variables]\n\
                [outputs.y]\nthresholds = [0.5, 100.0]\nvar = [0.5, 0.9]\n";
    spec.outputs = Spec::parse(text, "vars.toml").unwrap().outputs;
    spec
}

#[test]
fn exceedance_and_tail_risk_are_the_same_in_any_arrival_order_and_mode() {
    let batches: Vec<ResultBatch> = (0..50u64)
        .map(|i| result(i, vec![(i as f64 * 0.7).sin(), i as f64 * 0.01]))
        .collect();
    let all: Vec<f64> = batches.iter().flat_map(|b| b.values[0].clone()).collect();
    for scenarios in [100, EXACT_PERCENTILE_VALUES + 2] {
        let mut forward = Aggregator::new(info(), &risk_spec(scenarios, 2));
        let mut backward = Aggregator::new(info(), &risk_spec(scenarios, 2));
        for b in batches.iter().cloned() {
            forward.add(b);
        }
        for b in batches.iter().rev().cloned() {
            backward.add(b);
        }
        let (a, b) = (forward.into_summary(0.0), backward.into_summary(0.0));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let y = &a.outputs.0[0].1;
        let above = all.iter().filter(|&&x| x > 0.5).count() as u64;
        assert_eq!(y.exceedance[0].count, above);
        assert_eq!(y.exceedance[0].probability, above as f64 / 100.0);
        assert_eq!(y.exceedance[1].count, 0);
        assert_eq!(y.var.len(), 2);
        assert_eq!(y.var[1].level, 0.9);
        // The 0.5 level's VaR is the median.
        let p50 = y.percentiles.p50;
        assert!((y.var[0].var - p50).abs() <= y.percentile_error * p50.abs());
        assert!(y.percentile_ci95.is_some());
    }
}

/// A Saltelli design over the fixture's one input `x` (rows of 3 runs) and batch `index`
/// of 4 rows: its values and Sobol sums.
fn design_batch(index: u64) -> ResultBatch {
    let values: Vec<f64> = (0..12u64)
        .map(|k| ((index * 12 + k) as f64 * 0.37).sin() * 1e3 + 1e6)
        .collect();
    let mut r = mcp_testkit::fixtures::result(index, 12, values);
    r.sobol = vec![SobolSums::of_batch(&r.values[0], &[], 12, 1)];
    r
}

#[test]
fn sobol_sums_merge_in_batch_order_whatever_the_arrival_order() {
    let mut spec = spec(600, 12);
    spec.sensitivity = Some(mcp_spec::Sensitivity {
        method: mcp_spec::SensitivityMethod::Sobol,
    });
    let mut forward = Aggregator::new(info(), &spec);
    let mut backward = Aggregator::new(info(), &spec);
    for i in 0..50 {
        assert_eq!(forward.add(design_batch(i)), Added::New);
        assert_eq!(backward.add(design_batch(49 - i)), Added::New);
    }
    let (a, b) = (forward.into_summary(0.0), backward.into_summary(0.0));
    let sobol = a.sobol.as_ref().expect("the summary has the indices");
    assert_eq!(sobol.rows, 200);
    assert_eq!(sobol.outputs.0[0].1[0].input, "x");
    assert!(sobol.outputs.0[0].1[0].total.is_finite());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    // A batch without the sums the spec asks for is not counted.
    let agg = Aggregator::new(info(), &spec);
    let mut bare = design_batch(0);
    bare.sobol.clear();
    assert!(
        agg.check(&bare)
            .unwrap_err()
            .contains("lacks the Sobol sums")
    );
}

/// Batch `index` of 40 scenarios whose rank correlation with the fixture's one input is
/// an irregular function of the index.
fn ranked(index: u64) -> ResultBatch {
    let mut r = mcp_testkit::fixtures::result(index, 40, vec![index as f64; 40]);
    r.tornado = Some(TornadoBatch {
        inputs: 1,
        rho: vec![(index as f64 * 1.7).sin()],
        n: vec![40 - (index % 3) as u32],
    });
    r
}

#[test]
fn the_tornado_is_the_same_bits_in_any_arrival_order_with_or_without_a_stop_rule() {
    let mut stop = spec(4000, 40);
    stop.stop = Some(mcp_spec::StopRule {
        output: "y".into(),
        precision: mcp_spec::Precision::Relative(1e-12),
        percentile: None,
        sobol: None,
        max_scenarios: None,
        check_every: 7,
    });
    let tornado = |spec: &Spec, order: &mut dyn Iterator<Item = u64>| {
        let mut agg = Aggregator::new(info(), spec);
        for i in order {
            agg.add(ranked(i));
        }
        serde_json::to_string(&agg.into_summary(0.0).tornado).unwrap()
    };
    let forward = tornado(&spec(4000, 40), &mut (0..100));
    assert!(forward.starts_with(r#"{"blocks":100,"outputs":{"y":[{"input":"x","#));
    assert_eq!(forward, tornado(&spec(4000, 40), &mut (0..100).rev()));
    let mut odd_first = (0..100).filter(|i| i % 2 == 1).chain((0..100).step_by(2));
    assert_eq!(forward, tornado(&spec(4000, 40), &mut odd_first.clone()));
    // Through the `[stop]` rule's prefix (it never holds here): the same bits.
    assert_eq!(forward, tornado(&stop, &mut odd_first));
}

#[test]
fn duplicates_and_strangers_are_not_counted() {
    let mut agg = Aggregator::new(info(), &spec(4, 2));
    assert_eq!(agg.add(result(1, vec![1.0, 1.0])), Added::New);
    assert_eq!(agg.add(result(1, vec![1.0, 1.0])), Added::Duplicate);
    assert_eq!(
        agg.add(result(7, vec![1.0, 1.0])),
        Added::Rejected("batch 7 is past the job's 2 batches".into())
    );
    assert_eq!(agg.progress().scenarios, 2);
    assert!(!agg.is_complete());
}

#[test]
fn inconsistent_results_are_rejected_with_why() {
    let agg = Aggregator::new(info(), &spec(5, 2));
    let good = result(0, vec![1.0, 2.0]);
    assert_eq!(agg.check(&good), Ok(()));
    // The last batch is shorter.
    let mut last = result(2, vec![4.0]);
    last.batch.count = 1;
    assert_eq!(agg.check(&last), Ok(()));
    type Spoil = fn(&mut ResultBatch);
    let cases: [(&str, Spoil); 6] = [
        ("covers scenarios 1..3, not 0..2", |r| r.batch.start = 1),
        ("covers scenarios 0..3, not 0..2", |r| r.batch.count = 3),
        (
            "has 1 moments and 2 value columns or sketches for 1 outputs",
            |r| r.values.push(vec![]),
        ),
        ("has 3 values and moments of 2 for output `y`", |r| {
            r.values[0].push(0.5)
        }),
        (
            "has 2 values and moments of 2 for output `y`, which 1 scenarios",
            |r| r.failures.push(failure(1)),
        ),
        (
            "reports scenario 2 failed, out of order or outside the batch",
            |r| r.failures.push(failure(2)),
        ),
    ];
    for (expected, spoil) in cases {
        let mut bad = good.clone();
        spoil(&mut bad);
        let err = agg.check(&bad).unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
    let mut forged = ranked(0);
    forged.tornado.as_mut().unwrap().rho = vec![2.0];
    let agg40 = Aggregator::new(info(), &spec(80, 40));
    let err = agg40.check(&forged).unwrap_err();
    assert!(err.contains("batch 0 has a rank correlation of 2"), "{err}");
    let mut twice = result(0, vec![1.0]);
    twice.batch.count = 2;
    twice.moments[0] = Moments::of([]);
    twice.values[0].clear();
    twice.failures = vec![failure(1), failure(1)];
    assert!(agg.check(&twice).unwrap_err().contains("out of order"));
}

fn failure(scenario: u64) -> mcp_protocol::ScenarioFailure {
    mcp_protocol::ScenarioFailure {
        scenario,
        kind: mcp_protocol::FailureKind::Trap,
        message: "trap".into(),
    }
}

#[test]
fn jobs_past_the_exact_limit_are_sketched_the_same_in_any_order() {
    let big = EXACT_PERCENTILE_VALUES + 2;
    let small = Aggregator::new(info(), &spec(EXACT_PERCENTILE_VALUES, 2));
    assert!(
        matches!(small.kept, Kept::Values { .. }),
        "up to the limit, percentiles are exact"
    );
    let batches: Vec<ResultBatch> = (0..500u64)
        .map(|i| result(i, vec![i as f64 * 0.37, 1000.0 - i as f64]))
        .collect();
    let mut forward = Aggregator::new(info(), &spec(big, 2));
    let mut backward = Aggregator::new(info(), &spec(big, 2));
    assert!(matches!(forward.kept, Kept::Sketches(_)));
    for b in batches.iter().cloned() {
        forward.add(b);
    }
    for b in batches.iter().rev().cloned() {
        backward.add(b);
    }
    // Values are folded into the sketch as they arrive, never kept.
    assert!(matches!(forward.kept, Kept::Sketches(_)));
    let (a, b) = (forward.into_summary(0.0), backward.into_summary(0.0));
    assert_eq!(a, b);
    let y = &a.outputs.0[0].1;
    assert_eq!(y.count, 1000);
    assert_eq!(y.percentile_error, mcp_stats::SKETCH_RELATIVE_ERROR);
    let mut all: Vec<f64> = batches.iter().flat_map(|b| b.values[0].clone()).collect();
    all.sort_by(f64::total_cmp);
    let exact = mcp_stats::percentile_sorted(&all, 50.0);
    assert!((y.percentiles.p50 - exact).abs() <= y.percentile_error * exact.abs());
}

#[test]
fn batches_sketched_by_consumers_give_the_summary_their_values_give() {
    // Asked for by the spec, sketch mode holds for a job of any size.
    let mut spec = risk_spec(4000, 8);
    spec.simulation.percentiles = mcp_spec::PercentileMode::Sketch;
    assert!(matches!(
        Aggregator::new(info(), &spec).kept,
        Kept::Sketches(_)
    ));
    // Batches with repeats (sketched) and with every value apart (sent as values: their sketch
    // would be larger).
    let batches: Vec<ResultBatch> = (0..500u64)
        .map(|i| {
            let values = (0..8)
                .map(|k| match i % 3 {
                    0 => ((i + k) % 4) as f64 * 0.25,
                    _ => ((i * 8 + k) as f64 * 0.37).sin() * 2f64.powi((k % 5) as i32),
                })
                .collect();
            mcp_testkit::fixtures::result(i, 8, values)
        })
        .collect();
    let mut sketcher = mcp_protocol::Sketcher::of(&spec, &info().outputs).unwrap();
    let sketched: Vec<ResultBatch> = batches
        .iter()
        .cloned()
        .map(|mut r| {
            sketcher.sketch(&mut r);
            r
        })
        .collect();
    let forms = |rs: &[ResultBatch]| rs.iter().filter(|r| r.sketches.is_empty()).count();
    assert!(
        forms(&sketched) > 0 && forms(&sketched) < 500,
        "both forms travel"
    );
    let mut plain = Aggregator::new(info(), &spec);
    for b in batches.iter().cloned() {
        assert_eq!(plain.add(b), Added::New);
    }
    let mut merged = Aggregator::new(info(), &spec);
    for b in sketched.iter().rev().cloned() {
        assert_eq!(merged.add(b), Added::New);
    }
    let (a, b) = (plain.into_summary(0.0), merged.into_summary(0.0));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert!(!a.outputs.0[0].1.exceedance.is_empty());

    // A sketch that does not add up is refused, and so is a sketch for a job whose
    // percentiles are exact.
    let one = sketched.iter().find(|r| !r.sketches.is_empty()).unwrap();
    let check = Aggregator::new(info(), &spec);
    let mut forged = one.clone();
    forged.sketches[0].above.push(1);
    assert!(check.check(&forged).unwrap_err().contains("thresholds"));
    let mut forged = one.clone();
    forged.sketches[0].above[0] = 9;
    assert!(
        check
            .check(&forged)
            .unwrap_err()
            .contains("above its 2 thresholds")
    );
    let mut forged = one.clone();
    forged.moments[0] = mcp_stats::Moments::of([1.0]);
    assert!(
        check
            .check(&forged)
            .unwrap_err()
            .contains("8 values and moments of 1")
    );
    let exact = Aggregator::new(info(), &risk_spec(4000, 8));
    assert!(exact.check(one).unwrap_err().contains("is sketched"));
}
