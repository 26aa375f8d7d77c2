//! Evaluating one batch: its inputs generated from the spec a sandbox call's worth at a time,
//! run in the job's model, each output summarised into moments, and the tornado's rank
//! correlations of the outputs with the inputs (or, for a Saltelli design, the Sobol sums of
//! the batch's rows instead); in sketch mode the values themselves become a sketch.

use crate::tornado::InputColumns;
use mcp_protocol::{JobModel, KeptScenario, ResultBatch, ScenarioBatch, ScenarioFailure, Sketcher};
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{ModelRunner, RunLimits, Sandbox};
use mcp_spec::{Keep, Simulation};
use mcp_stats::{Moments, SobolSums};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Evaluates batches of one job's model.
#[derive(Debug)]
pub struct Evaluator {
    runner: ModelRunner,
    generator: ScenarioGenerator,
    simulation: Simulation,
    inputs: Vec<f64>,
    /// The batch's inputs set aside for the tornado; `None` when it is not wanted.
    tornado: Option<InputColumns>,
    /// Fuel the last batch used.
    fuel_used: u64,
    /// The number of input groups of the job's Saltelli design, when it has one.
    sobol_groups: Option<usize>,
    /// What the job's spec and outputs say about sketching, kept for [`Evaluator::sketching`].
    sketcher: Option<Sketcher>,
    /// Whether results go out sketched (see [`Evaluator::sketching`]).
    sketch: bool,
}

impl Evaluator {
    /// Loads (or finds compiled) the job's model and prepares its input generator; setting
    /// `abort` interrupts a batch in flight.
    pub fn new(
        sandbox: &Sandbox,
        job: &JobModel,
        abort: Option<Arc<AtomicBool>>,
    ) -> anyhow::Result<Evaluator> {
        job.check().map_err(anyhow::Error::msg)?;
        let limits = RunLimits::from_spec(&job.spec.limits);
        let model = sandbox.load(&job.wasm, &limits)?;
        let generator = ScenarioGenerator::new(&job.spec, &model.info().inputs)?;
        let sobol_groups = job.spec.sensitivity.map(|_| model.info().inputs.len());
        // A Saltelli design's rows are not a sample of the inputs: no tornado from them.
        let tornado = sobol_groups
            .is_none()
            .then(|| InputColumns::new(model.info()));
        let sketcher = Sketcher::of(&job.spec, &model.info().outputs);
        let runner = ModelRunner::with_abort(model, limits, abort).map_err(anyhow::Error::msg)?;
        Ok(Evaluator {
            runner,
            generator,
            simulation: job.spec.simulation,
            inputs: Vec::new(),
            tornado,
            fuel_used: 0,
            sobol_groups,
            sketcher,
            sketch: false,
        })
    }

    /// This evaluator, sending each batch's outputs as a sketch instead of values when the
    /// job's percentiles come from a sketch ([`mcp_protocol::sketched`]): what a consumer does,
    /// so that the coordinator merges buckets instead of adding values. Off by default, for
    /// callers that read the values themselves (`mcp replay`, `mcp compare`).
    pub fn sketching(mut self) -> Evaluator {
        self.sketch = true;
        self
    }

    /// This evaluator, computing no rank correlations (`mcp compare`, which shows none).
    pub fn without_tornado(mut self) -> Evaluator {
        self.tornado = None;
        self
    }

    /// Checks that `batch` is one of the job's batches (a forged count would otherwise size
    /// the result), saying how it differs when it is not.
    pub fn check(&self, batch: &ScenarioBatch) -> Result<(), String> {
        self.simulation
            .check_batch(batch.index, batch.start, batch.count)
    }

    /// The inputs of scenario `index`, row-major as the model receives them (what
    /// [`evaluate`](Evaluator::evaluate) generates for it, computed alone).
    pub fn inputs(&self, index: u64) -> Vec<f64> {
        self.generator.scenario(index)
    }

    /// Fuel the last batch used, retries included.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }

    /// Generates and evaluates one batch; `None` when it was aborted midway.
    ///
    /// A large batch is generated and evaluated a call's worth of scenarios at a time, so its
    /// inputs stay in the CPU's cache between the two.
    pub fn evaluate(&mut self, batch: ScenarioBatch) -> Option<ResultBatch> {
        let started = Instant::now();
        self.fuel_used = 0;
        let count = batch.count as usize;
        let mut values: Vec<Vec<f64>> = Vec::new();
        let mut failures = Vec::new();
        let mut kept = Vec::new();
        let mut done = 0;
        if let Some(tornado) = &mut self.tornado {
            tornado.start(batch.index, count);
        }
        while done < count || done == 0 {
            let n = (count - done).min(self.runner.scenarios_per_call());
            let first = batch.start + done as u64;
            self.generator.fill(first, n, &mut self.inputs);
            let outcome = self.runner.run_batch(first, n, &self.inputs);
            if let Some(tornado) = &mut self.tornado {
                tornado.push(&self.inputs);
            }
            self.fuel_used += outcome.fuel_used;
            if outcome.aborted {
                return None;
            }
            self.keep(first, n, &outcome.columns, &outcome.failures, &mut kept);
            if done == 0 {
                values = outcome.columns;
                for column in &mut values {
                    column.reserve(count - n);
                }
            } else {
                for (all, part) in values.iter_mut().zip(&outcome.columns) {
                    all.extend_from_slice(part);
                }
            }
            failures.extend(outcome.failures);
            done += n.max(1);
        }
        let moments = values.iter().map(|c| Moments::of_slice(c)).collect();
        let sobol = match self.sobol_groups {
            Some(groups) => {
                let failed: Vec<usize> = failures
                    .iter()
                    .map(|f| (f.scenario - batch.start) as usize)
                    .collect();
                values
                    .iter()
                    .map(|column| SobolSums::of_batch(column, &failed, count, groups))
                    .collect()
            }
            None => Vec::new(),
        };
        let tornado = self
            .tornado
            .as_mut()
            .and_then(|t| t.finish(batch.start, &failures, &values));
        let mut result = ResultBatch {
            batch,
            moments,
            values,
            failures,
            eval_seconds: 0.0,
            sobol,
            kept,
            tornado,
            sketches: Vec::new(),
        };
        if let (true, Some(sketcher)) = (self.sketch, &mut self.sketcher) {
            sketcher.sketch(&mut result);
        }
        result.eval_seconds = started.elapsed().as_secs_f64();
        Some(result)
    }

    /// Adds the scenarios `first..first + n` of one sandbox call that the spec keeps to
    /// `kept`: each one's row of inputs (still in `self.inputs`) with its outputs (`columns`
    /// hold the successful scenarios' values in order) or its failure.
    fn keep(
        &self,
        first: u64,
        n: usize,
        columns: &[Vec<f64>],
        failures: &[ScenarioFailure],
        kept: &mut Vec<KeptScenario>,
    ) {
        let keep = self.simulation.keep;
        let nothing = match keep {
            Keep::Nothing => true,
            Keep::First(last) => first >= last,
            Keep::Failed => failures.is_empty(),
            Keep::All => false,
        };
        if nothing || n == 0 {
            return;
        }
        let width = self.inputs.len() / n;
        let mut failed = failures.iter().peekable();
        let mut succeeded = 0;
        for k in 0..n {
            let scenario = first + k as u64;
            let failure = failed.next_if(|f| f.scenario == scenario);
            if keep.keeps(scenario, failure.is_some()) {
                kept.push(KeptScenario {
                    scenario,
                    inputs: self.inputs[k * width..(k + 1) * width].to_vec(),
                    outputs: match failure {
                        Some(_) => Vec::new(),
                        None => columns.iter().map(|c| c[succeeded]).collect(),
                    },
                    failure: failure.cloned(),
                });
            }
            if failure.is_none() {
                succeeded += 1;
            }
        }
    }
}
