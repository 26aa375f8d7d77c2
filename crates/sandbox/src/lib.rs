//! The only crate that knows wasmtime: loads, checks, compiles and runs model components.
//!
//! [`Sandbox::load`] refuses anything that is not a component of the `mcp:model` world, or that
//! imports more than WASI 0.2 without authority, with a message naming what is wrong; it compiles
//! each distinct model (by SHA-256 digest) once. A [`ModelRunner`] evaluates scenario batches in
//! one instance under fuel, memory and wall-clock limits, and turns every trap, limit, model error
//! and bad output into a counted failure of that one scenario while the rest of its batch runs.
//! The sandbox knows nothing of specs' distributions, queues or statistics.

mod host;
mod load;
mod runner;

pub use host::LOG_CAPACITY;
pub use load::{LoadError, ModelDigest};
pub use runner::{BatchOutcome, MAX_SCENARIOS_PER_CALL, ModelRunner, RunLimits};

use host::HostState;
use mcp_protocol::ModelInfo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// A wasmtime engine configured for models, with its compile cache.
#[derive(Clone)]
pub struct Sandbox {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache: Arc<Mutex<HashMap<ModelDigest, Arc<LoadedModel>>>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine with fuel metering and epoch interruption, and a linker granting WASI 0.2
    /// without authority.
    pub fn new() -> anyhow::Result<Sandbox> {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        host::freeze_sleeps(&mut linker)?;
        spawn_epoch_ticker(&engine);
        Ok(Sandbox {
            engine,
            linker: Arc::new(linker),
            cache: Arc::default(),
        })
    }

    /// Checks and compiles a model, or returns the compiled one with the same digest.
    ///
    /// `limits` bound the call to `describe()`.
    pub fn load(&self, wasm: &[u8], limits: &RunLimits) -> Result<Arc<LoadedModel>, LoadError> {
        let digest = ModelDigest::of(wasm);
        if let Some(model) = self.cache.lock().expect("cache lock").get(&digest) {
            return Ok(model.clone());
        }
        let model = Arc::new(load::load(self, wasm, digest.clone(), limits)?);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(digest, model.clone());
        Ok(model)
    }

    fn compile(&self, wasm: &[u8]) -> wasmtime::Result<Component> {
        Component::new(&self.engine, wasm)
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
