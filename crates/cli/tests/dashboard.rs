//! The dashboard in a real browser (headless Chromium driven by playwright-core from
//! `web/node_modules`, both installed by `cargo xtask test`) against `mcp serve` during a live
//! job. Screenshots go to `target/dashboard/`.

use super::distributed::{Consumer, Prefix, shared};
use super::serve::{Serve, publish_spec};
use super::*;
use mcp_testkit::target_dir;

#[test]
fn the_dashboard_follows_a_live_job_and_its_buttons_work() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&prefix, &dir.path().join("history.sqlite3"));
    let _consumer = Consumer::start(&prefix, "c1");
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
    let script = project_file("web/tests/dashboard.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args([&format!("{}/", serve.url), model.to_str().unwrap()])
        .args([bad.to_str().unwrap(), shots.to_str().unwrap()])
        .output()
        .expect("run node (install Node.js; `cargo xtask test` installs the npm packages)");
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let seen: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let progress = seen["progress"].as_array().unwrap();
    assert!(progress[1].as_u64() > progress[0].as_u64(), "{seen}");
    let error = seen["error"].as_str().unwrap();
    assert!(
        error.contains("strik") && error.contains("strike"),
        "{error}"
    );

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
