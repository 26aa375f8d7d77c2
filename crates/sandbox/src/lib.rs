//! The only crate that knows wasmtime: loads, checks, compiles and runs model components.
//!
//! [`Sandbox::load`] refuses anything that is not a component of the `mcp:model` world, or that
//! imports more than WASI 0.2 without authority, with a message naming what is wrong; it compiles
//! each distinct model (by SHA-256 digest) once, within the [`SandboxLimits`] on size, compile
//! time, concurrent compiles and cached models. A [`ModelRunner`] evaluates scenario batches in
//! one instance under fuel, memory and wall-clock limits (the memory limit holds for the instance
//! as a whole, and what the host copies out of a model is capped), and turns every trap, limit,
//! model error and bad output into a counted failure of that one scenario while the rest of its
//! batch runs. The sandbox knows nothing of specs' distributions, queues or statistics.

mod host;
mod load;
mod permits;
mod runner;

pub use host::{LOG_CAPACITY, MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES};
pub use load::{LoadError, ModelDigest};
pub use runner::{
    BatchOutcome, MAX_DESCRIBE_COPY_BYTES, MAX_FAILURE_COPY_BYTES, MAX_FAILURE_MESSAGE_BYTES,
    MAX_SCENARIOS_PER_CALL, MAX_VALUES_PER_CALL, ModelRunner, RunLimits,
};

use host::HostState;
use lru::LruCache;
use mcp_protocol::ModelInfo;
use permits::Permits;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../model-sdk/wit",
        world: "model",
    });
}

/// The `mcp:model` world version this host runs.
pub const WORLD: &str = "mcp:model@0.1.0";
/// The interface a model must export.
pub const EVALUATE_EXPORT: &str = "mcp:model/evaluate@0.1.0";

/// How often the engine's epoch advances; wall-clock limits are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// A compiled, checked model, shared by every runner of it.
pub struct LoadedModel {
    info: ModelInfo,
    pre: bindings::ModelPre<HostState>,
    engine: Engine,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// The model's description and digest.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }
}

/// What a sandbox spends on compiling models and keeping them compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Largest component accepted, in bytes; larger ones are refused before anything parses them.
    pub max_model_bytes: usize,
    /// Longest a compile may take; a model that compiles longer is refused.
    pub compile_timeout: Duration,
    /// Longest `describe()` may run, whatever the spec's scenario time-out.
    pub describe_timeout: Duration,
    /// Most compiles at once; further loads wait for one to finish. A compile that ran out of
    /// time keeps its place until the compiler returns, so runaway compiles cannot pile up.
    pub concurrent_compiles: usize,
    /// Most compiled models kept; the least recently used goes first.
    pub cached_models: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            max_model_bytes: 64 << 20,
            compile_timeout: Duration::from_secs(120),
            describe_timeout: Duration::from_secs(10),
            concurrent_compiles: 2,
            cached_models: 8,
        }
    }
}

/// A wasmtime engine configured for models, with its compile cache.
#[derive(Clone)]
pub struct Sandbox {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache: Arc<Mutex<LruCache<ModelDigest, Arc<LoadedModel>>>>,
    compiles: Permits,
    limits: SandboxLimits,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine with fuel metering and epoch interruption, and a linker granting WASI 0.2
    /// without authority, within the default [`SandboxLimits`].
    pub fn new() -> anyhow::Result<Sandbox> {
        Sandbox::with_limits(SandboxLimits::default())
    }

    /// [`Sandbox::new`] within `limits`.
    pub fn with_limits(limits: SandboxLimits) -> anyhow::Result<Sandbox> {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        if std::env::var_os("MCP_PERF_MAP").is_some() {
            // Names the compiled models' functions for `perf report` (/tmp/perf-PID.map).
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        host::freeze_sleeps(&mut linker)?;
        spawn_epoch_ticker(&engine);
        let cached = NonZeroUsize::new(limits.cached_models).unwrap_or(NonZeroUsize::MIN);
        Ok(Sandbox {
            engine,
            linker: Arc::new(linker),
            cache: Arc::new(Mutex::new(LruCache::new(cached))),
            compiles: Permits::new(limits.concurrent_compiles.max(1)),
            limits,
        })
    }

    /// The limits this sandbox keeps.
    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Checks and compiles a model, or returns the compiled one with the same digest.
    ///
    /// `limits` bound the call to `describe()`, within [`SandboxLimits::describe_timeout`].
    pub fn load(&self, wasm: &[u8], limits: &RunLimits) -> Result<Arc<LoadedModel>, LoadError> {
        if wasm.len() > self.limits.max_model_bytes {
            return Err(LoadError::TooLarge {
                bytes: wasm.len(),
                most: self.limits.max_model_bytes,
            });
        }
        let digest = ModelDigest::of(wasm);
        if let Some(model) = self.cache.lock().expect("cache lock").get(&digest) {
            return Ok(model.clone());
        }
        let model = Arc::new(load::load(self, wasm, digest.clone(), limits)?);
        self.cache
            .lock()
            .expect("cache lock")
            .put(digest, model.clone());
        Ok(model)
    }

    /// Compiles `wasm` on a thread of its own, holding one of the compile permits until the
    /// compiler returns, and waits at most [`SandboxLimits::compile_timeout`] for it.
    fn compile(&self, wasm: &[u8]) -> Result<Component, LoadError> {
        let permit = self.compiles.acquire();
        let (done, result) = mpsc::sync_channel(1);
        let (engine, wasm) = (self.engine.clone(), wasm.to_vec());
        std::thread::Builder::new()
            .name("mcp-compile".into())
            .spawn(move || {
                let compiled = Component::new(&engine, &wasm);
                drop(permit);
                let _ = done.send(compiled);
            })
            .map_err(|e| LoadError::Invalid(format!("could not start a compile thread: {e}")))?;
        match result.recv_timeout(self.limits.compile_timeout) {
            Ok(compiled) => compiled.map_err(|e| LoadError::Invalid(format!("{e:#}"))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LoadError::CompileTimeout {
                limit: self.limits.compile_timeout,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(LoadError::Invalid(
                "the compiler stopped without an answer".into(),
            )),
        }
    }

    /// How many compiled models the cache holds.
    pub fn cached_models(&self) -> usize {
        self.cache.lock().expect("cache lock").len()
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("mcp-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch thread");
}
