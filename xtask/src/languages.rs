//! Models in Python, JavaScript and C: the tools each language's build needs, installed at
//! pinned versions into the project's tool folder (`target/tools/`, never globally), the build
//! of a model directory into a component, and the model's native tests.
//!
//! | language | builder | native tests |
//! |---|---|---|
//! | Python | componentize-py (PyPI), in a venv of its own | pytest, in the same venv |
//! | JavaScript | componentize-js (npm, StarlingMonkey) | `node --test` |
//! | C | Debian's clang 19 and wasi-libc, linked by the Rust toolchain's `wasm-component-ld` | `make test` (gcc) |
//!
//! Each build adds the language's guest library from `model-sdk/` (the batch loop and the
//! `mcp:model` export) to the author's one model file.

use crate::models::Language;
use crate::{on_path, project_root, run, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// componentize-py's version; pytest's is pinned beside it.
const COMPONENTIZE_PY: &str = "0.25.1";
const PYTEST: &str = "8.3.4";
/// componentize-js's version (npm `@bytecodealliance/componentize-js`).
const COMPONENTIZE_JS: &str = "0.23.0";
/// The Debian packages of the C build, and a file each one installs.
const C_PACKAGES: &[(&str, &str)] = &[
    ("clang-19", "/usr/bin/clang-19"),
    ("lld-19", "/usr/bin/wasm-ld-19"),
    (
        "libclang-rt-19-dev-wasm32",
        "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
    ),
    ("wasi-libc", "/usr/lib/wasm32-wasi/crt1-reactor.o"),
];

/// Whether a missing system package may be installed with apt-get (`cargo xtask test` does),
/// or only named with the command that installs it (`cargo xtask build-model` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Install {
    SystemPackages,
    NameTheCommand,
}

fn sdk() -> PathBuf {
    project_root().join("model-sdk")
}

fn tools() -> PathBuf {
    target_dir().join("tools")
}

/// Builds the model in `dir`, written in `language`, to the component `out`.
pub(crate) fn build(language: Language, dir: &Path, out: &Path, install: Install) -> Result<()> {
    match language {
        Language::Rust => unreachable!("Rust models are built with cargo"),
        Language::Python => build_python(dir, out, install),
        Language::JavaScript => build_js(dir, out, install),
        Language::C => build_c(dir, out, install),
    }
}

/// Runs the native tests of the model in `dir`.
pub(crate) fn test_natively(language: Language, dir: &Path, install: Install) -> Result<()> {
    match language {
        Language::Rust => unreachable!("Rust models are tested with cargo"),
        Language::Python => run(Command::new(python_tools(install)?.join("bin/pytest"))
            .args(["-q", "-p", "no:cacheprovider"])
            .current_dir(dir)),
        Language::JavaScript => {
            need_program("node", "nodejs", install)?;
            run(Command::new("node").arg("--test").current_dir(dir))
        }
        Language::C => {
            need_program("make", "make", install)?;
            need_program("gcc", "gcc", install)?;
            run(Command::new("make")
                .args(["-s", "test"])
                .arg(format!("MCP_SDK={}", sdk().display()))
                .current_dir(dir))
        }
    }
}

/// Runs the tests of a language's guest library, in `model-sdk/<language>/`.
pub(crate) fn test_library(language: Language, install: Install) -> Result<()> {
    let dir = sdk().join(match language {
        Language::Rust => unreachable!("the Rust SDK is a workspace member"),
        Language::Python => "python",
        Language::JavaScript => "js",
        Language::C => "c",
    });
    test_natively(language, &dir, install)
}

// ---- Python -------------------------------------------------------------------------------

/// The venv holding componentize-py and pytest, made when missing.
fn python_tools(install: Install) -> Result<PathBuf> {
    let venv = tools().join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let done = venv.join(".installed");
    if done.is_file() {
        return Ok(venv);
    }
    need_program("python3", "python3", install)?;
    // A half-made venv (an interrupted install) is made again from nothing.
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(tools())?;
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("could not run python3")?;
    if !made.success() {
        if install == Install::SystemPackages && on_path("apt-get") {
            install_packages(&["python3-venv"])?;
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        } else {
            bail!(
                "python3 could not make a venv for componentize-py; install it with \
                 `apt-get install -y python3-venv` and try again"
            );
        }
    }
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-cache-dir",
        &format!("componentize-py=={COMPONENTIZE_PY}"),
        &format!("pytest=={PYTEST}"),
    ]))?;
    std::fs::write(&done, "")?;
    Ok(venv)
}

fn build_python(dir: &Path, out: &Path, install: Install) -> Result<()> {
    let venv = python_tools(install)?;
    run(Command::new(venv.join("bin/componentize-py"))
        .arg("--wit-path")
        .arg(sdk().join("wit"))
        .args(["--world", "model", "componentize", "model"])
        .arg("--python-path")
        .arg(dir)
        .arg("--python-path")
        .arg(sdk().join("python"))
        .arg("--output")
        .arg(out)
        // Bytecode caches would be written into the model's directory.
        .env("PYTHONDONTWRITEBYTECODE", "1"))
}

// ---- JavaScript ---------------------------------------------------------------------------

/// The npm folder holding componentize-js, installed when missing.
fn js_tools(install: Install) -> Result<PathBuf> {
    let folder = tools().join(format!("componentize-js-{COMPONENTIZE_JS}"));
    let done = folder.join(".installed");
    if done.is_file() {
        return Ok(folder);
    }
    need_program("node", "nodejs", install)?;
    need_program("npm", "npm", install)?;
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join("package.json"), "{\"private\": true}\n")?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--save-exact",
            &format!("@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"),
        ])
        .current_dir(&folder))?;
    std::fs::write(&done, "")?;
    Ok(folder)
}

fn build_js(dir: &Path, out: &Path, install: Install) -> Result<()> {
    let folder = js_tools(install)?;
    // componentize-js reads the model's imports inside the build's sandbox, which sees only the
    // working directory, by paths relative to it (and misreads them when it is `/`): run it
    // from the nearest directory holding both the model and the SDK (an example's import of
    // `../../model-sdk/js/mcp_model.js` then resolves), else from the model's own directory (a
    // skeleton of `mcp new` carries its own copy of the library).
    let sdk = sdk();
    let root = dir
        .ancestors()
        .find(|a| sdk.starts_with(a) && a.parent().is_some())
        .unwrap_or(dir);
    let source = dir.join("model.js");
    let source = source.strip_prefix(root).unwrap_or(&source);
    run(
        Command::new(folder.join("node_modules/.bin/componentize-js"))
            .current_dir(root)
            .arg(source)
            .arg("--wit")
            .arg(sdk.join("wit"))
            .args(["--world-name", "model"])
            // Without this the component imports wasi:http (for a fetch handler), which no model
            // is granted.
            .args(["--disable", "http", "fetch-event"])
            .arg("--out")
            .arg(out),
    )
}

// ---- C ------------------------------------------------------------------------------------

/// Checks the C build's Debian packages, installing the missing ones or naming the command.
fn c_packages(install: Install) -> Result<()> {
    missing_packages(C_PACKAGES, install)
}

/// Installs (or names the command that installs) those of `packages` whose file is missing.
fn missing_packages(packages: &[(&str, &str)], install: Install) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, file)| !Path::new(file).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if install == Install::SystemPackages && on_path("apt-get") {
        return install_packages(&missing);
    }
    bail!(
        "C models need Debian's {}; install them with `apt-get install -y \
         --no-install-recommends {}` and try again",
        missing.join(", "),
        missing.join(" ")
    )
}

/// The linker that makes a component of the C build: `wasm-component-ld`, which ships with
/// the Rust toolchain.
fn wasm_component_ld() -> Result<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("could not run rustc")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let host = Command::new("rustc")
        .args(["--print", "host-tuple"])
        .output()
        .context("could not run rustc")?;
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    let linker = sysroot.join(format!("lib/rustlib/{host}/bin/wasm-component-ld"));
    if !linker.is_file() {
        bail!(
            "the Rust toolchain has no {}; C models are linked with it (rustup's toolchains \
             since 1.82 ship it)",
            linker.display()
        );
    }
    Ok(linker)
}

fn build_c(dir: &Path, out: &Path, install: Install) -> Result<()> {
    c_packages(install)?;
    let linker = wasm_component_ld()?;
    let sdk = sdk();
    run(Command::new("clang-19")
        .args([
            "--target=wasm32-wasi",
            "-mexec-model=reactor",
            "-O2",
            "-std=gnu17",
        ])
        .args(["-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(sdk.join("c"))
        .arg(format!("-fuse-ld={}", linker.display()))
        .arg(format!(
            "-Wl,--component-type,{}",
            sdk.join("wit/model.wit").display()
        ))
        .arg("-Wl,--strip-debug")
        // wasm-ld writes the output's file name into the component: always `NAME.wasm`, so the
        // same sources give the same bytes.
        .arg("-o")
        .arg(out)
        .arg(dir.join("model.c"))
        .arg(sdk.join("c/mcp_model.c")))
}

// ---- system packages ----------------------------------------------------------------------

/// Fails, naming the Debian package and the command, when `program` is not on the PATH (or
/// installs it, when allowed).
fn need_program(program: &str, package: &str, install: Install) -> Result<()> {
    if on_path(program) {
        return Ok(());
    }
    if install == Install::SystemPackages && on_path("apt-get") {
        return install_packages(&[package]);
    }
    bail!(
        "`{program}` is not installed; install it with `apt-get install -y {package}` and try again"
    )
}

/// Installs Debian packages without their recommendations (clang's are large).
fn install_packages(packages: &[&str]) -> Result<()> {
    crate::apt_install(&[&["--no-install-recommends"], packages].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_package_is_named_with_the_command_that_installs_it() {
        let packages = [
            ("clang-19", "/nonexistent/clang-19"),
            ("lld-19", "/"),
            ("wasi-libc", "/nonexistent/crt1-reactor.o"),
        ];
        let err = missing_packages(&packages, Install::NameTheCommand)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "C models need Debian's clang-19, wasi-libc; install them with `apt-get install -y \
             --no-install-recommends clang-19 wasi-libc` and try again"
        );
        missing_packages(&packages[1..2], Install::NameTheCommand).unwrap();
        let err = need_program(
            "no-such-program-here",
            "no-such-package",
            Install::NameTheCommand,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`apt-get install -y no-such-package`"),
            "{err}"
        );
    }
}
