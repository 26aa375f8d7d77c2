//! Counting a job's result batches: each once, however often it is delivered, with moments
//! (and a Saltelli design's Sobol sums) and the tornado's rank correlations merged in batch
//! order and values kept for exact percentiles (or sketched, past [`EXACT_PERCENTILE_VALUES`]),
//! so the summary is bit-identical for any number of consumers and any arrival order. The
//! convergence series of each output is sampled from the moments as they merge, in batch
//! order, so it is too.

use crate::kept::KeptRows;
use crate::stopping::Stopping;
use mcp_protocol::{
    FailureTally, JobSummary, KeptScenario, ModelInfo, ModelRef, OutputSummaries, Provenance,
    ResultBatch,
};
use mcp_spec::{Simulation, Spec, StopReason};
use mcp_stats::{
    BucketCounts, Convergence, EXACT_PERCENTILE_VALUES, ExceedanceCounts, Moments, RiskAsk, Sketch,
    SobolSummary, SobolSums, TornadoBatch, TornadoSums, summarize, summarize_sketch,
};
use std::collections::BTreeMap;

/// Whether a result batch was new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Counted.
    New,
    /// Seen before (a redelivery or a republished batch): ignored.
    Duplicate,
    /// Not a consistent result of one of this job's batches (see [`Aggregator::check`]):
    /// ignored, and why.
    Rejected(String),
}

/// Progress of a job, cheap to read at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Scenarios evaluated (succeeded or failed).
    pub scenarios: u64,
    /// Scenarios that failed.
    pub failed: u64,
    /// Scenarios in the job.
    pub total: u64,
}

/// Aggregates the results of one job.
#[derive(Debug)]
pub struct Aggregator {
    info: ModelInfo,
    seed: u64,
    /// What the job's result depends on, for its summary.
    provenance: Provenance,
    simulation: Simulation,
    next_batch: u64,
    pending: BTreeMap<u64, Partial>,
    merged: Vec<Moments>,
    /// Per output, the running mean as `merged` grew.
    convergence: Vec<Convergence>,
    /// Per output, the Sobol sums of the batches merged, when the spec asks for the indices
    /// (`None` otherwise).
    sobol: Option<Vec<SobolSums>>,
    /// The batches' rank correlations, added in batch order.
    tornado: TornadoSums,
    kept: Kept,
    /// Per output, the counts above the thresholds of its `[outputs.NAME]` table (integers,
    /// added batch by batch in any order).
    exceedance: Vec<ExceedanceCounts>,
    /// Per output, the VaR and CVaR levels of its `[outputs.NAME]` table.
    levels: Vec<Vec<f64>>,
    /// Scenarios folded into the summary.
    scenarios: u64,
    /// Scenarios of the batches counted (folded or held).
    arrived: u64,
    failures: FailureTally,
    /// The spec's `[stop]` rule and the batches it holds, if it has one.
    stopping: Option<Stopping>,
    /// The scenarios the spec keeps whole, from the batches folded into the summary.
    scenarios_kept: KeptRows,
}

/// What a batch adds to the sums merged in batch order (floating-point sums are the same bits
/// only in the same order).
#[derive(Debug)]
struct Partial {
    moments: Vec<Moments>,
    sobol: Vec<SobolSums>,
    tornado: Option<TornadoBatch>,
}

/// What an aggregator keeps of the values, for the percentiles.
#[derive(Debug)]
enum Kept {
    /// Per output, the values of every batch as the batches delivered them (no copy), and
    /// their bucket counts (the first pass of percentile selection): exact percentiles.
    /// `batches` holds the index of each delivered batch, so that the values can be read in
    /// scenario order at the end (CVaR sums in that order).
    Values {
        values: Vec<Vec<Vec<f64>>>,
        counts: Vec<BucketCounts>,
        batches: Vec<u64>,
    },
    /// Per output, a sketch of the values, for jobs of more than [`EXACT_PERCENTILE_VALUES`]
    /// values (decided from the spec, so the same for every run of it).
    Sketches(Vec<Sketch>),
}

impl Aggregator {
    /// An aggregator for a job running `info`'s model under `spec`.
    pub fn new(info: ModelInfo, spec: &Spec) -> Aggregator {
        let sim = spec.simulation;
        let n_out = info.outputs.len();
        let kept = if sim.scenarios.saturating_mul(n_out as u64) > EXACT_PERCENTILE_VALUES {
            Kept::Sketches(vec![Sketch::default(); n_out])
        } else {
            Kept::Values {
                values: vec![Vec::new(); n_out],
                counts: vec![BucketCounts::default(); n_out],
                batches: Vec::new(),
            }
        };
        let risk = |name: &String| spec.output_risk(name).cloned().unwrap_or_default();
        let exceedance = info
            .outputs
            .iter()
            .map(|name| ExceedanceCounts::new(&risk(name).thresholds))
            .collect();
        let levels = info.outputs.iter().map(|name| risk(name).var).collect();
        Aggregator {
            kept,
            exceedance,
            levels,
            seed: sim.seed,
            provenance: Provenance::of(&info, spec),
            simulation: sim,
            next_batch: 0,
            pending: BTreeMap::new(),
            merged: vec![Moments::default(); n_out],
            convergence: vec![Convergence::default(); n_out],
            sobol: spec.sensitivity.map(|_| vec![SobolSums::default(); n_out]),
            tornado: TornadoSums::default(),
            scenarios: 0,
            arrived: 0,
            failures: FailureTally::default(),
            stopping: Stopping::of(&info, spec),
            scenarios_kept: KeptRows::new(&info, spec),
            info,
        }
    }

    /// Counts a result batch, unless it was counted before.
    pub fn add(&mut self, result: ResultBatch) -> Added {
        if let Err(reason) = self.check(&result) {
            return Added::Rejected(reason);
        }
        let index = result.batch.index;
        if self.has(index) {
            return Added::Duplicate;
        }
        self.arrived += u64::from(result.batch.count);
        if let Some(stopping) = &mut self.stopping {
            stopping.hold(result);
            self.fold_prefix();
            return Added::New;
        }
        let partial = self.fold(result);
        self.pending.insert(index, partial);
        while let Some(partial) = self.pending.remove(&self.next_batch) {
            self.merge(self.next_batch, &partial);
            self.next_batch += 1;
        }
        Added::New
    }

    /// Folds a batch's scenarios, failures, exceedances and values into the summary; its
    /// moments and Sobol sums are the caller's to merge in batch order.
    fn fold(&mut self, result: ResultBatch) -> Partial {
        let index = result.batch.index;
        self.scenarios += u64::from(result.batch.count);
        self.failures.add(&result.failures);
        self.scenarios_kept.add(result.kept);
        for (exceedance, batch) in self.exceedance.iter_mut().zip(&result.values) {
            exceedance.add(batch);
        }
        match &mut self.kept {
            Kept::Values {
                values,
                counts,
                batches,
            } => {
                batches.push(index);
                for ((all, counts), batch) in values.iter_mut().zip(counts).zip(result.values) {
                    counts.add(&batch);
                    all.push(batch);
                }
            }
            Kept::Sketches(sketches) => {
                for (sketch, batch) in sketches.iter_mut().zip(&result.values) {
                    sketch.add(batch);
                }
            }
        }
        Partial {
            moments: result.moments,
            sobol: result.sobol,
            tornado: result.tornado,
        }
    }

    /// Merges batch `index`'s moments, Sobol sums and rank correlations into the job's: in
    /// batch order.
    fn merge(&mut self, index: u64, partial: &Partial) {
        for ((merged, series), m) in self
            .merged
            .iter_mut()
            .zip(&mut self.convergence)
            .zip(&partial.moments)
        {
            merged.merge(m);
            series.record(index, merged);
        }
        if let Some(sobol) = &mut self.sobol {
            for (merged, s) in sobol.iter_mut().zip(&partial.sobol) {
                merged.merge(s);
            }
        }
        if let Some(tornado) = &partial.tornado {
            self.tornado.add(tornado);
        }
    }

    /// With a `[stop]` rule: folds the held batches that extend the prefix, judging the rule
    /// after each, until one is missing or the rule stops the job.
    fn fold_prefix(&mut self) {
        while let Some(result) = self.stopping.as_mut().and_then(|s| s.next(self.next_batch)) {
            let partial = self.fold(result);
            self.merge(self.next_batch, &partial);
            self.next_batch += 1;
            let (batches, scenarios) = (self.next_batch, self.scenarios);
            let total = self.simulation.scenarios;
            if let Some(stopping) = &mut self.stopping {
                let sobol = self.sobol.as_deref().unwrap_or_default();
                stopping.judge(batches, scenarios, total, &self.merged, sobol);
            }
        }
    }

    /// Why the spec's `[stop]` rule stopped the job, once it has: the summary is then that of
    /// the prefix it was judged on.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopping.as_ref().and_then(Stopping::reason)
    }

    /// Whether `result` is a consistent result of one of this job's batches: the batch's
    /// range is the one its index has under the spec, there are moments and values for each
    /// output, one value per successful scenario, the failures lie in the batch, in order, and
    /// its rank correlations, if any, are one per (output, input) pair, in [−1, 1].
    /// A result that is not would make the summary wrong without failing anything, so it is
    /// never counted (a consumer of another mcp version, or a forged message).
    pub fn check(&self, result: &ResultBatch) -> Result<(), String> {
        let b = &result.batch;
        self.simulation.check_batch(b.index, b.start, b.count)?;
        let (start, count) = (b.start, u64::from(b.count));
        let outputs = self.info.outputs.len();
        if result.moments.len() != outputs || result.values.len() != outputs {
            return Err(format!(
                "batch {} has {} moments and {} value columns for {outputs} outputs",
                b.index,
                result.moments.len(),
                result.values.len()
            ));
        }
        if self.sobol.is_some() {
            let groups = self.info.inputs.len();
            if result.sobol.len() != outputs
                || result.sobol.iter().any(|s| s.groups.len() != groups)
            {
                return Err(format!(
                    "batch {} lacks the Sobol sums of {outputs} outputs over {groups} inputs that \
                     the job's [sensitivity] asks for",
                    b.index
                ));
            }
        }
        let mut next = start;
        for f in &result.failures {
            if f.scenario < next || f.scenario >= start + count {
                return Err(format!(
                    "batch {} reports scenario {} failed, out of order or outside the batch",
                    b.index, f.scenario
                ));
            }
            next = f.scenario + 1;
        }
        self.scenarios_kept.check(result)?;
        let succeeded = count - result.failures.len() as u64;
        for ((name, values), moments) in self
            .info
            .outputs
            .iter()
            .zip(&result.values)
            .zip(&result.moments)
        {
            if values.len() as u64 != succeeded || moments.count != succeeded {
                return Err(format!(
                    "batch {} has {} values and moments of {} for output `{name}`, which {succeeded} \
                     scenarios produced",
                    b.index,
                    values.len(),
                    moments.count
                ));
            }
        }
        if let Some(tornado) = &result.tornado {
            tornado
                .check(self.info.inputs.len(), outputs, succeeded)
                .map_err(|e| format!("batch {} has {e}", b.index))?;
        }
        Ok(())
    }

    /// Whether batch `index` has been counted.
    pub fn has(&self, index: u64) -> bool {
        // Batches are merged in order: those before `next_batch` are counted, and those after
        // it wait in `pending`. Nothing here grows with the number of batches in the job.
        index < self.next_batch
            || self.pending.contains_key(&index)
            || self.stopping.as_ref().is_some_and(|s| s.holds(index))
    }

    /// Scenarios done so far.
    pub fn progress(&self) -> Progress {
        Progress {
            scenarios: self.arrived,
            failed: self.failures.total(),
            total: self.simulation.scenarios,
        }
    }

    /// Whether every batch of the job has been counted.
    pub fn is_complete(&self) -> bool {
        self.scenarios == self.simulation.scenarios
    }

    /// Failures per kind and the first few failed scenarios.
    pub fn failures(&self) -> &FailureTally {
        &self.failures
    }

    /// How many scenarios are kept whole so far (`simulation.keep`).
    pub fn kept(&self) -> u64 {
        self.scenarios_kept.len()
    }

    /// Folds what is still held back into the summary, for a job that ends now (see
    /// [`into_summary`](Aggregator::into_summary)); nothing more is held afterwards.
    fn fold_rest(&mut self) {
        // A job with a rule that ended another way: what it held joins in batch order too. One
        // the rule stopped keeps its prefix alone.
        for result in self.stopping.as_mut().map_or_else(Vec::new, Stopping::rest) {
            let index = result.batch.index;
            let partial = self.fold(result);
            self.merge(index, &partial);
        }
        let pending = std::mem::take(&mut self.pending);
        for (index, partial) in pending {
            self.merge(index, &partial);
        }
    }

    /// The scenarios kept whole from the batches the summary covers, in scenario order, for a
    /// job that ends now; they leave the aggregator.
    pub fn take_kept(&mut self) -> Vec<KeptScenario> {
        self.fold_rest();
        self.scenarios_kept.take()
    }

    /// The final summary. Batches still held back (a job stopped early, with gaps) are merged
    /// in batch order, so even a partial summary is deterministic for its set of batches.
    pub fn into_summary(mut self, elapsed_s: f64) -> JobSummary {
        let stopped = self.stopped();
        self.fold_rest();
        let sobol = self
            .sobol
            .as_ref()
            .map(|sums| SobolSummary::of(&self.info.inputs, &self.info.outputs, sums));
        let asks: Vec<RiskAsk<'_>> = self
            .levels
            .iter()
            .zip(&self.exceedance)
            .map(|(levels, exceedance)| RiskAsk {
                levels,
                exceedance: Some(exceedance),
            })
            .collect();
        let summaries: Vec<_> = match &self.kept {
            Kept::Sketches(sketches) => self
                .merged
                .iter()
                .zip(sketches)
                .zip(&asks)
                .map(|((moments, sketch), &ask)| summarize_sketch(moments, sketch, ask))
                .collect(),
            // One thread per output: selecting percentiles is the last big step of a job.
            Kept::Values {
                values,
                counts,
                batches,
            } => {
                // The batches' positions in batch order: the values in scenario order.
                let mut order: Vec<usize> = (0..batches.len()).collect();
                order.sort_unstable_by_key(|&i| batches[i]);
                let order = &order;
                std::thread::scope(|scope| {
                    let handles: Vec<_> = self
                        .merged
                        .iter()
                        .zip(values.iter().zip(counts))
                        .zip(&asks)
                        .map(|((moments, (values, counts)), &ask)| {
                            scope.spawn(move || {
                                let ordered: Vec<&[f64]> =
                                    order.iter().map(|&i| values[i].as_slice()).collect();
                                summarize(moments, &ordered, counts, ask)
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("summary thread"))
                        .collect()
                })
            }
        };
        let convergence = std::mem::take(&mut self.convergence);
        let summaries = summaries
            .into_iter()
            .zip(convergence.into_iter().zip(&self.merged))
            .map(|(mut summary, (series, merged))| {
                summary.convergence = series.finish(merged);
                summary
            });
        let outputs = self.info.outputs.iter().cloned().zip(summaries).collect();
        let tornado = self.tornado.finish(&self.info.inputs, &self.info.outputs);
        JobSummary {
            model: ModelRef {
                name: self.info.name.clone(),
                version: self.info.version.clone(),
                digest: self.info.digest.clone(),
            },
            seed: self.seed,
            scenarios: self.scenarios,
            failed: self.failures.total(),
            elapsed_s,
            outputs: OutputSummaries(outputs),
            provenance: Some(self.provenance),
            stopped,
            sobol,
            tornado,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("has 1 moments and 2 value columns for 1 outputs", |r| {
                r.values.push(vec![])
            }),
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
}
