//! `cargo xtask test`: installs what the tests need (the wasm target, RabbitMQ, Chromium, the
//! npm packages, the model languages' tools; podman and the deployment's tools when `deploy`
//! runs), checks that the dependency map is true, builds the models in every language and runs
//! their native tests, runs every test, the soak's short version, and
//! the deployment (`cargo xtask deploy`) on the debug build the tests made.

use crate::broker::ensure_broker;
use crate::languages::Install;
use crate::models::{build_all_models, ensure_wasm_target, test_all_models_natively};
use crate::web::{ensure_chromium, web};
use crate::{cargo, chaos, deploy, deps, run};
use anyhow::Result;

pub(crate) fn test() -> Result<()> {
    ensure_wasm_target(true)?;
    let broker = ensure_broker()?;
    let chromium = ensure_chromium()?;
    web()?;
    deps::check()?;
    build_all_models(Some(Install::SystemPackages))?;
    test_all_models_natively(Install::SystemPackages)?;
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
    ])?;
    // deploy/ for real: images (cached between runs), compose, kube play, alert tests.
    deploy::deploy(&[])
}
