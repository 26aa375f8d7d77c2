//! How many consecutive batches travel in one message. A broker spends about the same CPU on a
//! message whatever it holds (RabbitMQ: about 0.2 ms per persistent message here), so a spec's
//! small batches would make the broker the bottleneck; packing them changes nothing else, since
//! each batch is still evaluated and counted as if it had come alone.
//!
//! The producer sizes messages from a quick timing of the model (a few calls of a few scenarios,
//! on its own machine): about [`WORK_PER_MESSAGE`] of evaluation each, bounded so that a
//! message's results stay well under the broker's message limit, a message lost or redelivered
//! re-does bounded work, and a job still makes enough messages for a fleet to share.

use mcp_protocol::{JobModel, MAX_BATCHES_PER_RUN};
use mcp_sampling::ScenarioGenerator;
use mcp_sandbox::{ModelRunner, RunLimits, Sandbox};
use mcp_spec::Simulation;
use std::time::{Duration, Instant};

/// The evaluation time one message aims at: long next to the broker's cost per message, short
/// next to a job.
pub const WORK_PER_MESSAGE: Duration = Duration::from_millis(50);
/// Most output values one message's results carry (8 MiB in the largest, raw, encoding).
pub const MAX_VALUES_PER_MESSAGE: u64 = 1 << 20;
/// Fewest messages a job of enough batches is split into, so that consumers share it.
pub const MIN_MESSAGES_PER_JOB: u64 = 16;
/// A timing call stops growing once it takes this long.
const TIMING_CALL: Duration = Duration::from_millis(2);

/// How a job's batches are packed into messages, and what decided it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packing {
    /// Batches per message (the last message of a job, or one before a skipped batch, may hold
    /// fewer).
    pub per_message: u32,
    /// The model's time per scenario as timed, when it could be.
    pub seconds_per_scenario: Option<f64>,
}

impl Packing {
    /// One batch per message: the seed design's shape, and what an embedded run uses.
    pub const ONE: Packing = Packing {
        per_message: 1,
        seconds_per_scenario: None,
    };

    /// The packing of `job`, timed in `sandbox`, for messages of at most `message_bytes`.
    pub fn of(sandbox: &Sandbox, job: &JobModel, message_bytes: usize) -> Packing {
        let seconds_per_scenario = seconds_per_scenario(sandbox, job);
        Packing {
            per_message: batches_per_message(
                &job.spec.simulation,
                job.info.outputs.len(),
                seconds_per_scenario,
                message_bytes,
            ),
            seconds_per_scenario,
        }
    }
}

/// Batches per message for a job of `simulation` with a model of `outputs` outputs taking
/// `seconds_per_scenario` (one batch per message when it is unknown), in messages of at most
/// `message_bytes`.
pub fn batches_per_message(
    simulation: &Simulation,
    outputs: usize,
    seconds_per_scenario: Option<f64>,
    message_bytes: usize,
) -> u32 {
    let batch = u64::from(simulation.batch.max(1));
    let by_work = match seconds_per_scenario {
        Some(s) if s > 0.0 => (WORK_PER_MESSAGE.as_secs_f64() / (s * batch as f64)) as u64,
        Some(_) => u64::MAX,
        None => 1,
    };
    // Raw values take at most half a message: failures and kept scenarios are bounded per
    // batch, and a consumer splits an answer that would not fit.
    let values = MAX_VALUES_PER_MESSAGE.min(message_bytes as u64 / 16);
    let by_size = values / (batch * outputs.max(1) as u64);
    let by_fleet = simulation.batches().div_ceil(MIN_MESSAGES_PER_JOB);
    let per_message = by_work
        .min(by_size)
        .min(by_fleet)
        .clamp(1, MAX_BATCHES_PER_RUN);
    u32::try_from(per_message).unwrap_or(u32::MAX)
}

/// The model's time per scenario, inputs generated included: calls of 1, 4, 16… of the job's
/// first scenarios until one takes [`TIMING_CALL`] or reaches a batch, after a first call
/// that instantiates. `None` when the model cannot run here.
pub fn seconds_per_scenario(sandbox: &Sandbox, job: &JobModel) -> Option<f64> {
    let limits = RunLimits::from_spec(&job.spec.limits);
    let model = sandbox.load(&job.wasm, &limits).ok()?;
    let generator = ScenarioGenerator::new(&job.spec, &model.info().inputs).ok()?;
    let mut runner = ModelRunner::new(model, limits).ok()?;
    let sim = job.spec.simulation;
    let most = runner
        .scenarios_per_call()
        .min(sim.batch as usize)
        .min(usize::try_from(sim.scenarios).unwrap_or(usize::MAX))
        .max(1);
    let mut inputs = Vec::new();
    let mut warm = false;
    let mut n = 1;
    loop {
        let started = Instant::now();
        generator.fill(0, n, &mut inputs);
        let outcome = runner.run_batch(0, n, &inputs);
        let took = started.elapsed();
        if outcome.aborted {
            return None;
        }
        // The first call also instantiates: a model slow enough to show it is timed from it.
        if warm || took >= TIMING_CALL * 5 {
            if took >= TIMING_CALL || n >= most {
                return Some(took.as_secs_f64() / n as f64);
            }
            n = (n * 4).min(most);
        }
        warm = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::simulation;

    #[test]
    fn messages_hold_tens_of_milliseconds_of_work_within_bounds() {
        let sim = simulation(100_000_000, 1024);
        let mib16 = 16 << 20;
        // 100 ns a scenario: 50 ms is 488 batches of 1024.
        assert_eq!(batches_per_message(&sim, 1, Some(100e-9), mib16), 488);
        // A fast model with two outputs: bounded by 2^20 values a message.
        assert_eq!(batches_per_message(&sim, 2, Some(1e-9), mib16), 512);
        // A smaller message limit lowers it.
        assert_eq!(batches_per_message(&sim, 2, Some(1e-9), 4 << 20), 128);
        // A slow model, or one not timed: one batch a message.
        assert_eq!(batches_per_message(&sim, 1, Some(1e-3), mib16), 1);
        assert_eq!(batches_per_message(&sim, 1, None, mib16), 1);
        // A short job still makes 16 messages when it has the batches.
        let short = simulation(1_000_000, 1024);
        assert_eq!(batches_per_message(&short, 1, Some(1e-9), mib16), 62);
        // Batches of one scenario: bounded by the run's length.
        let tiny = simulation(u64::MAX / 2, 1);
        assert_eq!(batches_per_message(&tiny, 1, Some(1e-9), mib16), 1 << 16);
    }
}
