//! `mcp new NAME --lang L`: a model skeleton that builds and runs unchanged, from the templates
//! in `model-sdk/templates/<lang>/` (compiled into the binary). Each template file may hold
//! `{{name}}` (the model's name) and `{{sdk}}` (the path from the new directory to the SDK's
//! `model-sdk/`, where the build and the native tests find the language's guest library); a
//! file named `X.in` is written as `X`.

use crate::args::{Lang, NewArgs};
use anyhow::{Context, bail};
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

static RUST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../model-sdk/templates/rust");
static PYTHON: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../model-sdk/templates/python");
static JS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../model-sdk/templates/js");
static C: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../model-sdk/templates/c");

/// The JavaScript guest library, which a JavaScript skeleton holds a copy of.
const JS_LIBRARY: &str = include_str!("../../../model-sdk/js/mcp_model.js");

/// The file that marks the SDK's directory (the ABI every language builds against).
const SDK_MARK: &str = "wit/model.wit";

pub fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let parent = match &args.dir {
        Some(dir) => dir.clone(),
        // In the mcp checkout, next to the example models, where `cargo xtask build-model NAME`
        // finds it by name; elsewhere, here.
        None if Path::new("example-models").is_dir()
            && Path::new("model-sdk").join(SDK_MARK).is_file() =>
        {
            PathBuf::from("example-models")
        }
        None => PathBuf::from("."),
    };
    if !parent.is_dir() {
        bail!(
            "--dir {}: no such directory; create it or name another",
            parent.display()
        );
    }
    let parent = std::path::absolute(&parent)?;
    let dest = parent.join(&args.name);
    if dest.exists() {
        bail!(
            "{} already exists; mcp new writes only new directories: choose another NAME or --dir",
            dest.display()
        );
    }
    let sdk = match &args.sdk {
        Some(sdk) => {
            let sdk = std::path::absolute(sdk)?;
            if !sdk.join(SDK_MARK).is_file() {
                bail!(
                    "--sdk {}: not the model SDK (it has no {SDK_MARK}); pass the model-sdk \
                     directory of an mcp checkout",
                    sdk.display()
                );
            }
            sdk
        }
        None => find_sdk(&parent).with_context(|| {
            format!(
                "no model SDK above {}: run `mcp new` inside an mcp checkout, or pass --sdk \
                 PATH/TO/model-sdk",
                parent.display()
            )
        })?,
    };
    // Inside the checkout the paths are relative, so the checkout can move; outside it, absolute.
    let checkout = sdk.parent().unwrap_or(&sdk).to_path_buf();
    let inside = dest.starts_with(&checkout);
    let sdk_from_model = match inside {
        true => pathdiff::diff_paths(&sdk, &dest).unwrap_or(sdk.clone()),
        false => sdk.clone(),
    };
    let template = match args.lang {
        Lang::Rust => &RUST,
        Lang::Python => &PYTHON,
        Lang::Js => &JS,
        Lang::C => &C,
    };
    let mut files = render(template, &args.name, &sdk_from_model.to_string_lossy());
    if args.lang == Lang::Js {
        // componentize-js reads imports only below the directory it builds in, so a JavaScript
        // model carries its own copy of the guest library.
        files.push((PathBuf::from("mcp_model.js"), JS_LIBRARY.to_string()));
    }
    write_all(&dest, &files)?;

    // The commands below run in the checkout: the model's path from there.
    let shown = match inside {
        true => dest.strip_prefix(&checkout).unwrap_or(&dest).to_path_buf(),
        false => dest.clone(),
    };
    let shown = shown.display();
    eprintln!("wrote {shown}/:");
    for (path, _) in &files {
        eprintln!("  {}", path.display());
    }
    let test = match args.lang {
        Lang::Rust => format!("(cd {shown} && cargo test)"),
        _ => format!("cargo xtask test-model {shown}"),
    };
    eprintln!(
        "next, in the mcp checkout ({}):\n  {test}\n  cargo xtask build-model {shown}\n  mcp submit \
         target/models/{name}.wasm --spec {shown}/vars.toml",
        checkout.display(),
        name = args.name
    );
    Ok(ExitCode::SUCCESS)
}

/// A model name is its directory's name, a Rust package name and the name `describe` reports:
/// lowercase letters, digits and `-`, starting with a letter.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "NAME `{name}`: a model name is 1 to 64 lowercase letters, digits and `-`, starting \
             with a letter and not ending with `-` (for example `loss-model`)"
        );
    }
    Ok(())
}

/// The nearest `model-sdk/` holding the ABI, in `dir` or above it.
fn find_sdk(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("model-sdk"))
        .find(|sdk| sdk.join(SDK_MARK).is_file())
}

/// Every file of `template`, at its path in the new directory, with its placeholders filled.
fn render(template: &Dir<'_>, name: &str, sdk: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    collect(template, &mut files);
    files
        .into_iter()
        .map(|(path, text)| {
            let path = match path.to_str().and_then(|p| p.strip_suffix(".in")) {
                Some(stripped) => PathBuf::from(stripped),
                None => path,
            };
            let text = text.replace("{{name}}", name).replace("{{sdk}}", sdk);
            (path, text)
        })
        .collect()
}

fn collect(dir: &Dir<'_>, out: &mut Vec<(PathBuf, String)>) {
    for file in dir.files() {
        let text = file
            .contents_utf8()
            .expect("templates are UTF-8 text")
            .to_string();
        out.push((file.path().to_path_buf(), text));
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

/// Writes the files under `dest`, which must not exist; on a failure, removes what it wrote.
fn write_all(dest: &Path, files: &[(PathBuf, String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dest.parent().unwrap_or(dest))?;
    std::fs::create_dir(dest).with_context(|| format!("could not create {}", dest.display()))?;
    let written = files.iter().try_for_each(|(path, text)| {
        let path = dest.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_a_model_are_refused_with_the_rule() {
        for good in ["a", "loss-model", "m2"] {
            check_name(good).unwrap();
        }
        for bad in ["", "Loss", "2m", "a_b", "a-", "a/b", &"a".repeat(65)] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(
                err.contains("lowercase letters, digits and `-`"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn every_language_has_a_template_with_a_model_a_spec_and_a_test() {
        for (lang, dir, model, test) in [
            ("rust", &RUST, "src/lib.rs", "src/lib.rs"),
            ("python", &PYTHON, "model.py", "test_model.py"),
            ("js", &JS, "model.js", "model.test.js"),
            ("c", &C, "model.c", "test_model.c"),
        ] {
            let files = render(dir, "my-model", "../../model-sdk");
            let text = |name: &str| {
                files
                    .iter()
                    .find(|(p, _)| p == Path::new(name))
                    .map(|(_, t)| t.as_str())
                    .unwrap_or_else(|| panic!("{lang}: no {name} in {files:?}"))
            };
            assert!(
                text(model).contains("my-model"),
                "{lang}: {model} names the model"
            );
            text(test);
            assert!(text("vars.toml").contains("name = \"my-model\""), "{lang}");
            assert!(
                files.iter().all(|(_, t)| !t.contains("{{")),
                "{lang}: a placeholder left unfilled"
            );
        }
    }
}
