//! `cargo xtask deps`: the dependencies tell the truth. Three checks, each naming the file to
//! fix:
//!
//! - ARCHITECTURE.md's dependency map (the table between its `dependency map` markers) lists,
//!   for every `mcp-*` crate, exactly the workspace crates its manifest depends on;
//! - every dependency of every workspace member takes its version from the root manifest's
//!   `[workspace.dependencies]` (`name.workspace = true`);
//! - every dependency is used: its crate name appears in the code that can use it (`src/` for
//!   dependencies, `build.rs` for build dependencies, `src/`, `tests/`, `benches/` and
//!   `examples/` for dev-dependencies), and none is listed both as a dependency and a
//!   dev-dependency.

use crate::project_root;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The marker lines around the map in ARCHITECTURE.md.
const MAP_START: &str = "<!-- dependency map: checked by `cargo xtask deps` -->";
const MAP_END: &str = "<!-- end of dependency map -->";

/// Runs the three checks on the project; the error lists every problem found.
pub(crate) fn check() -> Result<()> {
    let packages = workspace_packages()?;
    let mut problems = Vec::new();
    for package in &packages {
        problems.extend(check_manifest(package)?);
        problems.extend(check_usage(package)?);
    }
    let architecture = project_root().join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&architecture)
        .with_context(|| format!("could not read {}", architecture.display()))?;
    problems.extend(check_map(&text, &packages));
    if problems.is_empty() {
        eprintln!("deps: the dependency map and the manifests agree; every dependency is used");
        return Ok(());
    }
    bail!(
        "the dependencies do not tell the truth:\n  {}",
        problems.join("\n  ")
    )
}

/// A workspace member as `cargo metadata` describes it.
#[derive(Debug)]
struct Package {
    name: String,
    manifest: PathBuf,
    /// (crate name in code, package name, kind: "normal", "dev" or "build").
    dependencies: Vec<(String, String, String)>,
}

impl Package {
    fn dir(&self) -> &Path {
        self.manifest.parent().expect("a manifest has a directory")
    }

    /// The workspace crates it depends on (not for tests), by package name.
    fn workspace_dependencies(&self, members: &BTreeSet<&str>) -> BTreeSet<String> {
        self.dependencies
            .iter()
            .filter(|(_, name, kind)| kind != "dev" && members.contains(name.as_str()))
            .map(|(_, name, _)| name.clone())
            .collect()
    }
}

fn workspace_packages() -> Result<Vec<Package>> {
    let out = crate::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("could not run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&out.stdout)?;
    let packages = metadata["packages"].as_array().context("no packages")?;
    Ok(packages
        .iter()
        .map(|p| Package {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            manifest: PathBuf::from(p["manifest_path"].as_str().unwrap_or_default()),
            dependencies: p["dependencies"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    let name = d["name"].as_str().unwrap_or_default().to_string();
                    let in_code = d["rename"]
                        .as_str()
                        .map_or_else(|| name.replace('-', "_"), str::to_string);
                    let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                    (in_code, name, kind)
                })
                .collect(),
        })
        .collect())
}

/// Every dependency table of the manifest takes its versions from the workspace.
fn check_manifest(package: &Package) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(&package.manifest)?;
    let manifest: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", package.manifest.display()))?;
    let shown = relative(&package.manifest);
    let mut problems = Vec::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = manifest.get(table).and_then(|t| t.as_table()) else {
            continue;
        };
        for (name, spec) in deps {
            let inherited = spec
                .as_table()
                .and_then(|t| t.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true);
            if !inherited {
                problems.push(format!(
                    "{shown}: [{table}] {name} sets its own version or path; declare it in the \
                     root Cargo.toml's [workspace.dependencies] and write `{name} = \
                     {{ workspace = true }}` (features may follow)"
                ));
            }
        }
    }
    Ok(problems)
}

/// Every dependency appears in the code that can use it.
fn check_usage(package: &Package) -> Result<Vec<String>> {
    let dir = package.dir();
    let shown = relative(&package.manifest);
    let mut problems = Vec::new();
    let mut kinds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, name, kind) in &package.dependencies {
        kinds.entry(name).or_default().insert(kind);
    }
    for (name, kinds) in &kinds {
        if kinds.contains("normal") && kinds.contains("dev") {
            problems.push(format!(
                "{shown}: {name} is both a dependency and a dev-dependency; tests can use the \
                 dependency, so remove it from [dev-dependencies]"
            ));
        }
    }
    for (in_code, name, kind) in &package.dependencies {
        let places: &[&str] = match kind.as_str() {
            "build" => &["build.rs"],
            "dev" => &["src", "tests", "benches", "examples"],
            _ => &["src"],
        };
        let mut used = false;
        for place in places {
            used |= mentions(&dir.join(place), in_code)?;
        }
        if !used {
            let table = match kind.as_str() {
                "build" => "build-dependencies",
                "dev" => "dev-dependencies",
                _ => "dependencies",
            };
            problems.push(format!(
                "{shown}: [{table}] {name} is not used ({in_code} appears nowhere in {}); \
                 remove it",
                places.join(", ")
            ));
        }
    }
    Ok(problems)
}

/// Whether a Rust file at or under `path` names the crate `name` outside a comment.
fn mentions(path: &Path, name: &str) -> Result<bool> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            if mentions(&entry?.path(), name)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if path.extension().is_none_or(|e| e != "rs") {
        return Ok(false);
    }
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .any(|l| names(l, name)))
}

/// Whether `line` holds `name` as a whole identifier.
fn names(line: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The map in ARCHITECTURE.md against the manifests; the right map when they differ.
fn check_map(text: &str, packages: &[Package]) -> Vec<String> {
    let members: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let actual: BTreeMap<String, BTreeSet<String>> = packages
        .iter()
        .filter(|p| p.name.starts_with("mcp-"))
        .map(|p| (p.name.clone(), p.workspace_dependencies(&members)))
        .collect();
    let documented = match parse_map(text) {
        Ok(map) => map,
        Err(e) => return vec![format!("ARCHITECTURE.md: {e}\n{}", render_map(&actual))],
    };
    if documented == actual {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for name in actual
        .keys()
        .chain(documented.keys())
        .collect::<BTreeSet<_>>()
    {
        match (documented.get(name), actual.get(name)) {
            (Some(doc), Some(real)) if doc != real => problems.push(format!(
                "ARCHITECTURE.md: the map says {name} depends on {}, its manifest on {}",
                list(doc),
                list(real)
            )),
            (None, Some(_)) => problems.push(format!("ARCHITECTURE.md: the map lacks {name}")),
            (Some(_), None) => problems.push(format!(
                "ARCHITECTURE.md: the map lists {name}, which is not a workspace crate"
            )),
            _ => {}
        }
    }
    problems.push(format!(
        "the map that matches the manifests:\n{}",
        render_map(&actual)
    ));
    problems
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Reads the table between the markers: `| `crate` | `dep`, `dep` |` or `| `crate` | — |`.
fn parse_map(text: &str) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let start = text
        .find(MAP_START)
        .with_context(|| format!("no line `{MAP_START}`"))?;
    let end = text[start..]
        .find(MAP_END)
        .with_context(|| format!("no line `{MAP_END}` after the map"))?;
    let mut map = BTreeMap::new();
    for line in text[start..start + end].lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [name, deps] = cells.as_slice() else {
            continue;
        };
        let name = name.trim().trim_matches('`');
        if !name.starts_with("mcp-") {
            continue;
        }
        let deps = deps
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_string())
            .filter(|d| d.starts_with("mcp-"))
            .collect();
        map.insert(name.to_string(), deps);
    }
    Ok(map)
}

fn render_map(map: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut out = format!("{MAP_START}\n| crate | depends on (workspace crates) |\n|---|---|\n");
    for (name, deps) in map {
        let deps = if deps.is_empty() {
            "—".to_string()
        } else {
            deps.iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("| `{name}` | {deps} |\n"));
    }
    out.push_str(MAP_END);
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(project_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dependencies_tell_the_truth() {
        if let Err(e) = check() {
            panic!("{e:#}\n(run `cargo xtask deps` after fixing)");
        }
    }

    #[test]
    fn a_stale_map_is_reported_with_the_map_that_fits() {
        let package = |name: &str, deps: &[&str]| Package {
            name: name.to_string(),
            manifest: PathBuf::from(format!("/p/{name}/Cargo.toml")),
            dependencies: deps
                .iter()
                .map(|d| (d.replace('-', "_"), d.to_string(), "normal".to_string()))
                .collect(),
        };
        let packages = [
            package("mcp-spec", &["serde"]),
            package("mcp-cli", &["mcp-spec", "clap"]),
        ];
        let good = format!(
            "{MAP_START}\n| crate | depends on |\n|---|---|\n| `mcp-cli` | `mcp-spec` |\n| \
             `mcp-spec` | — |\n{MAP_END}"
        );
        assert!(check_map(&good, &packages).is_empty());
        let stale = good.replace("| `mcp-cli` | `mcp-spec` |", "| `mcp-cli` | — |");
        let problems = check_map(&stale, &packages);
        assert_eq!(
            problems[0],
            "ARCHITECTURE.md: the map says mcp-cli depends on nothing, its manifest on mcp-spec"
        );
        assert!(
            problems[1].contains("| `mcp-cli` | `mcp-spec` |"),
            "{}",
            problems[1]
        );
        assert!(names("use mcp_spec::Spec;", "mcp_spec"));
        assert!(!names("use mcp_spec_extra::X;", "mcp_spec"));
    }
}
