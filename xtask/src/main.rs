//! Project tasks: `cargo xtask <task>`. Run `cargo xtask help` for the list. One module per
//! task; this file dispatches and holds the helpers they share.

mod bench;
mod broker;
mod chaos;
mod containers;
mod debian;
mod deploy;
mod deps;
mod languages;
mod models;
mod test;
mod web;

use anyhow::{Context, Result, bail};
use languages::Install;
use std::path::PathBuf;
use std::process::Command;

const HELP: &str = "\
cargo xtask <task>

tasks:
  build-model NAME|DIR
                     build a model as a component of the mcp:model world and write
                     target/models/NAME.wasm: example-models/NAME (or a test model), or the
                     model directory DIR (e.g. one `mcp new` made). Its language comes from
                     its files: Cargo.toml (Rust), model.py (Python, componentize-py),
                     model.js (JavaScript, componentize-js), model.c (C, clang 19 and
                     wasi-libc); the Python and JavaScript tools are installed at pinned
                     versions into target/tools/ when missing
  build-models       build every example and test model, in every language
  test-model NAME|DIR
                     run a model's native tests in its language's runner: cargo test,
                     pytest, node --test, make test
  demo               build the pricing model and run it embedded on every core
  web                install the dashboard's npm packages (uPlot, playwright-core) into web/;
                     a build of the mcp binary needs them (it bundles the chart library)
  test               install what the tests need (RabbitMQ, Chromium, the npm packages, the
                     model languages' tools), check the dependency map, build the models in
                     every language, run their native tests and every test
  deps               check that ARCHITECTURE.md's dependency map and every crate's manifest
                     agree, that versions live in [workspace.dependencies], and that every
                     dependency is used
  bench [embedded|distributed|ingest|api|languages]
                     build the models and run the benchmarks (release): embedded, over
                     RabbitMQ (both when none is named), the coordinator's ingest capacity
                     alone, its recording latency under API load, or pricing in Python,
                     JavaScript and C against Rust (size, compile time, scenarios/s)
  chaos [--scenarios N] [--min-seconds S] [--consumers K] [--kill-every-ms T]
        [--seed X] [--debug]
                     soak: a job of at least S s (default 180) on K consumers (4) while one
                     is SIGKILLed every T ms (2500) on average and the broker restarts twice;
                     the totals and outputs must equal the embedded run's
  images [--binary PATH]
                     build the container images the deployment tests run, from Debian
                     packages with podman (no registry needed; cached in
                     /var/lib/mcp-containers): Debian bookworm and trixie bases, RabbitMQ 3
                     and 4, Prometheus, and localhost/mcp:test around the mcp binary PATH
                     (default $MCP_BINARY, else target/release/mcp); installs podman,
                     docker-compose, promtool and the manifest validators when missing; then
                     checks deploy/ offline (promtool, kubernetes-validate, KEDA's schema)
  deploy [--binary PATH]
                     deploy/ run for real here (what `test` runs last): the images and checks
                     of `images` around PATH (default: the debug build), a broken alert
                     expectation that must fail, the compose stack with 4 consumers scaled to 1
                     mid-job (summaries equal to embedded, /metrics and Prometheus agreeing),
                     and the Kubernetes manifests under `podman kube play`
  broker             make sure the test broker runs (RabbitMQ on 5672, TLS on 5671) and
                     print the variables the tests read, ready for `export`
  help               this text
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build-model") => {
            let Some(name) = args.get(1) else {
                bail!(
                    "usage: cargo xtask build-model NAME|DIR (models: {})",
                    models::model_names()?.join(", ")
                );
            };
            models::ensure_wasm_target(false)?;
            let path = models::build_model(name, Install::NameTheCommand)?;
            println!("{}", path.display());
            Ok(())
        }
        Some("build-models") => {
            models::ensure_wasm_target(false)?;
            for path in models::build_all_models(Some(Install::NameTheCommand))? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Some("test-model") => {
            let Some(name) = args.get(1) else {
                bail!(
                    "usage: cargo xtask test-model NAME|DIR (models: {})",
                    models::model_names()?.join(", ")
                );
            };
            models::test_model(name, Install::NameTheCommand)
        }
        Some("demo") => demo(),
        Some("test") => test::test(),
        Some("web") => web::web(),
        Some("deps") => deps::check(),
        Some("bench") => bench::bench(args.get(1).map(String::as_str)),
        Some("chaos") => chaos::chaos(&args[1..]),
        Some("images") => containers::images(&args[1..]),
        Some("deploy") => deploy::deploy(&args[1..]),
        Some("broker") => {
            let broker = broker::ensure_broker()?;
            println!("MCP_TEST_BROKER={}", broker.url);
            println!("MCP_TEST_BROKER_TLS={}", broker.tls_url);
            println!("MCP_TEST_BROKER_CA={}", broker.ca.display());
            Ok(())
        }
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

/// `cargo xtask demo`: the pricing model, run embedded on every core (release build).
fn demo() -> Result<()> {
    models::ensure_wasm_target(true)?;
    web::web()?;
    let model = models::build_model("pricing", Install::NameTheCommand)?;
    run(cargo()
        .args(["run", "--release", "--package", "mcp-cli", "--", "submit"])
        .arg(&model)
        .arg("--spec")
        .arg(project_root().join("example-models/pricing/vars.toml")))
}

/// The project root: the parent of xtask's directory, as `cargo run` names it at run time (a
/// binary built in another checkout sharing the target directory would otherwise point there).
fn project_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("xtask lives in the project root")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                project_root().join(dir)
            }
        }
        None => project_root().join("target"),
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", shown(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", shown(cmd)))?;
    if !status.success() {
        bail!("{} failed with {status}", shown(cmd));
    }
    Ok(())
}

fn shown(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Installs Debian packages (`args` may also hold apt-get's options), after refreshing the
/// package lists.
fn apt_install(args: &[&str]) -> Result<()> {
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
