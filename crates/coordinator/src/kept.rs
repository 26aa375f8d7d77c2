//! The scenarios a job keeps whole (`simulation.keep`), gathered from its result batches in
//! scenario order: each batch's once, like everything else the aggregator counts, and only
//! those of the batches its summary covers.

use mcp_protocol::{KeptScenario, ModelInfo, ResultBatch};
use mcp_spec::{Keep, Spec};
use std::collections::BTreeMap;

/// A job's kept scenarios so far.
#[derive(Debug)]
pub(crate) struct KeptRows {
    keep: Keep,
    /// Most rows kept: for `"failed"`, those of lowest index beyond it are dropped.
    most: u64,
    /// Values in a row of inputs.
    inputs: usize,
    /// Outputs of the model.
    outputs: usize,
    rows: BTreeMap<u64, KeptScenario>,
}

impl KeptRows {
    /// What `spec` keeps of `info`'s model.
    pub(crate) fn new(info: &ModelInfo, spec: &Spec) -> KeptRows {
        let outputs = info.outputs.len();
        KeptRows {
            keep: spec.simulation.keep,
            most: spec.simulation.kept_rows(spec.kept_row_values(outputs)),
            inputs: info.width(),
            outputs,
            rows: BTreeMap::new(),
        }
    }

    /// Whether `result`'s kept scenarios are those the spec keeps of its batch: in the batch,
    /// in order, each with a whole row of inputs and its outputs or failure (the failure the
    /// batch reports).
    pub(crate) fn check(&self, result: &ResultBatch) -> Result<(), String> {
        let b = &result.batch;
        let (start, end) = (b.start, b.start + u64::from(b.count));
        // The failures are in scenario order (the aggregator checked that first).
        let failed = |s: u64| {
            let f = &result.failures;
            f.binary_search_by_key(&s, |f| f.scenario)
                .ok()
                .map(|i| &f[i])
        };
        let mut next = start;
        for k in &result.kept {
            let wrong = |what: &str| {
                Err(format!(
                    "batch {} keeps scenario {} {what}",
                    b.index, k.scenario
                ))
            };
            if k.scenario < next || k.scenario >= end {
                return wrong("out of order or outside the batch");
            }
            next = k.scenario + 1;
            let failure = failed(k.scenario);
            if !self.keep.keeps(k.scenario, failure.is_some()) {
                return wrong("that the spec does not keep");
            }
            let outputs = if failure.is_some() { 0 } else { self.outputs };
            if k.inputs.len() != self.inputs
                || k.outputs.len() != outputs
                || k.failure.as_ref() != failure
            {
                return wrong("with a row or an outcome unlike the batch's");
            }
        }
        // All of them: a consumer that kept fewer would leave a gap nobody sees.
        let expected = match self.keep {
            Keep::Nothing => 0,
            Keep::All => end - start,
            Keep::First(n) => n.min(end).saturating_sub(start),
            Keep::Failed => result.failures.len() as u64,
        };
        if expected != result.kept.len() as u64 {
            return Err(format!(
                "batch {} keeps {} scenarios where the spec keeps {expected}",
                b.index,
                result.kept.len()
            ));
        }
        Ok(())
    }

    /// Adds a counted batch's kept scenarios; past the bound, the highest indices go.
    pub(crate) fn add(&mut self, kept: Vec<KeptScenario>) {
        for k in kept {
            self.rows.insert(k.scenario, k);
            if self.rows.len() as u64 > self.most {
                self.rows.pop_last();
            }
        }
    }

    /// How many are kept so far.
    pub(crate) fn len(&self) -> u64 {
        self.rows.len() as u64
    }

    /// The kept scenarios, in scenario order.
    pub(crate) fn take(&mut self) -> Vec<KeptScenario> {
        std::mem::take(&mut self.rows).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregator::{Added, Aggregator};
    use mcp_protocol::{FailureKind, ResultBatch, ScenarioFailure};
    use mcp_spec::Keep;
    use mcp_testkit::fixtures::{keeping_all, model_info, result, spec};

    fn aggregator(keep: Keep) -> Aggregator {
        let mut s = spec(6, 2);
        s.simulation.keep = keep;
        Aggregator::new(model_info(), &s)
    }

    fn batch(index: u64) -> ResultBatch {
        keeping_all(result(index, 2, vec![index as f64, 0.5 + index as f64]))
    }

    #[test]
    fn kept_scenarios_come_out_in_scenario_order_once_whatever_the_arrivals() {
        let mut agg = aggregator(Keep::All);
        for i in [2, 0, 2, 1, 0] {
            agg.add(batch(i));
        }
        assert_eq!(agg.kept(), 6);
        let kept = agg.take_kept();
        let scenarios: Vec<u64> = kept.iter().map(|k| k.scenario).collect();
        assert_eq!(scenarios, [0, 1, 2, 3, 4, 5]);
        assert_eq!(kept[3].outputs, [1.5]);
        assert_eq!(kept[3].inputs, [1.0]);
    }

    #[test]
    fn keep_n_keeps_the_first_n_and_a_batch_keeping_others_is_refused() {
        let mut agg = aggregator(Keep::First(3));
        let mut first = batch(1);
        // Scenarios 2 and 3: only 2 is among the first 3.
        assert!(
            matches!(agg.add(first.clone()), Added::Rejected(why) if why.contains("batch 1 keeps scenario 3 that the spec does not keep"))
        );
        first.kept.truncate(1);
        assert_eq!(agg.add(first), Added::New);
        let mut none = batch(0);
        none.kept.clear();
        assert!(
            matches!(agg.add(none), Added::Rejected(why) if why.contains("batch 0 keeps 0 scenarios where the spec keeps 2"))
        );
        let mut forged = batch(0);
        forged.kept[0].inputs.push(2.0);
        assert!(
            matches!(agg.add(forged), Added::Rejected(why) if why.contains("with a row or an outcome unlike the batch's"))
        );
    }

    #[test]
    fn keep_failed_keeps_the_failed_scenarios_of_lowest_index() {
        let mut agg = aggregator(Keep::Failed);
        // Batch 1 (scenarios 2, 3): 3 failed.
        let mut b = result(1, 2, vec![7.0]);
        b.batch.count = 2;
        let failure = ScenarioFailure {
            scenario: 3,
            kind: FailureKind::Trap,
            message: "trap".into(),
        };
        b.failures = vec![failure.clone()];
        b.kept = vec![mcp_protocol::KeptScenario {
            scenario: 3,
            inputs: vec![1.0],
            outputs: vec![],
            failure: Some(failure),
        }];
        assert_eq!(agg.add(b.clone()), Added::New);
        let mut rows = super::KeptRows::new(&model_info(), &{
            let mut s = spec(6, 2);
            s.simulation.keep = Keep::Failed;
            s
        });
        rows.most = 1;
        let mut later = b.kept[0].clone();
        later.scenario = 5;
        rows.add(vec![later]);
        rows.add(b.kept.clone());
        assert_eq!(rows.take(), b.kept, "the lowest index stays");
        let kept = agg.take_kept();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].failure.as_ref().unwrap().kind, FailureKind::Trap);
    }

    #[test]
    fn the_history_keeps_them_across_a_restart_and_after_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.sqlite3");
        let mut a = mcp_testkit::fixtures::announcement("a", 6, 2, 1);
        a.spec.simulation.keep = Keep::All;
        let mut book = crate::Book::open(&db, 0).unwrap();
        book.announce(a, 1).unwrap();
        book.record(vec![("a".into(), batch(2))], 2).unwrap();
        drop(book);
        // Picked up from its recorded batches, the kept scenarios of batch 2 included.
        let mut book = crate::Book::open(&db, 3).unwrap();
        let batches = [1, 0, 2].map(|i| ("a".to_string(), batch(i)));
        book.record(batches.to_vec(), 4).unwrap();
        assert_eq!(book.ended("a").unwrap().kept_count, 6);
        assert!(
            book.ended("a").unwrap().kept.is_empty(),
            "held by the history alone"
        );
        let kept = book.kept("a").unwrap();
        let scenarios: Vec<u64> = kept.iter().map(|k| k.scenario).collect();
        assert_eq!(scenarios, [0, 1, 2, 3, 4, 5]);
        assert_eq!(kept[5].outputs, [2.5]);
        drop(book);
        let book = crate::Book::open(&db, 5).unwrap();
        assert_eq!(book.kept("a").unwrap(), kept);
        let reader = book.reader().unwrap();
        assert_eq!(reader.kept("a").unwrap(), kept);
        assert_eq!(reader.job("a").unwrap().unwrap().kept, 6);
    }

    #[test]
    fn a_job_its_rule_stopped_keeps_the_scenarios_of_its_prefix_alone() {
        let mut s = spec(6, 2);
        s.simulation.keep = Keep::All;
        // A precision never reached: the cap of 4 scenarios stops the job after batch 1.
        s.stop = Some(mcp_spec::StopRule {
            output: "y".into(),
            precision: mcp_spec::Precision::Ci95HalfWidth(1e-300),
            percentile: None,
            sobol: None,
            max_scenarios: Some(4),
            check_every: 1,
        });
        let mut agg = Aggregator::new(model_info(), &s);
        // Batch 2 arrives first (consumers run ahead) and is held, never folded.
        for i in [2, 0, 1] {
            assert_eq!(agg.add(batch(i)), Added::New);
        }
        assert!(agg.stopped().is_some());
        let scenarios: Vec<u64> = agg.take_kept().iter().map(|k| k.scenario).collect();
        assert_eq!(scenarios, [0, 1, 2, 3]);
    }
}
