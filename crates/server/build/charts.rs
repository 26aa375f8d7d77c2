//! Where the dashboard's chart library comes from: shared by `build.rs`, which bundles it, and
//! the crate's tests, which check what happens when it is missing.

use std::path::Path;

/// The variable that allows a dashboard without charts.
pub const WITHOUT_CHARTS: &str = "MCP_DASHBOARD_WITHOUT_CHARTS";

/// The files of uPlot the page loads, and what stands in for each in a page without charts.
const FILES: [(&str, &str); 2] = [
    (
        "uPlot.iife.min.js",
        "window.uPlot = null; /* not bundled: run `cargo xtask web` and rebuild */",
    ),
    ("uPlot.min.css", "/* not bundled */"),
];

/// Each file of the chart library under `dist` with its text; when one is missing, the stubs if
/// `without_charts`, else the error that says how to install it.
pub fn chart_library(
    dist: &Path,
    without_charts: bool,
) -> Result<Vec<(&'static str, String)>, String> {
    FILES
        .iter()
        .map(|&(file, stub)| match std::fs::read_to_string(dist.join(file)) {
            Ok(text) => Ok((file, text)),
            Err(_) if without_charts => Ok((file, stub.to_string())),
            Err(e) => Err(format!(
                "the dashboard's chart library is not installed (web/node_modules/uplot/dist/{file}: \
                 {e}); run `cargo xtask web` (it needs npm) and build again, or set \
                 {WITHOUT_CHARTS}=1 to build a dashboard without charts"
            )),
        })
        .collect()
}
