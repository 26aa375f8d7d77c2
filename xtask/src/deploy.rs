//! `cargo xtask deploy`: `deploy/` run for real on this machine, as `cargo xtask test` runs it.
//!
//! 1. The images (`containers::ensure_images`, cached) around the mcp binary the tests built,
//!    and the offline checks of `deploy/` (promtool, kubernetes-validate, KEDA's schema,
//!    compose's config); and a broken alert expectation must make `promtool test rules` fail.
//! 2. Compose (docker-compose against podman, RabbitMQ 4 from Debian 13): four consumers; a
//!    job submitted through the API with `mcp submit --api`; scaled to one consumer mid-job
//!    (the others drain on SIGTERM); its summary equals the embedded run's bit for bit. Then a
//!    second job on the one consumer: serve's and that consumer's `/metrics` count exactly its
//!    scenarios, and a real Prometheus, scraping them, answers the same count.
//! 3. The Kubernetes manifests under `podman kube play` (the `deploy/k8s/test` overlay: a broker
//!    pod, serve, two consumers): a job submitted through serve's API completes with the
//!    embedded run's summary.

use crate::containers::{Podman, RUN_DIR, ensure_images, ensure_venv, kustomize};
use crate::{project_root, run, shown, target_dir};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The API token of `deploy/.env.example`, which the compose stack runs with.
const TOKEN: &str = "change-me-api-token";
/// The API token of `deploy/k8s/test/secret.yaml`.
const KUBE_TOKEN: &str = "test-token";
/// How long anything here may take to become true.
const PATIENCE: Duration = Duration::from_secs(180);

/// `cargo xtask deploy [--binary PATH]` (default: the debug build the tests made).
pub(crate) fn deploy(args: &[String]) -> Result<()> {
    let binary = match args {
        [] => target_dir().join("debug/mcp"),
        [flag, path] if flag == "--binary" => PathBuf::from(path),
        _ => bail!("usage: cargo xtask deploy [--binary PATH]"),
    };
    let started = Instant::now();
    let slim = without_debug_info(&binary)?;
    let podman = ensure_images(&slim)?;
    check_deploy_files()?;
    a_broken_alert_expectation_fails()?;
    eprintln!(
        "deploy: images and checks in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let model = target_dir().join("models/pricing.wasm");
    if !model.is_file() {
        bail!(
            "no {}: run `cargo xtask build-models` first",
            model.display()
        );
    }
    let host = Host { mcp: binary, model };
    compose(&podman, &host)?;
    eprintln!(
        "deploy: compose done at {:.0} s",
        started.elapsed().as_secs_f64()
    );
    kube(&podman, &host)?;
    eprintln!(
        "deploy: OK in {:.0} s (images, checks, compose, kube play)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A copy of `binary` without its debug information (a debug build is mostly that), for the
/// image.
fn without_debug_info(binary: &Path) -> Result<PathBuf> {
    if !binary.is_file() {
        bail!(
            "no mcp binary at {}: build it (`cargo build -p mcp-cli`) or name one with --binary",
            binary.display()
        );
    }
    let slim = Path::new(crate::containers::STATE_DIR).join("mcp-slim");
    std::fs::create_dir_all(crate::containers::STATE_DIR)?;
    run(Command::new("objcopy")
        .arg("--strip-debug")
        .arg(binary)
        .arg(&slim))?;
    Ok(slim)
}

/// `promtool test rules` must fail when an expectation is wrong: a copy of the tests whose
/// first expected severity is changed.
fn a_broken_alert_expectation_fails() -> Result<()> {
    let prometheus = project_root().join("deploy/prometheus");
    let dir =
        Path::new(crate::containers::RUN_DIR).join(format!("broken-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let tests = std::fs::read_to_string(prometheus.join("alerts.test.yml"))?;
    let broken = tests.replacen("severity: critical", "severity: not-this-one", 1);
    if broken == tests {
        bail!("deploy/prometheus/alerts.test.yml expects no `severity: critical` to break");
    }
    std::fs::write(dir.join("alerts.test.yml"), broken)?;
    std::fs::copy(prometheus.join("alerts.yml"), dir.join("alerts.yml"))?;
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(dir.join("alerts.test.yml"))
        .output()?;
    let _ = std::fs::remove_dir_all(&dir);
    if out.status.success() {
        bail!("promtool test rules passed a broken expectation: the alert tests test nothing");
    }
    eprintln!("deploy: a broken alert expectation fails promtool test rules, as it must");
    Ok(())
}

/// The host's side: its mcp binary (the embedded reference, the API client) and the model.
struct Host {
    mcp: PathBuf,
    model: PathBuf,
}

impl Host {
    fn spec(&self) -> PathBuf {
        project_root().join("example-models/pricing/vars.toml")
    }

    /// `mcp submit` of the pricing model with `scenarios`, as a child printing JSON on stdout.
    fn submit(&self, scenarios: u64, extra: &[&str]) -> Command {
        self.submit_with(scenarios, extra, TOKEN)
    }

    /// [`Host::submit`] with the API token `token`.
    fn submit_with(&self, scenarios: u64, extra: &[&str], token: &str) -> Command {
        let mut cmd = Command::new(&self.mcp);
        cmd.arg("submit")
            .arg(&self.model)
            .arg("--spec")
            .arg(self.spec())
            .args(["--scenarios", &scenarios.to_string(), "--json"])
            .args(extra)
            .env("MCP_TOKEN", token)
            .env_remove("MCP_BROKER")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// The summary of a finished `mcp submit`, which must have succeeded.
    fn summary(child: Child, what: &str) -> Result<Value> {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "{what} failed with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| format!("{what} printed no summary"))
    }

    /// Checks that `summary` is the embedded run's, bit for bit.
    fn check_as_embedded(&self, summary: &Value, scenarios: u64, what: &str) -> Result<()> {
        let embedded = Host::summary(self.submit(scenarios, &[]).spawn()?, "the embedded run")?;
        let key = |s: &Value| {
            (
                s["scenarios"].clone(),
                s["failed"].clone(),
                s["outputs"].to_string(),
            )
        };
        if key(summary) != key(&embedded) || summary["scenarios"] != scenarios {
            bail!(
                "{what} differs from the embedded run:\n  {what}: {summary}\n  embedded: {embedded}"
            );
        }
        eprintln!("deploy: {what}: {scenarios} scenarios, the embedded run's summary bit for bit");
        Ok(())
    }
}

/// `GET url`: the status and the body; `None` while nothing answers.
fn get(url: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent.get(url).call().ok()?;
    let body = response.body_mut().read_to_string().ok()?;
    Some((response.status().as_u16(), body))
}

fn get_json(url: &str) -> Option<Value> {
    match get(url)? {
        (200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Waits until `check` says yes, failing with `what` after [`PATIENCE`].
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> Result<T> {
    mcp_testkit::within(PATIENCE, &mut check)
        .with_context(|| format!("gave up after {PATIENCE:?} waiting for {what}"))
}

/// Waits until serve at `api` is ready and hears from `consumers` active consumers; a failure
/// says what was last seen (no answer, the consumers' states, or `/readyz`'s status).
fn ready(api: &str, consumers: usize) -> Result<()> {
    let mut last = String::from("nothing yet");
    let outcome = wait_for(
        &format!("serve at {api} ready, with {consumers} consumers"),
        || {
            let Some(seen) = get_json(&format!("{api}/api/consumers")) else {
                last = format!("no JSON answer from {api}/api/consumers");
                return None;
            };
            let states: Vec<String> = (seen.as_array()?.iter())
                .map(|c| format!("{}: {}", c["id"], c["seen_state"]))
                .collect();
            let active = (seen.as_array()?.iter())
                .filter(|c| c["seen_state"] == "active")
                .count();
            let readyz = get(&format!("{api}/readyz")).map(|(status, _)| status);
            last = format!("consumers [{}], /readyz {readyz:?}", states.join(", "));
            (active == consumers && readyz == Some(200)).then_some(())
        },
    );
    outcome.with_context(|| format!("last seen: {last}"))
}

/// The value of the sample `series` (`name` or `name{labels}`) on a Prometheus text page.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The compose stack, up until dropped (then `down --volumes`).
struct Stack<'a> {
    service: &'a crate::containers::PodmanService,
    project: String,
}

impl Stack<'_> {
    fn compose(&self) -> Command {
        let mut cmd = self.service.compose(&self.project);
        // Ports the host picks: nothing here assumes one is free.
        for port in ["MCP_PORT", "RABBITMQ_MANAGEMENT_PORT", "PROMETHEUS_PORT"] {
            cmd.env(port, "0");
        }
        cmd
    }

    /// `http://127.0.0.1:PORT` where the host reaches `service`'s `port`.
    fn url(&self, service: &str, port: u16) -> Result<String> {
        let mut cmd = self.compose();
        cmd.args(["port", service, &port.to_string()]);
        let out = cmd.output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let published = text.trim().rsplit(':').next().unwrap_or_default();
        if !out.status.success() || published.is_empty() {
            bail!(
                "{} said no port: {}",
                shown(&cmd),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(format!("http://127.0.0.1:{published}"))
    }

    /// Prints the last lines of every container's log in the stack: what a failed check
    /// needs to be understood, since the stack is gone once dropped.
    fn print_logs(&self, podman: &Podman) {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let names = podman
            .output(&["ps", "--all", "--filter", &label, "--format", "{{.Names}}"])
            .unwrap_or_default();
        for name in names.lines() {
            let state = podman
                .output(&[
                    "inspect",
                    "--format",
                    "{{.State.Status}} {{.State.ExitCode}}",
                    name,
                ])
                .unwrap_or_default();
            eprintln!(
                "deploy: --- {name} ({}), last lines of its log:",
                state.trim()
            );
            // podman logs writes the container's stderr to its own.
            let _ = podman.run(&["logs", "--tail", "30", name]);
        }
    }

    /// The names of the running consumer containers.
    fn consumers(&self, podman: &Podman) -> Result<Vec<String>> {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let names = podman.output(&[
            "ps",
            "--filter",
            &label,
            "--filter",
            "label=com.docker.compose.service=consumer",
            "--format",
            "{{.Names}}",
        ])?;
        Ok(names.lines().map(str::to_string).collect())
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        let _ = self.compose().args(["down", "--volumes"]).status();
    }
}

fn compose(podman: &Podman, host: &Host) -> Result<()> {
    let service = podman.service()?;
    let stack = Stack {
        service: &service,
        project: format!("mcp-deploy-{}", std::process::id()),
    };
    let checked = compose_checks(podman, host, &stack);
    if checked.is_err() {
        stack.print_logs(podman);
    }
    checked
}

/// The checks on the compose stack `stack`, which is up.
fn compose_checks(podman: &Podman, host: &Host, stack: &Stack) -> Result<()> {
    run(stack.compose().args(["up", "-d", "--scale", "consumer=4"]))?;
    let api = stack.url("serve", 8080)?;
    let prometheus = stack.url("prometheus", 9090)?;
    ready(&api, 4)?;

    // A job through the API, scaled from four consumers to one while it runs.
    let scenarios = 5_000_000;
    let job = host.submit(scenarios, &["--api", &api]).spawn()?;
    let progress = wait_for("the job to be under way", || {
        let jobs = get_json(&format!("{api}/api/jobs"))?;
        let running = jobs.as_array()?.iter().find(|j| j["state"] == "running")?;
        let done = running["scenarios"].as_u64()?;
        (done > 0).then_some(done)
    })?;
    run(stack.compose().args(["up", "-d", "--scale", "consumer=1"]))?;
    let jobs = get_json(&format!("{api}/api/jobs")).context("mcp serve stopped answering")?;
    let still_running = jobs[0]["state"] == "running";
    let summary = Host::summary(job, "mcp submit --api")?;
    host.check_as_embedded(&summary, scenarios, "the job scaled from 4 consumers to 1")?;
    if !still_running {
        bail!(
            "the job ended before the scale-down finished ({progress} of {scenarios} scenarios \
             when it began): it proves nothing about scaling down; raise its scenarios"
        );
    }
    let consumers = stack.consumers(podman)?;
    if consumers.len() != 1 {
        bail!("scaled to 1, yet the consumers running are {consumers:?}");
    }

    // A second job on the one consumer: every /metrics, and Prometheus, count it exactly.
    let metrics_of_consumer = || {
        podman.output(&[
            "exec",
            &consumers[0],
            "mcp",
            "health",
            "--print",
            "http://127.0.0.1:9100/metrics",
        ])
    };
    let before_serve = sample(
        &get(&format!("{api}/metrics")).context("no /metrics")?.1,
        "mcp_scenarios_total",
    )
    .context("serve exports no mcp_scenarios_total")?;
    let before_consumer = sample(&metrics_of_consumer()?, "mcp_consumer_scenarios_total")
        .context("the consumer exports no mcp_consumer_scenarios_total")?;
    let second: u32 = 20_000;
    let summary = Host::summary(
        host.submit(u64::from(second), &["--api", &api]).spawn()?,
        "mcp submit --api",
    )?;
    host.check_as_embedded(&summary, u64::from(second), "a job on the one consumer")?;
    let serve_total = sample(
        &get(&format!("{api}/metrics")).context("no /metrics")?.1,
        "mcp_scenarios_total",
    )
    .context("serve exports no mcp_scenarios_total")?;
    let consumer_total = sample(&metrics_of_consumer()?, "mcp_consumer_scenarios_total")
        .context("the consumer exports no mcp_consumer_scenarios_total")?;
    let expected = f64::from(second);
    if serve_total - before_serve != expected || consumer_total - before_consumer != expected {
        bail!(
            "the metrics do not count the job's {second} scenarios: serve {before_serve} -> \
             {serve_total}, consumer {before_consumer} -> {consumer_total}"
        );
    }
    if serve_total != (scenarios + u64::from(second)) as f64 {
        bail!(
            "serve counted {serve_total} scenarios in all, not {}",
            scenarios + u64::from(second)
        );
    }
    let query = format!("{prometheus}/api/v1/query?query=mcp_scenarios_total");
    wait_for("Prometheus to scrape the coordinator's count", || {
        let answer = get_json(&query)?;
        let value = answer["data"]["result"][0]["value"][1]
            .as_str()?
            .parse::<f64>()
            .ok()?;
        (value == serve_total).then_some(())
    })?;
    let query = format!("{prometheus}/api/v1/query?query=mcp_consumer_scenarios_total");
    wait_for("Prometheus to scrape the consumer's count", || {
        let answer = get_json(&query)?;
        let results = answer["data"]["result"].as_array()?;
        results
            .iter()
            .filter_map(|r| r["value"][1].as_str()?.parse::<f64>().ok())
            .any(|v| v == consumer_total)
            .then_some(())
    })?;
    eprintln!(
        "deploy: serve's, the consumer's and Prometheus's counts agree ({serve_total} scenarios)"
    );
    Ok(())
}

fn kube(podman: &Podman, host: &Host) -> Result<()> {
    let network = "mcp-deploy-k8s";
    let play = podman.kube_play(&project_root().join("deploy/k8s/test"), network)?;
    // The containers of a pod share its network namespace: ask the container, else the pod's
    // infra container.
    let address_of = |container: &str| -> Option<String> {
        let out = podman
            .output(&[
                "inspect",
                container,
                "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
            ])
            .ok()?;
        out.split_whitespace().next().map(str::to_string)
    };
    let address = wait_for("serve's pod to have an address", || {
        address_of("mcp-serve-pod-0-serve").or_else(|| {
            let infra = podman
                .output(&[
                    "pod",
                    "inspect",
                    "mcp-serve-pod-0",
                    "--format",
                    "{{.InfraContainerID}}",
                ])
                .ok()?;
            address_of(infra.trim())
        })
    })?;
    let api = format!("http://{address}:8080");
    ready(&api, 2)?;
    let scenarios = 50_000;
    let summary = Host::summary(
        host.submit_with(scenarios, &["--api", &api], KUBE_TOKEN)
            .spawn()?,
        "mcp submit --api",
    )?;
    host.check_as_embedded(&summary, scenarios, "the job under kube play")?;
    drop(play);
    Ok(())
}

/// The offline checks of deploy/: Prometheus' configuration, alert rules and their tests, the
/// dashboard's queries, the Kubernetes manifests (strictly, KEDA's objects included) and the
/// compose files.
pub(crate) fn check_deploy_files() -> Result<()> {
    let deploy = project_root().join("deploy");
    let prometheus = deploy.join("prometheus");
    run(Command::new("promtool")
        .args(["check", "config"])
        .arg(prometheus.join("prometheus.yml")))?;
    run(Command::new("promtool")
        .args(["test", "rules"])
        .arg(prometheus.join("alerts.test.yml")))?;
    check_dashboard_queries(&deploy.join("grafana/dashboards/mcp.json"))?;

    let venv = ensure_venv()?;
    let mut manifests = vec![deploy.join("k8s/secret.example.yaml")];
    for overlay in ["k8s", "k8s/test"] {
        let rendered = kustomize(&deploy.join(overlay))?;
        run(Command::new(venv.join("bin/python"))
            .arg(deploy.join("k8s/validate/validate_keda.py"))
            .arg(&rendered))?;
        manifests.push(rendered);
    }
    let mut validate = Command::new(venv.join("bin/kubernetes-validate"));
    validate.args(["--strict", "--quiet"]).args(&manifests);
    eprintln!("$ {}", shown(&validate));
    let out = validate
        .output()
        .with_context(|| format!("could not start {}", shown(&validate)))?;
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // It only warns about kinds it has no schema for: KEDA's are checked above, any other is a
    // typo in a kind or an apiVersion.
    let unchecked: Vec<&str> = report
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("api version keda.sh/"))
        .collect();
    if !out.status.success() || !unchecked.is_empty() {
        bail!("{} failed:\n{}", shown(&validate), unchecked.join("\n"));
    }

    for files in [
        &["compose.yaml"][..],
        &["compose.yaml", "compose.test.yaml"],
    ] {
        let mut cmd = Command::new("docker-compose");
        for file in files {
            cmd.arg("--file").arg(deploy.join(file));
        }
        cmd.arg("--env-file")
            .arg(deploy.join(".env.example"))
            .args(["config", "--quiet"]);
        run(&mut cmd)?;
    }
    Ok(())
}

/// Every query of the Grafana dashboard parses as PromQL: each becomes a recording rule of a
/// rules file that `promtool check rules` reads.
fn check_dashboard_queries(dashboard: &Path) -> Result<()> {
    let text = fs::read_to_string(dashboard)
        .with_context(|| format!("could not read {}", dashboard.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", dashboard.display()))?;
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut count = 0;
    for panel in json["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let Some(expr) = target["expr"].as_str() else {
                bail!(
                    "{}: panel {} has a target without `expr`",
                    dashboard.display(),
                    panel["title"]
                );
            };
            count += 1;
            // A JSON string is a YAML string too.
            rules += &format!(
                "      - record: dashboard_query_{count}\n        expr: {}\n",
                serde_json::Value::from(expr)
            );
        }
    }
    if count == 0 {
        bail!("{}: no panel has a query", dashboard.display());
    }
    fs::create_dir_all(RUN_DIR)?;
    let file = Path::new(RUN_DIR).join("dashboard-queries.yml");
    fs::write(&file, rules)?;
    run(Command::new("promtool").args(["check", "rules"]).arg(&file))
        .with_context(|| format!("a query of {} is not valid PromQL", dashboard.display()))
}
