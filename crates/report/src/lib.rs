//! One self-contained HTML page of a finished job, for people who would rather look than
//! read and must send the result to someone: `mcp report`.
//!
//! [`render`] takes a job as JSON, either a summary (`mcp submit --json`) or a job view
//! (`GET /api/jobs/{id}`, which adds the id, the state and the spec), and writes the header,
//! the summary and risk tables, per output a histogram and the convergence of the mean, the
//! tornado and Sobol charts when the job has them, the spec and the provenance. The charts are
//! SVG drawn here, the style sheet is inline, and the page has no script and names no other
//! file or address: it shows the same offline, attached to a mail, years later. Sections the
//! job does not have (no spec in a plain summary, no Sobol design) say so.
//!
//! This crate reads JSON and writes a string; it does no I/O.

mod charts;
mod html;
mod job;
mod sections;
mod sensitivity;
mod svg;

pub use html::thousands;
pub use job::{Job, NotAJob};

/// The style sheet, inlined into every page.
const STYLE: &str = include_str!("report.css");

/// The report of `job` (a summary or a job view, as JSON): a whole HTML document.
pub fn render(job: &serde_json::Value) -> Result<String, NotAJob> {
    Ok(render_job(&Job::from_json(job)?))
}

/// The report of a job already read.
pub fn render_job(job: &Job) -> String {
    let title = format!("{} {} — mcp report", job.model.name, job.model.version);
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    page.push_str(&format!("<title>{}</title>", html::esc(&title)));
    page.push_str(&format!("<style>{STYLE}</style></head><body>"));
    page.push_str(&sections::header(job));
    page.push_str("<main>");
    page.push_str(&sections::summary_tables(job));
    page.push_str(&charts::outputs(job));
    page.push_str(&sensitivity::section(job));
    page.push_str(&sections::failures(job));
    page.push_str(&sections::spec(job));
    page.push_str(&sections::provenance(job));
    page.push_str("</main>");
    page.push_str(&format!(
        "<footer>Made by mcp {} from the job's summary. One file: no script, no link, \
         nothing fetched; open it in any browser.</footer>",
        env!("CARGO_PKG_VERSION")
    ));
    page.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn output(mean: f64) -> Value {
        json!({
            "count": 1000, "mean": mean, "std": 2.0, "stderr": 0.0632, "ci95": [mean - 0.124, mean + 0.124],
            "min": mean - 7.0, "max": mean + 7.5,
            "percentiles": {"p1": -4.6, "p5": -3.2, "p25": -1.3, "p50": 0.0, "p75": 1.3, "p95": 3.2, "p99": 4.6},
            "percentile_error": 0.0,
            "percentile_ci95": {"p1": [-4.9, -4.3], "p5": [-3.4, -3.0], "p25": [-1.4, -1.2], "p50": [-0.1, 0.1],
                                "p75": [1.2, 1.4], "p95": [3.0, 3.4], "p99": [4.3, 4.9]},
            "exceedance": [{"threshold": 3.0, "count": 60, "probability": 0.06, "ci95": [0.047, 0.077]}],
            "var": [{"level": 0.95, "var": 3.2, "var_ci95": [3.0, 3.4], "cvar": 4.1, "tail": 50}],
            "histogram": {"edges": [-7.0, -2.0, 3.0, 8.0], "counts": [100, 800, 99], "above": 1},
            "convergence": [[2.0, 1.0, -3.0, 5.0], [500.0, 0.1, -0.08, 0.28], [1000.0, mean, mean - 0.124, mean + 0.124]]
        })
    }

    /// A job view with two outputs, rank correlations and Sobol indices, and names that
    /// need escaping.
    fn job_view() -> Value {
        json!({
            "id": "job-<1>", "state": "completed", "total": 1000, "submitted_at_ms": 1,
            "model": {"name": "pricing & <co>", "version": "0.1.0", "digest": "sha256:ab"},
            "seed": 42, "scenarios": 1000, "failed": 0, "elapsed_s": 0.5,
            "outputs": {"price": output(0.1), "delta <d>": output(0.5)},
            "spec": {"simulation": {"scenarios": 1000, "seed": 42}, "variables": {"spot": {"dist": "normal"}}},
            "provenance": {"model_digest": "sha256:ab", "spec_digest": "sha256:cd", "seed": 42,
                           "mcp_version": "0.1.0", "protocol_version": 7},
            "tornado": {"blocks": 3, "outputs": {"price": [
                {"input": "spot", "spearman": 0.81, "ci95": [0.80, 0.82], "contribution": 0.66},
                {"input": "vol", "spearman": -0.2, "ci95": [-0.25, -0.15], "contribution": 0.04}]}},
            "sobol": {"rows": 512, "outputs": {"price": [
                {"input": "spot", "first": 0.6, "first_ci95": [0.55, 0.65], "total": 0.7, "total_ci95": [0.65, 0.75]}]}}
        })
    }

    #[test]
    fn every_section_and_chart_is_there() {
        let page = render(&job_view()).unwrap();
        for id in ["summary", "outputs", "sensitivity", "spec", "provenance"] {
            assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        let charts = |kind: &str| page.matches(&format!("data-chart=\"{kind}\"")).count();
        assert_eq!(charts("histogram"), 2);
        assert_eq!(charts("convergence"), 2);
        assert_eq!(charts("tornado"), 1);
        assert_eq!(charts("sobol"), 1);
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 6);
        // Three bins with values in each of the two histograms.
        assert_eq!(page.matches("class=\"mark bar\"").count(), 6);
        assert!(page.contains("1 above"), "the cut tail is told");
        assert!(page.contains("P(price &gt; 3)") && page.contains("VaR 95.0%"));
        assert!(page.contains("&quot;spot&quot;"), "the spec, as JSON");
        assert!(page.contains("sha256:cd") && page.contains("protocol version"));
    }

    #[test]
    fn text_from_the_job_is_escaped() {
        let page = render(&job_view()).unwrap();
        assert!(page.contains("pricing &amp; &lt;co&gt;"));
        assert!(page.contains("delta &lt;d&gt;"));
        assert!(page.contains("job-&lt;1&gt;"));
        assert!(!page.contains("<co>") && !page.contains("<d>") && !page.contains("<1>"));
    }

    #[test]
    fn the_page_fetches_nothing_and_runs_nothing() {
        let page = render(&job_view()).unwrap();
        for needle in [
            "http://", "https://", "<script", "<link", "<img", "src=", "href=", "url(",
        ] {
            assert!(!page.contains(needle), "the page has {needle}");
        }
    }

    #[test]
    fn a_plain_summary_says_what_it_does_not_record() {
        let mut v = job_view();
        let o = v.as_object_mut().unwrap();
        for field in [
            "id",
            "state",
            "total",
            "spec",
            "provenance",
            "tornado",
            "sobol",
        ] {
            o.remove(field);
        }
        let page = render(&v).unwrap();
        assert!(page.contains("<section id=\"spec\"><h2>Spec</h2><p class=\"note\">Not recorded"));
        assert!(page.contains("No rank correlations") && page.contains("No Sobol indices"));
        assert!(!page.contains("Partial result"));
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 4);
    }

    #[test]
    fn a_partial_job_says_so_and_a_job_its_rule_stopped_is_complete() {
        let mut v = job_view();
        v["state"] = json!("cancelled");
        v["scenarios"] = json!(400);
        assert!(render(&v).unwrap().contains("Partial result"));
        // `mcp submit --json` of a run stopped by Ctrl-C.
        let mut v = job_view();
        for field in ["state", "total"] {
            v.as_object_mut().unwrap().remove(field);
        }
        v["partial"] = json!(true);
        v["stopped"] = json!("cancelled");
        let page = render(&v).unwrap();
        assert!(page.contains("Partial result") && page.contains("data-state=\"cancelled\""));
        let mut v = job_view();
        v["stopped"] = json!("precision");
        v["scenarios"] = json!(400);
        let page = render(&v).unwrap();
        assert!(page.contains("rule: precision") && !page.contains("Partial result"));
    }
}
