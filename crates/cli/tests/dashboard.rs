//! The dashboard in a real browser (headless Chromium driven by playwright-core from
//! `web/node_modules`, both installed by `cargo xtask test`) against `mcp serve` during a live
//! job. Screenshots go to `target/dashboard/`.

use crate::support::broker::*;
use crate::support::serve::{Serve, TOKEN, publish_spec};
use crate::support::*;
use mcp_testkit::{target_dir, within};
use serde_json::Value;
use std::process::Command;

#[test]
fn the_dashboard_follows_a_live_job_and_its_buttons_work() {
    let _broker = shared();
    let prefix = Prefix::new();
    let (dir, serve) = Serve::fresh(&prefix);
    let _consumer = start_consumer(&prefix, "c1");
    let (model, spec) = pricing();
    let text = std::fs::read_to_string(&spec).unwrap();
    // Big batches, many of them: the job outlasts the browser's checks.
    let long = dir.path().join("long.toml");
    std::fs::write(&long, text.replace("batch = 1024", "batch = 8192")).unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text.replace("strike   =", "strik    =")).unwrap();
    let id = publish_spec(&prefix, &long, "50000000");

    let shots = target_dir().join("dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("{}/", serve.url);
    let seen = browser(
        "dashboard.mjs",
        &[
            &url,
            model.to_str().unwrap(),
            bad.to_str().unwrap(),
            shots.to_str().unwrap(),
            TOKEN,
        ],
    );
    let progress = seen["progress"].as_array().unwrap();
    assert!(progress[1].as_u64() > progress[0].as_u64(), "{seen}");
    let error = seen["error"].as_str().unwrap();
    assert!(
        error.contains("strik") && error.contains("strike"),
        "{error}"
    );
    // Of the pricing model's inputs only `z` varies: it alone drives the price.
    assert_eq!(seen["tornado"]["input"], "z", "{seen}");
    assert_eq!(seen["tornado"]["rows"], 1, "{seen}");
    let prompts = seen["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "the token is asked for once: {seen}");

    // What the clicks did, as the coordinator sees it.
    let consumers = serve.get("/api/consumers");
    assert_eq!(consumers[0]["seen_state"], "paused", "{consumers}");
    let job = serve.get(&format!("/api/jobs/{id}"));
    assert_eq!(job["state"], "cancelled", "{job}");
    for shot in ["dashboard-live.png", "dashboard-bad-upload.png"] {
        let size = std::fs::metadata(shots.join(shot)).map_or(0, |m| m.len());
        assert!(size > 10_000, "{shot}: {size} bytes");
    }
}

/// `GET url`, or `POST url` with a JSON `body` and the `token`; the status and the JSON answer.
fn http(url: &str, post: Option<&str>, token: &str) -> (u16, Value) {
    let mut response = match post {
        Some(body) => ureq::post(url)
            .config()
            .http_status_as_error(false)
            .build()
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(body),
        None => ureq::get(url)
            .config()
            .http_status_as_error(false)
            .build()
            .call(),
    }
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `GET url` until `done` holds.
fn wait_for(url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = within(PATIENCE, || {
        last = http(url, None, "").1;
        done(&last).then(|| last.clone())
    });
    found.unwrap_or_else(|| panic!("gave up on {url}: {last}"))
}

#[test]
fn an_embedded_run_serves_the_dashboard_and_obeys_its_buttons() {
    use std::io::BufRead;
    let (model, spec) = pricing();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp"))
        .args([
            "submit",
            model.to_str().unwrap(),
            "--spec",
            spec.to_str().unwrap(),
        ])
        .args(["--scenarios", "500000000", "--workers", "1", "--json"])
        .args(["--dashboard", "127.0.0.1:0"])
        .env_remove("MCP_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let stdout_pipe = child.stdout.take().unwrap();
    let mut guard = Process::of(child);
    // "mcp submit: dashboard on http://ADDR/ (token for its buttons: TOKEN)"
    let line = stderr_lines.next().unwrap().unwrap();
    let rest = line
        .strip_prefix("mcp submit: dashboard on ")
        .unwrap_or_else(|| panic!("{line}"));
    let (url, token) = rest.split_once(" (token for its buttons: ").unwrap();
    let url = url.trim_end_matches('/').to_string();
    let token = token.trim_end_matches(')').to_string();
    assert_eq!(token.len(), 32, "a generated token: {line}");
    let control = |action: &str, token: &str| {
        let body = format!(r#"{{"action":"{action}"}}"#);
        http(&format!("{url}/api/control"), Some(&body), token).0
    };

    let page = ureq::get(&format!("{url}/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(page.contains("/app.js"), "the page is served");
    let consumers = format!("{url}/api/consumers");
    let local = |c: &Value, f: &dyn Fn(&Value) -> bool| {
        c.get(0).is_some_and(|c| c["id"] == "local" && f(c))
    };
    let running =
        |c: &Value| c["seen_state"] == "active" && c["scenarios_per_s"].as_f64() > Some(0.0);
    wait_for(&consumers, |c| local(c, &running));

    assert_eq!(control("pause", "wrong"), 401, "the buttons need the token");
    assert_eq!(control("pause", &token), 202);
    // Paused workers take no more batches: a whole heartbeat interval with no progress.
    wait_for(&consumers, |c| {
        local(c, &|c| {
            c["seen_state"] == "paused" && c["scenarios_per_s"] == 0.0
        })
    });
    assert_eq!(control("resume", &token), 202);
    wait_for(&consumers, |c| local(c, &running));

    let job = wait_for(&format!("{url}/api/jobs/local"), |j| {
        j["state"] == "running"
    });
    assert_eq!(job["total"], 500_000_000u64);
    let (status, _) = http(&format!("{url}/api/jobs/local/cancel"), Some(""), &token);
    assert_eq!(status, 202);
    let code = guard.exit_status().code();
    assert_eq!(code, Some(130), "a cancelled run exits 130");
    let summary: Value = serde_json::from_reader(stdout_pipe).unwrap();
    let done = summary["scenarios"].as_u64().unwrap();
    assert!(done > 0 && done < 500_000_000, "{summary}");
}
