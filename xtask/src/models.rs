//! `cargo xtask build-model NAME|DIR`, `build-models` and `test-model NAME|DIR`: a model
//! directory's language is recognised from its files, and the model is built as a component of
//! the `mcp:model` world to `target/models/NAME.wasm` (Rust with cargo; Python, JavaScript and
//! C with the tools of `languages`), or tested natively in its language's own test runner.

use crate::languages::{self, Install};
use crate::{cargo, project_root, run, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directories holding models, searched in this order.
pub(crate) const MODEL_DIRS: &[&str] = &["example-models", "crates/sandbox/test-models"];
const WASM_TARGET: &str = "wasm32-wasip2";
/// The cargo profile Rust models are built with (see the root Cargo.toml; a crate made by `mcp
/// new` defines the same profile).
const MODEL_PROFILE: &str = "model";

/// The language a model directory is written in, recognised from the file that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// `Cargo.toml`: a crate using `mcp-model-sdk`.
    Rust,
    /// `model.py`, using `model-sdk/python/mcp_model.py`.
    Python,
    /// `model.js`, using `model-sdk/js/mcp_model.js`.
    JavaScript,
    /// `model.c`, using `model-sdk/c/mcp_model.h`.
    C,
}

impl Language {
    /// The file whose presence names each language, in the order they are looked for.
    const MARKERS: [(&str, Language); 4] = [
        ("Cargo.toml", Language::Rust),
        ("model.py", Language::Python),
        ("model.js", Language::JavaScript),
        ("model.c", Language::C),
    ];

    /// The language of the model in `dir`, if `dir` holds one.
    pub(crate) fn of(dir: &Path) -> Option<Language> {
        Self::MARKERS
            .iter()
            .find(|(file, _)| dir.join(file).is_file())
            .map(|(_, lang)| *lang)
    }
}

/// A model's directory, its name (the directory's) and its language.
#[derive(Debug)]
pub(crate) struct ModelDir {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) language: Language,
}

/// Every model of the project, by name.
pub(crate) fn all_models() -> Result<Vec<ModelDir>> {
    let mut models = Vec::new();
    for parent in MODEL_DIRS {
        for entry in std::fs::read_dir(project_root().join(parent))? {
            let dir = entry?.path();
            if let Some(language) = Language::of(&dir) {
                let name = dir_name(&dir)?;
                models.push(ModelDir {
                    name,
                    dir,
                    language,
                });
            }
        }
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

pub(crate) fn model_names() -> Result<Vec<String>> {
    Ok(all_models()?.into_iter().map(|m| m.name).collect())
}

fn dir_name(dir: &Path) -> Result<String> {
    Ok(dir
        .file_name()
        .with_context(|| format!("{} names no directory", dir.display()))?
        .to_string_lossy()
        .into_owned())
}

/// The model `which` names: a directory (any path with a `/`, or one that exists), else the name
/// of a model of the project.
pub(crate) fn find_model(which: &str) -> Result<ModelDir> {
    let as_path = Path::new(which);
    if which.contains('/') || (as_path.is_dir() && Language::of(as_path).is_some()) {
        let dir = std::path::absolute(as_path)?;
        let language = Language::of(&dir).with_context(|| {
            format!(
                "{} holds no model: a model directory has a Cargo.toml (Rust), model.py \
                 (Python), model.js (JavaScript) or model.c (C); `mcp new NAME --lang L` makes one",
                dir.display()
            )
        })?;
        return Ok(ModelDir {
            name: dir_name(&dir)?,
            dir,
            language,
        });
    }
    all_models()?
        .into_iter()
        .find(|m| m.name == which)
        .with_context(|| {
            format!(
                "no model `{which}` in {}; models: {}",
                MODEL_DIRS.join(" or "),
                model_names().unwrap_or_default().join(", ")
            )
        })
}

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

/// Where a model named `name` is built to.
pub(crate) fn model_output(name: &str) -> Result<PathBuf> {
    let models = target_dir().join("models");
    std::fs::create_dir_all(&models)?;
    Ok(models.join(format!("{name}.wasm")))
}

/// Builds the model `which` (a name or a directory, see [`find_model`]); `install` also lets
/// the build install missing system packages (the tests do; a user is told the command).
pub(crate) fn build_model(which: &str, install: Install) -> Result<PathBuf> {
    let model = find_model(which)?;
    let out = model_output(&model.name)?;
    match model.language {
        Language::Rust => build_rust(&model)?,
        other => languages::build(other, &model.dir, &out, install)?,
    }
    eprintln!(
        "built {} ({:?}) -> {}",
        model.name,
        model.language,
        out.display()
    );
    Ok(out)
}

/// Builds a Rust model into the project's target directory.
fn build_rust(model: &ModelDir) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--profile", MODEL_PROFILE, "--target", WASM_TARGET]);
    select_crate(&mut cmd, &model.dir)?;
    run(&mut cmd)?;
    copy_rust_model(&model.name, &package_name(&model.dir)?).map(drop)
}

/// Points a cargo command at the Rust model in `dir`: a workspace member by its package, a
/// crate of its own (`mcp new`) by its manifest, with the project's target directory.
fn select_crate(cmd: &mut Command, dir: &Path) -> Result<()> {
    if in_workspace(dir) {
        cmd.args(["--package", &package_name(dir)?]);
    } else {
        cmd.arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir());
    }
    Ok(())
}

/// Whether `dir` is one of the project's own model crates (they are workspace members).
fn in_workspace(dir: &Path) -> bool {
    MODEL_DIRS
        .iter()
        .any(|parent| dir.parent() == Some(&project_root().join(parent)))
        && !std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|manifest| manifest.lines().any(|l| l.trim() == "[workspace]"))
}

/// Builds every model of the project: the Rust ones in one cargo run, then, when `others` is
/// set, those in other languages (installing their tools when missing).
pub(crate) fn build_all_models(others: Option<Install>) -> Result<Vec<PathBuf>> {
    let models = all_models()?;
    let mut cmd = cargo();
    cmd.args(["build", "--profile", MODEL_PROFILE, "--target", WASM_TARGET]);
    let mut packages = Vec::new();
    for model in models.iter().filter(|m| m.language == Language::Rust) {
        let package = package_name(&model.dir)?;
        cmd.args(["--package", &package]);
        packages.push((&model.name, package));
    }
    run(&mut cmd)?;
    let mut built = packages
        .iter()
        .map(|(name, package)| copy_rust_model(name, package))
        .collect::<Result<Vec<_>>>()?;
    if let Some(install) = others {
        for model in models.iter().filter(|m| m.language != Language::Rust) {
            let out = model_output(&model.name)?;
            languages::build(model.language, &model.dir, &out, install)?;
            built.push(out);
        }
    }
    Ok(built)
}

fn copy_rust_model(name: &str, package: &str) -> Result<PathBuf> {
    let built = target_dir()
        .join(WASM_TARGET)
        .join(MODEL_PROFILE)
        .join(format!("{}.wasm", package.replace('-', "_")));
    let dest = model_output(name)?;
    std::fs::copy(&built, &dest)
        .with_context(|| format!("could not copy {} to {}", built.display(), dest.display()))?;
    Ok(dest)
}

/// Runs a model's native tests in its language's usual runner: `cargo test`, pytest,
/// `node --test`, `make test`.
pub(crate) fn test_model(which: &str, install: Install) -> Result<()> {
    let model = find_model(which)?;
    match model.language {
        Language::Rust => {
            let mut cmd = cargo();
            cmd.arg("test");
            select_crate(&mut cmd, &model.dir)?;
            run(&mut cmd)
        }
        other => languages::test_natively(other, &model.dir, install),
    }
}

/// Runs the native tests of the guest libraries and of every example model in a language other
/// than Rust (the Rust ones are workspace members: `cargo test --workspace` runs theirs).
pub(crate) fn test_all_models_natively(install: Install) -> Result<()> {
    for language in [Language::Python, Language::JavaScript, Language::C] {
        languages::test_library(language, install)?;
    }
    for model in all_models()?.iter().filter(|m| {
        m.language != Language::Rust && m.dir.starts_with(project_root().join("example-models"))
    }) {
        languages::test_natively(model.language, &model.dir, install)?;
    }
    Ok(())
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
    fn every_model_directory_names_its_language() {
        let models = all_models().unwrap();
        let language = |name: &str| {
            models
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {models:?}"))
                .language
        };
        for name in ["pricing", "sum", "portfolio", "faulty"] {
            assert_eq!(language(name), Language::Rust);
        }
        assert_eq!(language("pricing-py"), Language::Python);
        assert_eq!(language("pricing-js"), Language::JavaScript);
        assert_eq!(language("pricing-c"), Language::C);
        let dir = project_root().join("example-models/pricing");
        assert_eq!(package_name(&dir).unwrap(), "example-pricing");
        assert!(in_workspace(&dir));
    }

    #[test]
    fn a_directory_without_a_model_says_what_a_model_directory_holds() {
        let err = find_model("xtask/src").unwrap_err().to_string();
        assert!(
            err.contains("holds no model") && err.contains("model.py") && err.contains("mcp new"),
            "{err}"
        );
        let err = find_model("no-such-model").unwrap_err().to_string();
        assert!(
            err.contains("no model `no-such-model`") && err.contains("pricing"),
            "{err}"
        );
    }
}
