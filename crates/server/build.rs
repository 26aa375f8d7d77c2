//! Bundles the chart library (uPlot, from the npm registry, installed into `web/node_modules`
//! by `cargo xtask web`) for `include_str!`. Without it the build fails and names the command
//! that installs it, unless the builder asks for a dashboard without charts by setting
//! `MCP_DASHBOARD_WITHOUT_CHARTS=1` (the page then says that its charts were not bundled).

#[path = "build/charts.rs"]
mod charts;

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let dist = Path::new("../../web/node_modules/uplot/dist");
    println!("cargo:rerun-if-changed=../../web/node_modules/uplot/dist");
    println!("cargo:rerun-if-env-changed={}", charts::WITHOUT_CHARTS);
    let without_charts = std::env::var(charts::WITHOUT_CHARTS).is_ok_and(|v| v == "1");
    match charts::chart_library(dist, without_charts) {
        Ok(files) => {
            for (file, text) in files {
                std::fs::write(Path::new(&out).join(file), text).expect("write to OUT_DIR");
            }
        }
        Err(message) => println!("cargo::error={message}"),
    }
}
