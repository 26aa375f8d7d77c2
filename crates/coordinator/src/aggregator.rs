//! Counting a job's result batches: each once, however often it is delivered, with moments
//! (and a Saltelli design's Sobol sums) and the tornado's rank correlations merged in batch
//! order and values kept for exact percentiles (or sketched, by the consumers or here, in
//! sketch mode: see [`mcp_protocol::sketched`]), so the summary is bit-identical for any number of consumers and any arrival order. The
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
    BucketCounts, Convergence, ExceedanceCounts, Moments, RiskAsk, Sketch, SobolSummary, SobolSums,
    TornadoBatch, TornadoSums, summarize, summarize_sketch,
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
    /// Per output, a sketch of the values, for jobs of more than
    /// [`EXACT_PERCENTILE_VALUES`](mcp_stats::EXACT_PERCENTILE_VALUES) values or whose spec asks
    /// for one ([`mcp_protocol::sketched`]: decided from the spec, so the same for every run of
    /// it).
    Sketches(Vec<Sketch>),
}

impl Aggregator {
    /// An aggregator for a job running `info`'s model under `spec`.
    pub fn new(info: ModelInfo, spec: &Spec) -> Aggregator {
        let sim = spec.simulation;
        let n_out = info.outputs.len();
        let kept = if mcp_protocol::sketched(spec, n_out) {
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
        for (exceedance, column) in self.exceedance.iter_mut().zip(&result.sketches) {
            exceedance.merge(&column.above);
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
            // Values or the consumer's sketch of them: the same sketch, bit for bit.
            Kept::Sketches(sketches) => {
                for (sketch, batch) in sketches.iter_mut().zip(&result.values) {
                    sketch.add(batch);
                }
                for (sketch, column) in sketches.iter_mut().zip(&result.sketches) {
                    sketch.merge(&column.part);
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
    /// range is the one its index has under the spec, there are moments and values (or, in
    /// sketch mode, a sketch and counts above each threshold) for each output, one value per
    /// successful scenario, the failures lie in the batch, in order, and
    /// its rank correlations, if any, are one per (output, input) pair, in [−1, 1].
    /// A result that is not would make the summary wrong without failing anything, so it is
    /// never counted (a consumer of another mcp version, or a forged message).
    pub fn check(&self, result: &ResultBatch) -> Result<(), String> {
        let b = &result.batch;
        self.simulation.check_batch(b.index, b.start, b.count)?;
        let (start, count) = (b.start, u64::from(b.count));
        let outputs = self.info.outputs.len();
        let sketched = !result.sketches.is_empty();
        let columns = result.values.len() + result.sketches.len();
        if result.moments.len() != outputs || columns != outputs {
            return Err(format!(
                "batch {} has {} moments and {columns} value columns or sketches for {outputs} \
                 outputs",
                b.index,
                result.moments.len(),
            ));
        }
        if sketched && matches!(self.kept, Kept::Values { .. }) {
            return Err(format!(
                "batch {} is sketched, but the job's percentiles are exact from every value",
                b.index
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
        let counts = (result.values.iter().map(|v| v.len() as u64))
            .chain(result.sketches.iter().map(|c| c.part.count()));
        for ((name, values), moments) in self.info.outputs.iter().zip(counts).zip(&result.moments) {
            if values != succeeded || moments.count != succeeded {
                return Err(format!(
                    "batch {} has {values} values and moments of {} for output `{name}`, which \
                     {succeeded} scenarios produced",
                    b.index, moments.count
                ));
            }
        }
        for ((name, column), exceedance) in (self.info.outputs.iter())
            .zip(&result.sketches)
            .zip(&self.exceedance)
        {
            let thresholds = exceedance.above().len();
            if column.above.len() != thresholds || column.above.iter().any(|&n| n > succeeded) {
                return Err(format!(
                    "batch {} counts {:?} values of output `{name}` above its {thresholds} \
                     thresholds, of {succeeded} values",
                    b.index, column.above
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
mod tests;
