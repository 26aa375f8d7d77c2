//! The dashboard's files, compiled into the binary so that one file deploys and nothing is
//! fetched from the network at run time.

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../../../web/index.html");
const APP: &str = include_str!("../../../web/app.js");
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

pub async fn style() -> impl IntoResponse {
    with_type("text/css; charset=utf-8", STYLE)
}

pub async fn uplot() -> impl IntoResponse {
    with_type("text/javascript; charset=utf-8", UPLOT)
}

pub async fn uplot_css() -> impl IntoResponse {
    with_type("text/css; charset=utf-8", UPLOT_CSS)
}
