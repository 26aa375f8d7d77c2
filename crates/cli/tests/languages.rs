//! Models in Python, JavaScript and C: the same `pricing` and `sum` as the Rust ones give the
//! same outputs on the same spec and seed, and a skeleton from `mcp new` builds, passes its
//! native test and runs unchanged in every language.
//!
//! `cargo xtask test` builds the example models in every language (their tools are installed
//! into `target/tools/` at pinned versions) before the tests run; the skeletons are built here,
//! through `cargo xtask build-model DIR`, as a user would.

use crate::support::*;
use mcp_testkit::{model_path, project_file};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The languages besides Rust, by the suffix of their example models and `mcp new`'s name.
const LANGUAGES: [(&str, &str); 3] = [("py", "python"), ("js", "js"), ("c", "c")];

/// Relative difference allowed where a language's math library rounds differently from the
/// Rust model's (see `every_language_prices_the_call_like_rust`).
const LAST_BITS: f64 = 1e-12;

/// The example spec of `model` without its `[model] name`, so that every language's model
/// (each has its own name) runs it.
fn unnamed_spec(model: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text = std::fs::read_to_string(project_file(&format!("example-models/{model}/vars.toml")))
        .unwrap();
    let unnamed: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("name ="))
        .map(|l| format!("{l}\n"))
        .collect();
    spec_file(&unnamed)
}

/// Walks two JSON values side by side; numbers may differ by `tolerance` relative. Returns how
/// many numbers differed at all.
fn compare(a: &Value, b: &Value, tolerance: f64, at: &str) -> usize {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if x.to_bits() == y.to_bits() {
                return 0;
            }
            let scale = x.abs().max(y.abs());
            assert!(
                (x - y).abs() <= tolerance * scale,
                "{at}: {x} against {y} (relative {:e})",
                (x - y).abs() / scale
            );
            1
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{at}: different fields");
            x.iter()
                .map(|(k, v)| compare(v, &y[k], tolerance, &format!("{at}.{k}")))
                .sum()
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: different lengths");
            x.iter()
                .zip(y)
                .enumerate()
                .map(|(i, (v, w))| compare(v, w, tolerance, &format!("{at}[{i}]")))
                .sum()
        }
        _ => {
            assert_eq!(a, b, "{at}");
            0
        }
    }
}

/// Runs `model` and the Rust model `rust` on the unnamed example spec of `rust`, and checks
/// their outputs agree within `tolerance`; returns how many numbers were not the same bits.
fn check_like_rust(rust: &str, model: &str, scenarios: &str, tolerance: f64) -> usize {
    let (_dir, spec) = unnamed_spec(rust);
    let expected = submit_json(&model_path(rust), &spec, &["--scenarios", scenarios]);
    let got = submit_json(&model_path(model), &spec, &["--scenarios", scenarios]);
    assert_eq!(got["scenarios"], expected["scenarios"], "{model}");
    assert_eq!(got["failed"], expected["failed"], "{model}");
    compare(&got["outputs"], &expected["outputs"], tolerance, model)
}

#[test]
fn every_language_adds_like_rust_to_the_bit() {
    std::thread::scope(|s| {
        for (suffix, _) in LANGUAGES {
            s.spawn(move || {
                let differing = check_like_rust("sum", &format!("sum-{suffix}"), "100000", 0.0);
                assert_eq!(differing, 0);
            });
        }
    });
}

/// The Rust `pricing` computes `exp` with the SDK's own routine (`mcp_model_sdk::math::exp`);
/// C uses wasi-libc's `exp`, Python's `math.exp` is the same C function, and JavaScript's
/// `Math.exp` is SpiderMonkey's (fdlibm's algorithm). Each is within one ulp of the true value
/// and they agree on nearly every argument; where they differ in the last bit, a payoff differs
/// by about 1e-16 relative and the statistics by far less than `LAST_BITS`.
#[test]
fn every_language_prices_the_call_like_rust() {
    std::thread::scope(|s| {
        for (suffix, _) in LANGUAGES {
            s.spawn(move || {
                check_like_rust("pricing", &format!("pricing-{suffix}"), "100000", LAST_BITS);
            });
        }
    });
}

/// `cargo xtask ARGS` from the project root, which must succeed.
fn xtask(args: &[&str]) {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .current_dir(project_file(""))
        .output()
        .expect("run cargo xtask");
    assert!(
        out.status.success(),
        "cargo xtask {args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Makes a skeleton with `mcp new` in `parent`, runs its native test, builds it and submits
/// it with its own vars.toml; returns the summary.
fn skeleton(parent: &Path, name: &str, lang: &str) -> Value {
    let sdk = project_file("model-sdk");
    let out = mcp(&[
        "new",
        name,
        "--lang",
        lang,
        "--dir",
        parent.to_str().unwrap(),
        "--sdk",
        sdk.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "mcp new --lang {lang}:\n{}",
        stderr(&out)
    );
    let dir = parent.join(name);
    let dir_arg = dir.to_str().unwrap();
    xtask(&["test-model", dir_arg]);
    xtask(&["build-model", dir_arg]);
    let summary = submit_json(&model_path(name), &dir.join("vars.toml"), &[]);
    assert_eq!(summary["model"]["name"], name, "{lang}");
    assert_eq!(summary["failed"], 0, "{lang}");
    summary
}

#[test]
fn a_skeleton_from_mcp_new_builds_tests_and_runs_in_every_language() {
    let parent = tempfile::tempdir().unwrap();
    // A name per run: the built component goes to target/models/NAME.wasm.
    let tag = std::process::id();
    let rust = skeleton(parent.path(), &format!("new-rust-{tag}"), "rust");
    for (suffix, lang) in LANGUAGES {
        let got = skeleton(parent.path(), &format!("new-{suffix}-{tag}"), lang);
        // Every skeleton is the same model (`sum = x + y`) on the same spec and seed.
        assert_eq!(compare(&got["outputs"], &rust["outputs"], 0.0, lang), 0);
    }
    for (suffix, _) in LANGUAGES.iter().chain([&("rust", "rust")]) {
        let _ = std::fs::remove_file(model_path(&format!("new-{suffix}-{tag}")));
    }
}

#[test]
fn mcp_new_refuses_an_existing_directory_and_a_bad_name_and_writes_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().to_str().unwrap();
    let sdk = project_file("model-sdk");
    let sdk = sdk.to_str().unwrap();
    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/mine.txt"), "keep me").unwrap();
    let out = mcp(&["new", "taken", "--lang", "c", "--dir", dir, "--sdk", sdk]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(parent.path().join("taken"))
            .unwrap()
            .count(),
        1,
        "nothing written into it"
    );
    let out = mcp(&[
        "new", "Bad_Name", "--lang", "python", "--dir", dir, "--sdk", sdk,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("NAME `Bad_Name`"), "{}", stderr(&out));
    let out = mcp(&["new", "fine", "--lang", "js", "--dir", dir, "--sdk", dir]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not the model SDK"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
}
