//! The dashboard's files, compiled into the binary so that one file deploys and nothing is
//! fetched from the network at run time.

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../../../web/index.html");
const APP: &str = include_str!("../../../web/app.js");
const SOBOL: &str = include_str!("../../../web/sobol.js");
const TORNADO: &str = include_str!("../../../web/tornado.js");
const STYLE: &str = include_str!("../../../web/style.css");
const UPLOT: &str = include_str!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js"));
const UPLOT_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/uPlot.min.css"));

fn with_type(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

pub async fn index() -> impl IntoResponse {
    with_type("text/html; charset=utf-8", INDEX)
}

pub async fn app() -> impl IntoResponse {
    with_type("text/javascript; charset=utf-8", APP)
}

pub async fn sobol() -> impl IntoResponse {
    with_type("text/javascript; charset=utf-8", SOBOL)
}

pub async fn tornado() -> impl IntoResponse {
    with_type("text/javascript; charset=utf-8", TORNADO)
}

pub async fn style() -> impl IntoResponse {
    with_type("text/css; charset=utf-8", STYLE)
}

pub async fn uplot() -> impl IntoResponse {
    with_type("text/javascript; charset=utf-8", UPLOT)
}

pub async fn uplot_css() -> impl IntoResponse {
    with_type("text/css; charset=utf-8", UPLOT_CSS)
}

#[cfg(test)]
#[path = "../build/charts.rs"]
mod charts;

#[cfg(test)]
mod tests {
    use super::charts;

    #[test]
    fn a_build_without_the_chart_library_fails_with_the_fix_unless_asked_for() {
        let empty = std::env::temp_dir().join(format!("mcp-no-charts-{}", std::process::id()));
        let err = charts::chart_library(&empty, false).unwrap_err();
        assert!(err.contains("run `cargo xtask web`"), "{err}");
        assert!(err.contains("MCP_DASHBOARD_WITHOUT_CHARTS=1"), "{err}");
        let stubs = charts::chart_library(&empty, true).unwrap();
        assert!(stubs[0].1.contains("not bundled"));
    }

    #[test]
    fn this_build_bundles_the_real_chart_library() {
        assert!(!super::UPLOT.contains("not bundled"), "a stub was bundled");
        assert!(super::UPLOT.len() > 20_000, "{} bytes", super::UPLOT.len());
    }
}
