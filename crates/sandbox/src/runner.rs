//! Evaluating scenario batches in one model instance, scenario failures isolated.

use crate::bindings::exports::mcp::model::evaluate::{BatchOutput, Info};
use crate::host::HostState;
use crate::{EPOCH_TICK, LoadedModel, bindings};
use mcp_protocol::{FailureKind, ScenarioFailure, clip};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Store, Trap};

/// Most scenarios handed to the model in one call. A batch may be far larger (big batches
/// make fewer, cheaper messages over RabbitMQ); calls this size keep the rows copied into and
/// out of the model's memory in the CPU's cache, and that memory small whatever the batch.
pub const MAX_SCENARIOS_PER_CALL: usize = 4096;
/// Most input values handed to the model in one call (2 MiB): models with vector inputs get
/// fewer scenarios per call, so one call's inputs stay small next to the model's memory.
pub const MAX_VALUES_PER_CALL: usize = 1 << 18;

/// Most bytes the host copies out of `describe()`: the longest valid description (4,096 input
/// and 1,024 output names of 256 bytes, with the host's 24 bytes of bookkeeping per name) fits.
/// Names that overlap in the model's memory are each copied, so without this cap a model of a
/// few MiB could make the host copy gigabytes.
pub const MAX_DESCRIBE_COPY_BYTES: usize = 2 << 20;
/// Most bytes of a model's failure message the host copies out of one call; a longer one fails
/// the call. What is kept of a message is cut further, to [`MAX_FAILURE_MESSAGE_BYTES`].
pub const MAX_FAILURE_COPY_BYTES: usize = 64 << 10;
/// The longest failure message kept, in bytes (the same cut the job's tally makes).
pub const MAX_FAILURE_MESSAGE_BYTES: usize = mcp_protocol::FailureTally::MESSAGE_BYTES;
/// Most component-model handles an instance may hold at once (wasmtime allows 100,000).
const MAX_COMPONENT_HANDLES: usize = 10_000;

/// Limits on each scenario a runner evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Fuel per scenario; a batch of `n` scenarios gets `n` times this.
    pub fuel_per_scenario: u64,
    /// Largest linear memory of the instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock limit per scenario; a batch of `n` scenarios gets `n` times this.
    pub scenario_timeout: Duration,
}

impl RunLimits {
    /// The limits a spec asks for.
    pub fn from_spec(limits: &mcp_spec::Limits) -> RunLimits {
        RunLimits {
            fuel_per_scenario: limits.fuel_per_scenario,
            memory_bytes: (limits.memory_mib as usize) << 20,
            scenario_timeout: Duration::from_millis(limits.scenario_timeout_ms),
        }
    }
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits::from_spec(&mcp_spec::Limits::default())
    }
}

/// What a batch produced: output columns of the scenarios that succeeded, and the failures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// One column per model output (model order), holding the successful scenarios' values in
    /// scenario order.
    pub columns: Vec<Vec<f64>>,
    /// Failed scenarios, in scenario order.
    pub failures: Vec<ScenarioFailure>,
    /// Fuel consumed by the batch, retries included.
    pub fuel_used: u64,
    /// Whether the batch was interrupted through the runner's abort flag; its outcome is then
    /// incomplete and should be thrown away.
    pub aborted: bool,
}

/// One instance of a model, evaluating batches under its limits.
pub struct ModelRunner {
    model: Arc<LoadedModel>,
    limits: RunLimits,
    abort: Option<Arc<AtomicBool>>,
    store: Store<HostState>,
    instance: bindings::Model,
}

impl std::fmt::Debug for ModelRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRunner")
            .field("model", &self.model.info.name)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

enum CallError {
    /// The instance trapped or hit a limit; it must be replaced.
    Trapped(FailureKind, String),
    /// The owner set the abort flag.
    Aborted,
}

impl ModelRunner {
    /// Instantiates `model` under `limits`.
    pub fn new(model: Arc<LoadedModel>, limits: RunLimits) -> Result<ModelRunner, String> {
        ModelRunner::with_abort(model, limits, None)
    }

    /// Instantiates `model` under `limits`; setting `abort` interrupts a running batch within
    /// one epoch tick.
    pub fn with_abort(
        model: Arc<LoadedModel>,
        limits: RunLimits,
        abort: Option<Arc<AtomicBool>>,
    ) -> Result<ModelRunner, String> {
        let (store, instance) = instantiate(&model, &limits, abort.clone())?;
        Ok(ModelRunner {
            model,
            limits,
            abort,
            store,
            instance,
        })
    }

    /// Calls `describe()` in a fresh instance, for at most `timeout` and the fuel of one
    /// scenario; the host copies at most [`MAX_DESCRIBE_COPY_BYTES`] of what it returns.
    pub(crate) fn describe(
        model: &LoadedModel,
        limits: &RunLimits,
        timeout: Duration,
    ) -> Result<Info, String> {
        let limits = RunLimits {
            scenario_timeout: limits.scenario_timeout.min(timeout),
            ..*limits
        };
        let (mut store, instance) = instantiate(model, &limits, None)?;
        arm(&mut store, &limits, 1);
        store.set_hostcall_fuel(MAX_DESCRIBE_COPY_BYTES);
        let result = instance.mcp_model_evaluate().call_describe(&mut store);
        match result {
            Ok(info) => Ok(info),
            Err(e) if is_copy_refused(&e) => Err(format!(
                "returned more than {} MiB of names (names overlapping in the model's memory \
                 count once each); a model has at most {} inputs and {} outputs of {} bytes",
                MAX_DESCRIBE_COPY_BYTES >> 20,
                mcp_spec::MAX_VARIABLES,
                mcp_protocol::MAX_OUTPUTS,
                mcp_spec::MAX_NAME_BYTES
            )),
            Err(e) => {
                let (kind, message) = classify(&mut store, &e, &limits, 1);
                let message = match kind {
                    FailureKind::Timeout => format!(
                        "ran longer than {} ms (describe() must return its names at once)",
                        limits.scenario_timeout.as_millis()
                    ),
                    _ => message,
                };
                Err(format!("failed ({kind}): {message}"))
            }
        }
    }

    /// How many scenarios one call to the model takes: [`MAX_SCENARIOS_PER_CALL`], fewer when
    /// a row is so wide that they would hold more than [`MAX_VALUES_PER_CALL`] values.
    pub fn scenarios_per_call(&self) -> usize {
        (MAX_VALUES_PER_CALL / self.model.info.width().max(1)).clamp(1, MAX_SCENARIOS_PER_CALL)
    }

    /// Adds the rows `values` of scenarios `first..` to `outcome`: each one's outputs to the
    /// columns, or the scenario as failed when one of its outputs is not finite.
    fn split_rows(&self, values: &[f64], first: u64, outcome: &mut BatchOutcome) {
        let n_out = self.model.info.outputs.len();
        for (r, row) in values.chunks_exact(n_out.max(1)).enumerate() {
            let scenario = first + r as u64;
            match row.iter().position(|v| !v.is_finite()) {
                Some(j) => {
                    let message = format!("output `{}` is {}", self.model.info.outputs[j], row[j]);
                    outcome.fail(scenario, FailureKind::NonFiniteOutput, message);
                }
                None => {
                    for (column, v) in outcome.columns.iter_mut().zip(row) {
                        column.push(*v);
                    }
                }
            }
        }
    }

    /// Evaluates scenarios `first .. first + count`, whose inputs are `inputs` (row-major).
    ///
    /// A scenario that traps, exhausts its fuel, time or memory, returns an error, or returns
    /// non-finite or missing outputs becomes a failure; the others still produce outputs.
    pub fn run_batch(&mut self, first: u64, count: usize, inputs: &[f64]) -> BatchOutcome {
        let width = self.model.info.width();
        let n_out = self.model.info.outputs.len();
        assert_eq!(inputs.len(), count * width, "inputs must hold count rows");
        let mut outcome = BatchOutcome {
            columns: vec![Vec::with_capacity(count); n_out],
            ..BatchOutcome::default()
        };
        let mut pos = 0;
        // After a trap or a malformed result, scenarios run one at a time until the culprit is
        // found, then batching resumes.
        let mut single = false;
        while pos < count {
            if self
                .abort
                .as_ref()
                .is_some_and(|a| a.load(Ordering::Relaxed))
            {
                outcome.aborted = true;
                break;
            }
            let n = if single {
                1
            } else {
                (count - pos).min(self.scenarios_per_call())
            };
            let rows = &inputs[pos * width..(pos + n) * width];
            match self.call(n, rows, &mut outcome.fuel_used) {
                Ok(result) => {
                    let done = result.failure.as_ref().map_or(n, |f| f.index as usize);
                    // A failure must name a scenario of the call: index < n.
                    let failure_past_end = result.failure.is_some() && done >= n;
                    if failure_past_end || result.values.len() != done * n_out {
                        if n == 1 {
                            let message = if failure_past_end {
                                format!("reported a failure of scenario {done} of a call of {n}")
                            } else {
                                format!(
                                    "returned {} values for a scenario of {n_out} outputs",
                                    result.values.len()
                                )
                            };
                            outcome.fail(
                                first + pos as u64,
                                FailureKind::WrongOutputCount,
                                message,
                            );
                            pos += 1;
                            single = false;
                        } else {
                            single = true;
                        }
                        continue;
                    }
                    let values = &result.values[..done * n_out];
                    if values.iter().all(|v| v.is_finite()) {
                        // Every scenario of the call succeeded: the rows go into the columns
                        // column by column.
                        for (j, column) in outcome.columns.iter_mut().enumerate() {
                            column.extend(values.iter().skip(j).step_by(n_out));
                        }
                    } else {
                        self.split_rows(values, first + pos as u64, &mut outcome);
                    }
                    pos += done;
                    if let Some(failure) = result.failure {
                        let message = clip(&failure.message, MAX_FAILURE_MESSAGE_BYTES);
                        outcome.fail(first + pos as u64, FailureKind::ModelError, message);
                        pos += 1;
                        single = false;
                    }
                }
                Err(CallError::Aborted) => {
                    outcome.aborted = true;
                    let _ = self.replace_instance();
                    break;
                }
                Err(CallError::Trapped(kind, message)) => {
                    if let Err(e) = self.replace_instance() {
                        // Cannot happen for a model that instantiated before; fail the rest
                        // rather than loop.
                        for s in pos..count {
                            outcome.fail(first + s as u64, FailureKind::Trap, e.clone());
                        }
                        break;
                    }
                    if n == 1 {
                        outcome.fail(first + pos as u64, kind, message);
                        pos += 1;
                        single = false;
                    } else {
                        single = true;
                    }
                }
            }
        }
        self.log_output();
        outcome
    }

    fn call(
        &mut self,
        n: usize,
        rows: &[f64],
        fuel_used: &mut u64,
    ) -> Result<BatchOutput, CallError> {
        let budget = arm(&mut self.store, &self.limits, n);
        // What the host may copy out: `n` rows of outputs and one failure message.
        let n_out = self.model.info.outputs.len();
        let copy = n
            .saturating_mul(n_out)
            .saturating_mul(size_of::<f64>())
            .saturating_add(MAX_FAILURE_COPY_BYTES);
        self.store.set_hostcall_fuel(copy);
        let result =
            self.instance
                .mcp_model_evaluate()
                .call_run_batch(&mut self.store, n as u32, rows);
        let left = self.store.get_fuel().unwrap_or(0);
        *fuel_used += budget - left;
        result.map_err(|e| {
            if self.store.data().aborted {
                return CallError::Aborted;
            }
            if is_copy_refused(&e) {
                let message = format!(
                    "returned more than its {n} scenario(s) of {n_out} outputs and a failure \
                     message of {} KiB: the host copies no more",
                    MAX_FAILURE_COPY_BYTES >> 10
                );
                return CallError::Trapped(FailureKind::WrongOutputCount, message);
            }
            let (kind, message) = classify(&mut self.store, &e, &self.limits, n);
            CallError::Trapped(kind, message)
        })
    }

    fn replace_instance(&mut self) -> Result<(), String> {
        self.log_output();
        let (store, instance) = instantiate(&self.model, &self.limits, self.abort.clone())?;
        self.store = store;
        self.instance = instance;
        Ok(())
    }

    /// Sends what the model printed to the log.
    fn log_output(&mut self) {
        let data = self.store.data();
        for (stream, log) in [("stdout", &data.stdout), ("stderr", &data.stderr)] {
            let text = log.take();
            if !text.is_empty() {
                tracing::info!(target: "mcp::model", model = %self.model.info.name, stream, "{}", text.trim_end());
            }
        }
    }
}

impl BatchOutcome {
    fn fail(&mut self, scenario: u64, kind: FailureKind, message: String) {
        self.failures.push(ScenarioFailure {
            scenario,
            kind,
            message,
        });
    }
}

fn instantiate(
    model: &LoadedModel,
    limits: &RunLimits,
    abort: Option<Arc<AtomicBool>>,
) -> Result<(Store<HostState>, bindings::Model), String> {
    let mut store = Store::new(&model.engine, HostState::new(limits.memory_bytes, abort));
    store.limiter(|s| &mut s.limiter);
    store.set_max_component_handles(MAX_COMPONENT_HANDLES);
    // Nothing the host copies while instantiating comes from the model.
    store.set_hostcall_fuel(MAX_FAILURE_COPY_BYTES);
    store.epoch_deadline_callback(|mut ctx| Ok(ctx.data_mut().on_epoch_tick()));
    arm(&mut store, limits, 1);
    let instance = model
        .pre
        .instantiate(&mut store)
        .map_err(|e| format!("could not be instantiated: {e:#}"))?;
    Ok((store, instance))
}

/// Gives the store the fuel and time of `n` scenarios; returns the fuel given.
fn arm(store: &mut Store<HostState>, limits: &RunLimits, n: usize) -> u64 {
    let fuel = limits.fuel_per_scenario.saturating_mul(n as u64);
    store.set_fuel(fuel).expect("fuel is enabled");
    let timeout = limits
        .scenario_timeout
        .saturating_mul(n.min(u32::MAX as usize) as u32);
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64;
    store.set_epoch_deadline(1);
    let data = store.data_mut();
    data.ticks_left = ticks;
    data.aborted = false;
    data.limiter.hit = false;
    fuel
}

/// Whether wasmtime refused to copy more of what the model handed the host than the call's
/// budget (`Store::set_hostcall_fuel`). wasmtime's error type for it is private; its message is
/// the one mark it leaves.
fn is_copy_refused(err: &wasmtime::Error) -> bool {
    err.chain().any(|e| {
        e.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

fn classify(
    store: &mut Store<HostState>,
    err: &wasmtime::Error,
    limits: &RunLimits,
    n: usize,
) -> (FailureKind, String) {
    if store.data().limiter.hit {
        // The limiter's own message, without wasmtime's backtrace around it.
        let message = err.chain().last().map(ToString::to_string);
        return (FailureKind::MemoryLimit, message.unwrap_or_default());
    }
    let stderr = store.data().stderr.take();
    let plural = if n == 1 { "scenario" } else { "batch" };
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => (
            FailureKind::OutOfFuel,
            format!(
                "used more than its fuel ({} units per scenario); raise limits.fuel_per_scenario if the model needs more",
                limits.fuel_per_scenario
            ),
        ),
        Some(Trap::Interrupt) => (
            FailureKind::Timeout,
            format!(
                "the {plural} ran longer than {} ms per scenario; raise limits.scenario_timeout_ms if the model needs more",
                limits.scenario_timeout.as_millis()
            ),
        ),
        Some(Trap::StackOverflow) => (
            FailureKind::StackOverflow,
            "call stack exhausted (deep or infinite recursion)".to_string(),
        ),
        Some(Trap::UnreachableCodeReached) => match panic_message(&stderr) {
            Some(message) => (FailureKind::Panic, message),
            None => (
                FailureKind::Unreachable,
                "wasm `unreachable` instruction executed".to_string(),
            ),
        },
        Some(Trap::IntegerDivisionByZero) => (
            FailureKind::DivideByZero,
            "integer divide by zero".to_string(),
        ),
        Some(trap) => (FailureKind::Trap, trap.to_string()),
        None => (FailureKind::Trap, format!("{err:#}")),
    }
}

/// The panic message a Rust guest printed before aborting, e.g.
/// `panicked at src/lib.rs:12:5: boom`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .take_while(|l| !l.starts_with("note: "))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(text.join(" "))
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_messages_are_extracted() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nboom\nnote: run with \
                      `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:12:5: boom")
        );
        assert_eq!(panic_message("nothing here"), None);
    }
}
