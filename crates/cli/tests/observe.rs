//! What operators watch and what a cluster's users reach: `/metrics`, `/healthz` and `/readyz`
//! of `mcp serve` and of a consumer, `mcp health`, `mcp submit --api`, and the log's formats.

use crate::support::broker::*;
use crate::support::serve::{Serve, TOKEN};
use crate::support::*;
use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;

/// A port free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET url`: the status and the body, or why there is none.
fn try_get(url: &str) -> Result<(u16, String), ureq::Error> {
    let mut response = ureq::get(url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()?;
    let body = response.body_mut().read_to_string()?;
    Ok((response.status().as_u16(), body))
}

/// `GET url`: the status and the body.
fn get(url: &str) -> (u16, String) {
    try_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The samples of a Prometheus text page, by series (`name{labels}`).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

/// The metric names a page exports, as a query names them (a counter with `_total`).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| match l.split_once(' ') {
            Some((name, "counter")) => format!("{name}_total"),
            Some((name, _)) => name.to_string(),
            None => l.to_string(),
        })
        .collect()
}

/// The metric names the README's tables document.
fn documented() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(mcp_testkit::project_file("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `mcp_"))
        .map(|l| {
            let name = l.split('`').next().unwrap();
            format!("mcp_{}", name.split('{').next().unwrap())
        })
        .collect()
}

/// The `mcp_*` metric names a text (a PromQL expression, a dashboard, rules) uses.
fn metrics_named(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("mcp_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}

/// Whether `name` is one of `exported`'s series: a family, or a histogram's `_bucket`, `_sum`
/// or `_count`.
fn is_exported(name: &str, exported: &BTreeSet<String>) -> bool {
    exported.contains(name)
        || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|family| exported.contains(family))
        })
}

/// `mcp submit pricing --api URL --json` with `token`; the process's output.
fn submit_api(url: &str, token: &str, scenarios: &str) -> std::process::Output {
    let (model, spec) = pricing();
    let args = [
        "submit",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--scenarios",
        scenarios,
        "--api",
        url,
        "--json",
    ];
    mcp_command(&args)
        .env("MCP_TOKEN", token)
        .env_remove("MCP_BROKER")
        .stdout(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_job_submitted_through_the_api_ends_as_embedded_and_the_metrics_agree() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_dir, serve) = Serve::fresh(&prefix);
    let port = free_port();
    let mut command = consumer_command(&broker_url(), &prefix, "c");
    command.args(["--metrics", &format!("127.0.0.1:{port}")]);
    let mut consumer = Process::spawn(command);
    let probes = format!("http://127.0.0.1:{port}");
    let readyz = format!("{probes}/readyz");
    let ready = mcp_testkit::within(PATIENCE, || {
        try_get(&readyz)
            .is_ok_and(|(status, _)| status == 200)
            .then_some(())
    });
    assert!(ready.is_some(), "the consumer never became ready");
    serve.wait_for("/api/consumers", |c| c.as_array().unwrap().len() == 1);

    let out = submit_api(&serve.url, TOKEN, "20480");
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    check_same_as_embedded(&summary, "20480");

    // The coordinator's counters are the job's summary; the consumer counted the same work.
    let (status, text) = get(&format!("{}/metrics", serve.url));
    assert_eq!(status, 200);
    assert!(text.ends_with("# EOF\n"), "{text}");
    let coordinator = samples(&text);
    assert_eq!(coordinator["mcp_scenarios_total"], 20480.0, "{text}");
    assert_eq!(coordinator["mcp_batches_total"], 20.0, "{text}");
    assert_eq!(coordinator["mcp_jobs{state=\"completed\"}"], 1.0, "{text}");
    assert_eq!(coordinator["mcp_jobs{state=\"running\"}"], 0.0, "{text}");
    assert_eq!(coordinator["mcp_consumers_alive"], 1.0, "{text}");
    assert_eq!(coordinator["mcp_broker_up"], 1.0, "{text}");
    assert!(
        coordinator.contains_key("mcp_queue_messages{queue=\"scenarios\"}"),
        "{text}"
    );
    let (status, text) = get(&format!("{probes}/metrics"));
    assert_eq!(status, 200);
    let worker = samples(&text);
    assert_eq!(worker["mcp_consumer_scenarios_total"], 20480.0, "{text}");
    assert_eq!(worker["mcp_consumer_batches_total"], 20.0, "{text}");
    assert_eq!(
        worker["mcp_consumer_batch_duration_seconds_count"], 20.0,
        "{text}"
    );
    assert!(worker["mcp_consumer_fuel_total"] > 0.0, "{text}");
    assert_eq!(
        worker["mcp_consumer_model_compile_seconds_count"], 1.0,
        "{text}"
    );
    assert_eq!(worker["mcp_consumer_broker_up"], 1.0, "{text}");
    // Every metric either page exports is in the README, and the README names no other.
    let exported: BTreeSet<String> = families(&text)
        .into_iter()
        .chain(families(&get(&format!("{}/metrics", serve.url)).1))
        .collect();
    // (A running job's gauges exist while one runs; none does now.)
    let running: BTreeSet<String> = [
        "mcp_job_progress_ratio",
        "mcp_job_scenarios",
        "mcp_job_scenarios_expected",
    ]
    .map(String::from)
    .into();
    assert_eq!(exported, &documented() - &running);
    // Every query of the Grafana dashboard and of the alert rules names a metric the pages
    // export (or a running job's gauges).
    let all: BTreeSet<String> = &exported | &running;
    for file in [
        "deploy/grafana/dashboards/mcp.json",
        "deploy/prometheus/alerts.yml",
    ] {
        let text = std::fs::read_to_string(mcp_testkit::project_file(file)).unwrap();
        let named = metrics_named(&text);
        assert!(!named.is_empty(), "{file} names no metric");
        let unknown: Vec<&String> = named.iter().filter(|n| !is_exported(n, &all)).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics /metrics does not export: {unknown:?}"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(mcp_testkit::project_file(
            "deploy/grafana/dashboards/mcp.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 7, "{exprs:?}");
    assert!(
        exprs.iter().all(|e| !metrics_named(e).is_empty()),
        "{exprs:?}"
    );

    for url in [&serve.url, &probes] {
        assert_eq!(get(&format!("{url}/healthz")).0, 200);
        assert_eq!(get(&format!("{url}/readyz")).0, 200);
        let health = mcp(&["health", &format!("{url}/readyz")]);
        assert!(health.status.success(), "{}", stderr(&health));
    }
    let nobody = mcp(&[
        "health",
        &format!("http://127.0.0.1:{}/healthz", free_port()),
    ]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(consumer.running());
}

#[test]
fn the_api_refuses_a_wrong_token_and_a_job_over_its_limits_saying_why() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (_dir, serve) = Serve::fresh(&prefix);
    let out = submit_api(&serve.url, "not-the-token", "1000");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give the server's token with --token or MCP_TOKEN"),
        "{}",
        stderr(&out)
    );
    // The harness's server takes at most a million scenarios.
    let out = submit_api(&serve.url, TOKEN, "2000000");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refused the job") && stderr(&out).contains("--max-scenarios"),
        "{}",
        stderr(&out)
    );
    let jobs = serve.get("/api/jobs");
    assert_eq!(jobs.as_array().unwrap().len(), 0, "{jobs}");
}

#[test]
fn logs_are_plain_text_off_a_terminal_and_json_lines_on_request() {
    let (model, spec) = pricing();
    let (model, spec) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let run = |format: &str| {
        let out = mcp_command(&[
            "submit",
            model,
            "--spec",
            spec,
            "--scenarios",
            "2000",
            "--log-format",
            format,
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let text = run("text");
    assert!(text.contains("job ended"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes off a terminal: {text:?}"
    );
    let json = run("json");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "job ended"),
        "{json}"
    );
}
