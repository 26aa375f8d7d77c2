//! Test helpers: finding the model components that `cargo xtask build-models` wrote.
//!
//! Tests never hard-code paths: they ask for a model by name and get a clear message naming the
//! command to run when it has not been built. Used only as a dev-dependency.

use std::path::{Path, PathBuf};

/// The target directory of the running test binary (`target/debug/deps/<test>` → `target`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir;
        }
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .find(|p| p.join("models").is_dir() || p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            exe.parent()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf()
        })
}

/// Path of the built model `name`; panics with the command to build it when it is missing.
pub fn model_path(name: &str) -> PathBuf {
    let path = target_dir().join("models").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} does not exist; build the models first with `cargo xtask build-models` (or run the \
         tests with `cargo xtask test`)",
        path.display()
    );
    path
}

/// The bytes of the built model `name`.
pub fn model_bytes(name: &str) -> Vec<u8> {
    std::fs::read(model_path(name)).expect("read the model")
}

/// Path of a file in the project, from the project root (e.g. `example-models/sum/vars.toml`).
///
/// The root is found from the package under test, which `cargo test` names at run time: the
/// directory this crate was compiled in may be another checkout sharing the target directory.
pub fn project_file(relative: &str) -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(&package);
    root.join(relative)
}
