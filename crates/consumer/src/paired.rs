//! Evaluating one batch in two runs (two models, or one model under two specs) and pairing
//! their outputs scenario by scenario: the evaluation side of `mcp compare`.
//!
//! Each run is an [`Evaluator`] of its own, so its inputs come from its own spec; a scenario
//! that fails in either run is left out of the pairs and kept among that run's failures.

use crate::Evaluator;
use mcp_protocol::{JobModel, ResultBatch, ScenarioBatch, ScenarioFailure};
use mcp_sandbox::Sandbox;
use mcp_stats::PairedMoments;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The outputs two models share (by name), and those only one has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchedOutputs {
    /// The shared outputs in A's order: name, column in A, column in B.
    pub shared: Vec<(String, usize, usize)>,
    /// Outputs of A that B lacks.
    pub only_a: Vec<String>,
    /// Outputs of B that A lacks.
    pub only_b: Vec<String>,
}

impl MatchedOutputs {
    /// Matches A's outputs `a` with B's `b` by name.
    pub fn of(a: &[String], b: &[String]) -> MatchedOutputs {
        let column = |outputs: &[String], name: &str| outputs.iter().position(|o| o == name);
        MatchedOutputs {
            shared: a
                .iter()
                .enumerate()
                .filter_map(|(i, name)| column(b, name).map(|j| (name.clone(), i, j)))
                .collect(),
            only_a: a
                .iter()
                .filter(|n| column(b, n).is_none())
                .cloned()
                .collect(),
            only_b: b
                .iter()
                .filter(|n| column(a, n).is_none())
                .cloned()
                .collect(),
        }
    }
}

/// One batch evaluated in both runs, paired.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedBatch {
    /// The batch.
    pub batch: ScenarioBatch,
    /// Per shared output ([`MatchedOutputs::shared`]'s order), the moments of its pairs.
    pub outputs: Vec<PairedMoments>,
    /// Scenarios that succeeded in both runs.
    pub pairs: u64,
    /// The scenarios that failed in run A and in run B, in scenario order.
    pub failures: [Vec<ScenarioFailure>; 2],
}

/// Evaluates batches in two runs and pairs their shared outputs.
#[derive(Debug)]
pub struct PairedEvaluator {
    runs: [Evaluator; 2],
    outputs: MatchedOutputs,
}

impl PairedEvaluator {
    /// Loads both runs' models (compiled once per digest by the sandbox) with their specs'
    /// generators; setting `abort` interrupts a batch in flight.
    pub fn new(
        sandbox: &Sandbox,
        a: &JobModel,
        b: &JobModel,
        abort: Option<Arc<AtomicBool>>,
    ) -> anyhow::Result<PairedEvaluator> {
        Ok(PairedEvaluator {
            runs: [
                Evaluator::new(sandbox, a, abort.clone())?.without_tornado(),
                Evaluator::new(sandbox, b, abort)?.without_tornado(),
            ],
            outputs: MatchedOutputs::of(&a.info.outputs, &b.info.outputs),
        })
    }

    /// Which outputs are paired.
    pub fn outputs(&self) -> &MatchedOutputs {
        &self.outputs
    }

    /// Evaluates `batch` in both runs and pairs the results; `None` when aborted midway.
    pub fn evaluate(&mut self, batch: ScenarioBatch) -> Option<PairedBatch> {
        let a = self.runs[0].evaluate(batch)?;
        let b = self.runs[1].evaluate(batch)?;
        Some(pair(a, b, &self.outputs))
    }
}

/// Pairs two results of the same batch: the values of scenarios that succeeded in both.
fn pair(a: ResultBatch, b: ResultBatch, outputs: &MatchedOutputs) -> PairedBatch {
    let both_succeeded = a.failures.is_empty() && b.failures.is_empty();
    let (ok_a, ok_b) = (succeeded(&a), succeeded(&b));
    let paired_column = |ia: usize, ib: usize| -> PairedMoments {
        let (va, vb) = (&a.values[ia], &b.values[ib]);
        if both_succeeded {
            return PairedMoments::of_slices(va, vb);
        }
        let (mut xa, mut xb) = (Vec::new(), Vec::new());
        let (mut next_a, mut next_b) = (0, 0);
        for (&ok_a, &ok_b) in ok_a.iter().zip(&ok_b) {
            if ok_a && ok_b {
                xa.push(va[next_a]);
                xb.push(vb[next_b]);
            }
            next_a += usize::from(ok_a);
            next_b += usize::from(ok_b);
        }
        PairedMoments::of_slices(&xa, &xb)
    };
    let moments = outputs
        .shared
        .iter()
        .map(|&(_, ia, ib)| paired_column(ia, ib))
        .collect();
    let pairs = ok_a.iter().zip(&ok_b).filter(|&(&x, &y)| x && y).count() as u64;
    PairedBatch {
        batch: a.batch,
        outputs: moments,
        pairs,
        failures: [a.failures, b.failures],
    }
}

/// Whether each scenario of the batch succeeded, in scenario order.
fn succeeded(r: &ResultBatch) -> Vec<bool> {
    let mut ok = vec![true; r.batch.count as usize];
    for f in &r.failures {
        ok[(f.scenario - r.batch.start) as usize] = false;
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_protocol::FailureKind;
    use mcp_stats::Moments;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outputs_are_matched_by_name_in_as_order() {
        let m = MatchedOutputs::of(&names(&["p", "q", "r"]), &names(&["r", "s", "p"]));
        assert_eq!(
            m.shared,
            vec![("p".to_string(), 0, 2), ("r".to_string(), 2, 0)]
        );
        assert_eq!((m.only_a, m.only_b), (names(&["q"]), names(&["s"])));
    }

    fn result(values: Vec<f64>, failed: &[u64]) -> ResultBatch {
        let batch = ScenarioBatch {
            index: 3,
            start: 100,
            count: 6,
        };
        ResultBatch {
            batch,
            moments: vec![Moments::of_slice(&values)],
            values: vec![values],
            failures: failed
                .iter()
                .map(|&scenario| ScenarioFailure {
                    scenario,
                    kind: FailureKind::ModelError,
                    message: "no".into(),
                })
                .collect(),
            eval_seconds: 0.0,
            sobol: Vec::new(),
            kept: vec![],
            tornado: None,
            sketches: Vec::new(),
        }
    }

    #[test]
    fn a_scenario_failed_on_either_side_is_left_out_of_the_pairs() {
        // Scenarios 100..106; A fails 101, B fails 101 and 104.
        let a = result(vec![0.0, 2.0, 3.0, 4.0, 5.0], &[101]);
        let b = result(vec![10.0, 30.0, 50.0, 60.0], &[101, 104]);
        let outputs = MatchedOutputs::of(&names(&["y"]), &names(&["y"]));
        let p = pair(a, b, &outputs);
        // The pairs are scenarios 100, 102, 103, 105.
        assert_eq!(p.pairs, 4);
        let want = PairedMoments::of_slices(&[0.0, 2.0, 3.0, 5.0], &[10.0, 30.0, 50.0, 60.0]);
        assert_eq!(p.outputs, vec![want]);
        assert_eq!(p.failures[0].len(), 1);
        assert_eq!(p.failures[1].len(), 2);
        assert_eq!(p.batch.index, 3);
    }

    #[test]
    fn without_failures_every_scenario_is_a_pair() {
        let a = result(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[]);
        let b = result(vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0], &[]);
        let p = pair(a, b, &MatchedOutputs::of(&names(&["y"]), &names(&["y"])));
        assert_eq!(p.pairs, 6);
        assert_eq!(p.outputs[0].diff.mean, 3.5);
    }
}
