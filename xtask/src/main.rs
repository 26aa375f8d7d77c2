//! Project tasks: `cargo xtask <task>`. Run `cargo xtask help` for the list.

mod chaos;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const HELP: &str = "\
cargo xtask <task>

tasks:
  build-model NAME   build example-models/NAME (or a test model) as a wasm32-wasip2 component
                     and write target/models/NAME.wasm
  build-models       build every example and test model
  demo               build the pricing model and run it embedded on every core
  web                install the dashboard's npm packages (uPlot, playwright-core) into web/
  test               install what the tests need (RabbitMQ, Chromium, the npm packages),
                     build the models, run every test
  bench [embedded|distributed]
                     build the models and run the benchmarks (release), embedded and
                     over RabbitMQ (both when neither is named)
  chaos [--scenarios N] [--min-seconds S] [--consumers K] [--kill-every-ms T]
        [--seed X] [--debug]
                     soak: a job of at least S s (default 180) on K consumers (4) while one
                     is SIGKILLed every T ms (2500) on average and the broker restarts twice;
                     the totals and outputs must equal the embedded run's
  broker             make sure the test broker runs (RabbitMQ on 5672, TLS on 5671) and
                     print the variables the tests read, ready for `export`
  help               this text
";

/// Directories holding model crates, searched in this order.
const MODEL_DIRS: &[&str] = &["example-models", "crates/sandbox/test-models"];
const WASM_TARGET: &str = "wasm32-wasip2";
/// The cargo profile models are built with (see the root Cargo.toml).
const MODEL_PROFILE: &str = "model";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build-model") => {
            let Some(name) = args.get(1) else {
                bail!(
                    "usage: cargo xtask build-model NAME (models: {})",
                    model_names()?.join(", ")
                );
            };
            ensure_wasm_target(false)?;
            let path = build_model(name)?;
            println!("{}", path.display());
            Ok(())
        }
        Some("build-models") => {
            ensure_wasm_target(false)?;
            for path in build_all_models()? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Some("demo") => demo(),
        Some("test") => test(),
        Some("web") => web(),
        Some("bench") => bench(args.get(1).map(String::as_str)),
        Some("chaos") => chaos::chaos(&args[1..]),
        Some("broker") => {
            let broker = ensure_broker()?;
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

/// Makes sure the wasm target is installed; installs it when `install` is set.
fn ensure_wasm_target(install: bool) -> Result<()> {
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

fn model_names() -> Result<Vec<String>> {
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

fn build_model(name: &str) -> Result<PathBuf> {
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

fn build_all_models() -> Result<Vec<PathBuf>> {
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

fn demo() -> Result<()> {
    ensure_wasm_target(true)?;
    let model = build_model("pricing")?;
    run(cargo()
        .args(["run", "--release", "--package", "mcp-cli", "--", "submit"])
        .arg(&model)
        .arg("--spec")
        .arg(project_root().join("example-models/pricing/vars.toml")))
}

fn test() -> Result<()> {
    ensure_wasm_target(true)?;
    let broker = ensure_broker()?;
    let chromium = ensure_chromium()?;
    web()?;
    build_all_models()?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("MCP_TEST_BROKER", &broker.url)
        .env("MCP_TEST_BROKER_TLS", &broker.tls_url)
        .env("MCP_TEST_BROKER_CA", &broker.ca)
        .env("MCP_TEST_CHROMIUM", chromium))?;
    // The soak's short version: same faults and checks, a job of seconds, the debug build the
    // tests just made.
    chaos::chaos(&[
        "--debug".into(),
        "--scenarios".into(),
        "200000".into(),
        "--min-seconds".into(),
        "0".into(),
        "--kill-every-ms".into(),
        "5000".into(),
        "--seed".into(),
        "1".into(),
    ])
}

/// Installs the dashboard's npm packages, exactly as `web/package-lock.json` pins them. The
/// chart library is compiled into the binary, so this runs before any build of `mcp-server`
/// that should have charts.
fn web() -> Result<()> {
    let web = project_root().join("web");
    if !on_path("npm") {
        bail!("npm is not installed; install Node.js (it brings npm), then run `cargo xtask web`");
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&web))
}

/// Debian's Chromium for the browser test: the one on the machine, else installed with apt-get.
fn ensure_chromium() -> Result<String> {
    if let Ok(path) = std::env::var("MCP_TEST_CHROMIUM") {
        return Ok(path);
    }
    const CHROMIUM: &str = "/usr/bin/chromium";
    if !Path::new(CHROMIUM).is_file() {
        if !on_path("apt-get") {
            bail!(
                "the browser test needs Chromium at {CHROMIUM}: install Debian's `chromium` and \
                 `chromium-driver` packages, or set MCP_TEST_CHROMIUM to a Chromium binary"
            );
        }
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(CHROMIUM.to_string())
}

/// The brokers the tests use: plain AMQP and AMQP over TLS to the same RabbitMQ.
struct TestBroker {
    url: String,
    tls_url: String,
    ca: PathBuf,
}

/// The broker the tests use: `MCP_TEST_BROKER` (with `MCP_TEST_BROKER_TLS` and
/// `MCP_TEST_BROKER_CA`) if set; else a RabbitMQ on 127.0.0.1:5672 with a TLS listener on 5671
/// under a throwaway test CA, started (and installed, where apt-get can) when it is not running.
/// Fails, never skips, without one.
fn ensure_broker() -> Result<TestBroker> {
    if let Ok(url) = std::env::var("MCP_TEST_BROKER") {
        let (Ok(tls_url), Ok(ca)) = (
            std::env::var("MCP_TEST_BROKER_TLS"),
            std::env::var("MCP_TEST_BROKER_CA"),
        ) else {
            bail!(
                "MCP_TEST_BROKER is set, so the tests use that broker; also set \
                 MCP_TEST_BROKER_TLS (its amqps:// URL) and MCP_TEST_BROKER_CA (the PEM file of \
                 the CA that signed its certificate)"
            );
        };
        return Ok(TestBroker {
            url,
            tls_url,
            ca: ca.into(),
        });
    }
    const ADDR: &str = "127.0.0.1:5672";
    const TLS_ADDR: &str = "127.0.0.1:5671";
    let broker = TestBroker {
        url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
        tls_url: "amqps://guest:guest@localhost:5671/%2f".into(),
        ca: Path::new(TEST_TLS_DIR).join("ca.pem"),
    };
    if listening(ADDR) && listening(TLS_ADDR) {
        return Ok(broker);
    }
    if !on_path("rabbitmq-server") {
        if !on_path("apt-get") {
            bail!("{}", no_broker_message());
        }
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "rabbitmq-server"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    configure_test_tls()?;
    if listening(ADDR) {
        // Running without the TLS listener: it reads its configuration only when it starts.
        eprintln!("restarting RabbitMQ to open its TLS listener on {TLS_ADDR}");
        run(Command::new("rabbitmqctl").arg("stop"))?;
    }
    run(Command::new("rabbitmq-server").arg("-detached"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !(listening(ADDR) && listening(TLS_ADDR)) {
        if std::time::Instant::now() > deadline {
            bail!(
                "rabbitmq-server started but nothing listens on {ADDR} and {TLS_ADDR} after 120 s; \
                 see /var/log/rabbitmq/"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // The port opens before the node is fully booted; this returns once it is.
    run(Command::new("rabbitmqctl").args(["await_startup"]))?;
    Ok(broker)
}

/// Where the test broker's throwaway CA and certificate live.
const TEST_TLS_DIR: &str = "/etc/rabbitmq/mcp-test-tls";
/// Marks the block this task adds to rabbitmq.conf.
const TLS_CONF_MARK: &str = "# mcp test TLS listener (added by `cargo xtask test`)";

/// Makes a throwaway CA and a certificate for localhost signed by it (openssl), and has the
/// local RabbitMQ listen for TLS on 5671 with them. Test-only: the key is world-readable.
fn configure_test_tls() -> Result<()> {
    let dir = Path::new(TEST_TLS_DIR);
    if !dir.join("server.pem").is_file() {
        if !on_path("openssl") {
            run(Command::new("apt-get")
                .args(["install", "-y", "-qq", "openssl"])
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {TEST_TLS_DIR}"))?;
        let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=mcp test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ])?;
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ])?;
        // RabbitMQ runs as its own user and must read the key.
        run(Command::new("chmod")
            .args(["644", "server.key"])
            .current_dir(dir))?;
    }
    let conf = Path::new("/etc/rabbitmq/rabbitmq.conf");
    let text = std::fs::read_to_string(conf).unwrap_or_default();
    if !text.contains(TLS_CONF_MARK) {
        let block = format!(
            "\n{TLS_CONF_MARK}\nlisteners.ssl.default = 5671\n\
             ssl_options.cacertfile = {TEST_TLS_DIR}/ca.pem\n\
             ssl_options.certfile = {TEST_TLS_DIR}/server.pem\n\
             ssl_options.keyfile = {TEST_TLS_DIR}/server.key\n\
             ssl_options.verify = verify_none\n\
             ssl_options.fail_if_no_peer_cert = false\n"
        );
        std::fs::write(conf, text + &block)
            .with_context(|| format!("could not write {}", conf.display()))?;
    }
    Ok(())
}

fn no_broker_message() -> String {
    "no RabbitMQ on 127.0.0.1:5672 and no way to install one here; start one (for example \
     `apt-get install rabbitmq-server && rabbitmq-server -detached`, or \
     `docker run -d -p 5672:5672 rabbitmq:3`) or point MCP_TEST_BROKER at one"
        .to_string()
}

fn listening(addr: &str) -> bool {
    let addr: std::net::SocketAddr = addr.parse().expect("a socket address");
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn bench(which: Option<&str>) -> Result<()> {
    ensure_wasm_target(true)?;
    build_all_models()?;
    match which {
        None => {
            bench_embedded()?;
            bench_distributed()
        }
        Some("embedded") => bench_embedded(),
        Some("distributed") => bench_distributed(),
        Some(other) => bail!("unknown benchmark `{other}`: say embedded or distributed"),
    }
}

fn bench_embedded() -> Result<()> {
    run(cargo().args(["bench", "--package", "mcp-embedded", "--bench", "pricing"]))
}

/// `pricing` embedded against distributed (two consumer processes on this machine) in the same
/// run, and the batching gain: the same job with one scenario per message.
fn bench_distributed() -> Result<()> {
    let broker = ensure_broker()?.url;
    run(cargo().args(["build", "--release", "--package", "mcp-cli"]))?;
    let mcp = target_dir().join("release/mcp");
    let model = target_dir().join("models/pricing.wasm");
    let spec = project_root().join("example-models/pricing/vars.toml");
    let prefix = format!("bench-{}", std::process::id());
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let with_batch = |batch: u32| -> Result<PathBuf> {
        let path = dir.join(format!("pricing-batch{batch}.toml"));
        let text =
            std::fs::read_to_string(&spec)?.replace("batch = 1024", &format!("batch = {batch}"));
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let batch1 = with_batch(1)?;
    let batch64k = with_batch(65536)?;

    let elapsed = |args: &[&str]| -> Result<f64> {
        let out = Command::new(&mcp).args(args).output()?;
        if !out.status.success() {
            bail!(
                "mcp {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        summary["elapsed_s"]
            .as_f64()
            .context("no elapsed_s in the summary")
    };
    let (m, s, b1, b64k) = (
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        batch1.to_str().unwrap(),
        batch64k.to_str().unwrap(),
    );
    let mut consumers = Vec::new();
    for id in ["bench-a", "bench-b"] {
        consumers.push(
            Command::new(&mcp)
                .args([
                    "consumer", "--broker", &broker, "--prefix", &prefix, "--id", id,
                ])
                .args(["--threads", "1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?,
        );
    }
    let distributed = |spec: &str, n: &str| {
        elapsed(&[
            "submit",
            m,
            "--spec",
            spec,
            "--scenarios",
            n,
            "--broker",
            &broker,
            "--prefix",
            &prefix,
            "--wait",
            "--json",
        ])
    };
    let embedded = |spec: &str| {
        elapsed(&[
            "submit",
            m,
            "--spec",
            spec,
            "--scenarios",
            "10000000",
            "--json",
        ])
    };
    let result = (|| -> Result<()> {
        // One small job first: consumers compile the model, like any first job of a fleet.
        distributed(s, "10000")?;
        let n = 10_000_000f64;
        // Best of five, the cases interleaved so that the machine's noise hits them alike; each
        // batch size against embedded with the same spec (the batch size is part of it).
        let mut best = [0f64; 4];
        for _ in 0..5 {
            for (i, rate) in [
                n / embedded(s)?,
                n / distributed(s, "10000000")?,
                n / embedded(b64k)?,
                n / distributed(b64k, "10000000")?,
            ]
            .into_iter()
            .enumerate()
            {
                best[i] = best[i].max(rate);
            }
        }
        let [embedded_1k, dist_1k, embedded_64k, dist_64k] = best;
        let n1 = 20_000f64;
        let dist_b1 = n1 / distributed(b1, "20000")?;
        let dist_b1024 = n1 / distributed(s, "20000")?;
        println!(
            "pricing over RabbitMQ, 2 consumers x 1 thread, prefetch 32, 16 results in flight, on this machine"
        );
        println!("10M scenarios, best of 5            scenarios/s");
        for (label, embedded, dist) in [
            ("batch 1024 ", embedded_1k, dist_1k),
            ("batch 65536", embedded_64k, dist_64k),
        ] {
            println!("embedded,    {label}        {embedded:>12.0}");
            println!(
                "distributed, {label}        {dist:>12.0}   {:.2}x embedded",
                dist / embedded
            );
        }
        println!(
            "distributed, batch 1024, 20k scenarios      {:>10.0} scenarios/s",
            dist_b1024
        );
        println!(
            "distributed, batch 1, 20k scenarios         {:>10.0} scenarios/s   batching gain {:.0}x",
            dist_b1,
            dist_b1024 / dist_b1
        );
        Ok(())
    })();
    for mut c in consumers {
        let _ = c.kill();
        let _ = c.wait();
    }
    delete_queues(&prefix);
    result
}

/// Deletes the queues a run under `prefix` left on the local broker (best effort).
fn delete_queues(prefix: &str) {
    for q in [
        "model",
        "scenarios",
        "results",
        "jobs",
        "stats.producer",
        "stats.consumers",
        "dead-letters",
    ] {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_queue", &format!("{prefix}.{q}")])
            .output();
    }
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
