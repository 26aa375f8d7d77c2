//! Checking a model's bytes before anything runs: format, imports, exports, `describe()`.

use crate::runner::{ModelRunner, RunLimits};
use crate::{EVALUATE_EXPORT, LoadedModel, Sandbox, WORLD, bindings};
use mcp_protocol::ModelInfo;
use std::fmt;

/// `sha256:<hex>` of a model's bytes: its identity everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelDigest(pub String);

impl ModelDigest {
    /// The digest of `wasm`.
    pub fn of(wasm: &[u8]) -> ModelDigest {
        ModelDigest(mcp_protocol::sha256(wasm))
    }
}

impl fmt::Display for ModelDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a model was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not WebAssembly at all.
    #[error(
        "not a WebAssembly file (it starts with {0}); build the model with `cargo xtask build-model NAME`"
    )]
    NotWasm(String),
    /// A core module rather than a component.
    #[error(
        "a core WebAssembly module, not a component; build the model for wasm32-wasip2 with the mcp model SDK (`cargo xtask build-model NAME`)"
    )]
    CoreModule,
    /// Malformed or truncated, or a feature wasmtime does not support.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// Imports an interface the host does not provide.
    #[error(
        "the model imports `{0}`, which mcp does not provide; models may import only WASI 0.2 interfaces (cli, io, clocks, random, filesystem, sockets), and get no authority through them"
    )]
    ForbiddenImport(String),
    /// Built against another version of the `mcp:model` world.
    #[error(
        "the model exports `{found}`, but this mcp runs models of the {WORLD} world; rebuild the model with a matching mcp model SDK"
    )]
    WrongWorldVersion {
        /// The export found.
        found: String,
    },
    /// Does not export the `mcp:model/evaluate` interface.
    #[error(
        "the component does not export `{EVALUATE_EXPORT}` (its exports: {exports}); it is not an mcp model: implement mcp_model_sdk::Model and call mcp_model_sdk::export_model!"
    )]
    MissingExport {
        /// What it exports instead.
        exports: String,
    },
    /// Exports the interface with the wrong function signatures.
    #[error("the component's `{EVALUATE_EXPORT}` export does not match the {WORLD} world: {0}")]
    WrongSignature(String),
    /// Larger than the sandbox takes.
    #[error(
        "the model is {bytes} bytes, more than the {most} bytes this mcp compiles; models built \
         with the SDK are far smaller (build in release mode), or raise --max-model-mib"
    )]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The largest accepted.
        most: usize,
    },
    /// Took longer to compile than the sandbox allows.
    #[error(
        "the model took longer than {} s to compile and was refused; models built with the SDK \
         compile in well under a second",
        limit.as_secs_f64()
    )]
    CompileTimeout {
        /// The time allowed.
        limit: std::time::Duration,
    },
    /// `describe()` trapped or returned an unusable description.
    #[error("the model's describe() {0}")]
    Describe(String),
}

/// Import namespaces the sandbox links, all without authority.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

pub(crate) fn load(
    sandbox: &Sandbox,
    wasm: &[u8],
    digest: ModelDigest,
    limits: &RunLimits,
) -> Result<LoadedModel, LoadError> {
    check_header(wasm)?;
    let component = sandbox.compile(wasm)?;
    let ty = component.component_type();
    for (name, _) in ty.imports(&sandbox.engine) {
        let allowed = ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)) && name.contains("@0.2.");
        if !allowed {
            return Err(LoadError::ForbiddenImport(name.to_string()));
        }
    }
    let exports: Vec<String> = ty
        .exports(&sandbox.engine)
        .map(|(n, _)| n.to_string())
        .collect();
    if !exports.iter().any(|e| e == EVALUATE_EXPORT) {
        if let Some(found) = exports
            .iter()
            .find(|e| e.starts_with("mcp:model/evaluate@"))
        {
            return Err(LoadError::WrongWorldVersion {
                found: found.clone(),
            });
        }
        let exports = if exports.is_empty() {
            "none".to_string()
        } else {
            exports.join(", ")
        };
        return Err(LoadError::MissingExport { exports });
    }
    let instance_pre = sandbox
        .linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
    let pre = bindings::ModelPre::new(instance_pre)
        .map_err(|e| LoadError::WrongSignature(format!("{e:#}")))?;

    let mut model = LoadedModel {
        info: ModelInfo {
            name: String::new(),
            version: String::new(),
            inputs: Vec::new(),
            sizes: Vec::new(),
            outputs: Vec::new(),
            digest: digest.0,
        },
        pre,
        engine: sandbox.engine.clone(),
    };
    let info = ModelRunner::describe(&model, limits, sandbox.limits.describe_timeout)
        .map_err(LoadError::Describe)?;
    model.info.name = info.name;
    model.info.version = info.version;
    // `z[252]` declares input `z` of 252 values (the WIT world's convention for vector inputs).
    for declared in &info.inputs {
        let (name, size) = mcp_spec::input_shape(declared).map_err(LoadError::Describe)?;
        model.info.inputs.push(name.to_string());
        model.info.sizes.push(size);
    }
    if model.info.sizes.iter().all(|&n| n == 1) {
        model.info.sizes.clear();
    }
    model.info.outputs = info.outputs;
    // The bounds every role checks again on what it decodes (`ModelInfo::check`).
    model.info.check().map_err(LoadError::Describe)?;
    Ok(model)
}

fn check_header(wasm: &[u8]) -> Result<(), LoadError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        let shown = wasm
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>();
        let shown = if shown.is_empty() {
            "nothing: the file is empty".to_string()
        } else {
            format!("bytes {}", shown.join(" "))
        };
        return Err(LoadError::NotWasm(shown));
    }
    if wasm[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_name_the_problem() {
        assert_eq!(
            check_header(b"").unwrap_err().to_string(),
            "not a WebAssembly file (it starts with nothing: the file is empty); build the model \
             with `cargo xtask build-model NAME`"
        );
        assert_eq!(
            check_header(b"[simulation]\n").unwrap_err(),
            LoadError::NotWasm("bytes 5b 73 69 6d 75 6c 61 74".into())
        );
        assert_eq!(
            check_header(b"\0asm\x01\0\0\0").unwrap_err(),
            LoadError::CoreModule
        );
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn digest_is_sha256() {
        assert_eq!(
            ModelDigest::of(b"abc").0,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
