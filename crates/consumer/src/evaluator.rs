//! Evaluating one batch: its inputs generated from the spec a sandbox call's worth at a time,
//! run in the job's model, each output summarised into moments, and the tornado's rank
//! correlations of the outputs with the inputs.

use crate::tornado::InputColumns;
use mcp_protocol::{JobModel, ResultBatch, ScenarioBatch};
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{ModelRunner, RunLimits, Sandbox};
use mcp_spec::Simulation;
use mcp_stats::Moments;
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
        let tornado = Some(InputColumns::new(model.info()));
        let runner = ModelRunner::with_abort(model, limits, abort).map_err(anyhow::Error::msg)?;
        Ok(Evaluator {
            runner,
            generator,
            simulation: job.spec.simulation,
            inputs: Vec::new(),
            tornado,
            fuel_used: 0,
        })
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
        let mut done = 0;
        if let Some(tornado) = &mut self.tornado {
            tornado.start(count);
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
        let tornado = self
            .tornado
            .as_mut()
            .and_then(|t| t.finish(batch.start, &failures, &values));
        Some(ResultBatch {
            batch,
            moments,
            values,
            failures,
            eval_seconds: started.elapsed().as_secs_f64(),
            tornado,
        })
    }
}
