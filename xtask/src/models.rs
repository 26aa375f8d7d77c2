//! `cargo xtask build-model NAME` and `build-models`: model crates built as `wasm32-wasip2`
//! components with the `model` profile, copied to `target/models/NAME.wasm`.

use crate::{cargo, project_root, run, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directories holding model crates, searched in this order.
pub(crate) const MODEL_DIRS: &[&str] = &["example-models", "crates/sandbox/test-models"];
const WASM_TARGET: &str = "wasm32-wasip2";
/// The cargo profile models are built with (see the root Cargo.toml).
const MODEL_PROFILE: &str = "model";

/// Makes sure the wasm target is installed; installs it when `install` is set.
pub(crate) fn ensure_wasm_target(install: bool) -> Result<()> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("could not run rustc")?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match check_wasm_target(Path::new(&sysroot)) {
        Ok(()) => Ok(()),
        Err(_) if install => run(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        Err(e) => Err(e),
    }
}

/// Whether the toolchain at `sysroot` has the wasm target, with the command to add it if not.
fn check_wasm_target(sysroot: &Path) -> Result<()> {
    if sysroot.join("lib/rustlib").join(WASM_TARGET).exists() {
        return Ok(());
    }
    bail!(
        "the {WASM_TARGET} target is not installed; run `rustup target add {WASM_TARGET}` and try again"
    )
}

pub(crate) fn model_names() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for dir in MODEL_DIRS {
        for entry in std::fs::read_dir(project_root().join(dir))? {
            let entry = entry?;
            if entry.path().join("Cargo.toml").exists() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The package name in `dir/Cargo.toml`.
fn package_name(dir: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|l| {
            let rest = l
                .trim()
                .strip_prefix("name")?
                .trim_start()
                .strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_string())
        })
        .with_context(|| format!("no package name in {}", dir.join("Cargo.toml").display()))
}

pub(crate) fn build_model(name: &str) -> Result<PathBuf> {
    let dir = MODEL_DIRS
        .iter()
        .map(|d| project_root().join(d).join(name))
        .find(|d| d.join("Cargo.toml").exists())
        .with_context(|| {
            format!(
                "no model `{name}`; models: {}",
                model_names().unwrap_or_default().join(", ")
            )
        })?;
    let package = package_name(&dir)?;
    run(cargo().args([
        "build",
        "--profile",
        MODEL_PROFILE,
        "--target",
        WASM_TARGET,
        "--package",
        &package,
    ]))?;
    copy_model(name, &package)
}

pub(crate) fn build_all_models() -> Result<Vec<PathBuf>> {
    let names = model_names()?;
    let mut cmd = cargo();
    cmd.args(["build", "--profile", MODEL_PROFILE, "--target", WASM_TARGET]);
    let mut packages = Vec::new();
    for name in &names {
        let dir = MODEL_DIRS
            .iter()
            .map(|d| project_root().join(d).join(name))
            .find(|d| d.join("Cargo.toml").exists())
            .expect("listed models exist");
        let package = package_name(&dir)?;
        cmd.args(["--package", &package]);
        packages.push((name, package));
    }
    run(&mut cmd)?;
    packages
        .iter()
        .map(|(name, package)| copy_model(name, package))
        .collect()
}

fn copy_model(name: &str, package: &str) -> Result<PathBuf> {
    let built = target_dir()
        .join(WASM_TARGET)
        .join(MODEL_PROFILE)
        .join(format!("{}.wasm", package.replace('-', "_")));
    let models = target_dir().join("models");
    std::fs::create_dir_all(&models)?;
    let dest = models.join(format!("{name}.wasm"));
    std::fs::copy(&built, &dest)
        .with_context(|| format!("could not copy {} to {}", built.display(), dest.display()))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_wasm_target_names_the_command_that_installs_it() {
        let err = check_wasm_target(Path::new("/nonexistent-sysroot")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2` and try again"
        );
    }

    #[test]
    fn every_model_directory_names_its_package() {
        let names = model_names().unwrap();
        for name in ["pricing", "sum", "portfolio", "faulty"] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
        let dir = project_root().join("example-models/pricing");
        assert_eq!(package_name(&dir).unwrap(), "example-pricing");
    }
}
