//! The report's text sections: the header (what ran, how far it got), the tables of each
//! output's statistics and risk figures, the failures, the spec and the provenance.

use crate::Job;
use crate::html::{esc, num, percent, thousands};
use std::fmt::Write;

/// Significant digits of the tables' figures.
const DIGITS: usize = 5;

/// The page's header: the model, the job and how it ended.
pub fn header(job: &Job) -> String {
    let mut s = format!(
        "<header><h1>{} <span class=\"version\">{}</span></h1><dl class=\"facts\">",
        esc(&job.model.name),
        esc(&job.model.version)
    );
    let mut fact = |name: &str, value: String| {
        let _ = write!(s, "<dt>{name}</dt><dd>{value}</dd>");
    };
    if let Some(id) = &job.id {
        fact("job", format!("<code>{}</code>", esc(id)));
    }
    if let Some(state) = &job.state {
        fact(
            "state",
            format!(
                "<span class=\"badge\" data-state=\"{0}\">{0}</span>",
                esc(state)
            ),
        );
    }
    let scenarios = match job.total {
        Some(total) => format!("{} of {}", thousands(job.scenarios), thousands(total)),
        None => thousands(job.scenarios),
    };
    fact("scenarios", scenarios);
    fact("failed", thousands(job.failed));
    fact("seed", job.seed.to_string());
    if job.elapsed_s.is_finite() {
        fact("elapsed", format!("{} s", num(job.elapsed_s, 3)));
    }
    fact(
        "model digest",
        format!("<code>{}</code>", esc(&job.model.digest)),
    );
    if let Some(reason) = &job.stopped {
        fact(
            "stopped",
            format!("by the spec's <code>[stop]</code> rule: {}", esc(reason)),
        );
    }
    s.push_str("</dl>");
    if job.partial() {
        s.push_str(
            "<p class=\"partial\">Partial result: the job ended before its last scenario; \
             the figures are those of the scenarios it finished.</p>",
        );
    }
    if let Some(message) = &job.message {
        let _ = write!(s, "<p class=\"partial\">{}</p>", esc(message));
    }
    s.push_str("</header>");
    s
}

/// Per output its moments and percentiles; then per output its percentiles' intervals, its
/// exceedance probabilities and its VaR and CVaR, when the summary has them.
pub fn summary_tables(job: &Job) -> String {
    let mut s = String::from(
        "<section id=\"summary\"><h2>Summary</h2><div class=\"scroll\"><table><thead><tr>\
         <th>output</th><th>values</th><th>mean</th><th>95% CI of the mean</th><th>std</th>\
         <th>min</th><th>p5</th><th>p50</th><th>p95</th><th>max</th></tr></thead><tbody>",
    );
    for (name, o) in &job.outputs {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            thousands(o.count),
            num(o.mean, DIGITS),
            num(o.ci95[0], DIGITS),
            num(o.ci95[1], DIGITS),
            num(o.std, DIGITS),
            num(o.min, DIGITS),
            num(o.percentiles.p5, DIGITS),
            num(o.percentiles.p50, DIGITS),
            num(o.percentiles.p95, DIGITS),
            num(o.max, DIGITS),
        );
    }
    s.push_str("</tbody></table></div>");
    for (name, error) in &job.unreadable {
        let _ = write!(
            s,
            "<p class=\"partial\">Output {}: its summary cannot be read ({}).</p>",
            esc(name),
            esc(error)
        );
    }
    for (name, o) in &job.outputs {
        let mut rows = String::new();
        if let Some(ci) = &o.percentile_ci95 {
            let values = o.percentiles.labelled();
            for ((label, value), (_, [lo, hi])) in values.iter().zip(ci.labelled()) {
                let _ = write!(
                    rows,
                    "<tr><td>{label}</td><td>{}</td><td>{} to {}</td></tr>",
                    num(*value, DIGITS),
                    num(lo, DIGITS),
                    num(hi, DIGITS)
                );
            }
        }
        for e in &o.exceedance {
            let _ = write!(
                rows,
                "<tr><td>P({} &gt; {})</td><td>{}</td><td>{} to {}</td></tr>",
                esc(name),
                num(e.threshold, DIGITS),
                percent(e.probability),
                percent(e.ci95[0]),
                percent(e.ci95[1])
            );
        }
        for v in &o.var {
            let _ = write!(
                rows,
                "<tr><td>VaR {}</td><td>{}</td><td>{} to {}</td></tr>\
                 <tr><td>CVaR {}</td><td>{}</td><td>mean of the {} largest values</td></tr>",
                percent(v.level),
                num(v.var, DIGITS),
                num(v.var_ci95[0], DIGITS),
                num(v.var_ci95[1], DIGITS),
                percent(v.level),
                num(v.cvar, DIGITS),
                thousands(v.tail)
            );
        }
        if !rows.is_empty() {
            let error = if o.percentile_error > 0.0 {
                format!(
                    " (from a sketch: within {} of the exact values, relative)",
                    num(o.percentile_error, 3)
                )
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<h3>{}: percentiles and risk{error}</h3><div class=\"scroll\"><table class=\"risk\">\
                 <thead><tr><th>figure</th><th>value</th><th>95% interval</th></tr></thead>\
                 <tbody>{rows}</tbody></table></div>",
                esc(name)
            );
        }
    }
    s.push_str("</section>");
    s
}

/// Failed scenarios per kind, when any failed.
pub fn failures(job: &Job) -> String {
    if job.failed == 0 {
        return String::new();
    }
    let mut s = format!(
        "<section id=\"failures\"><h2>Failures</h2><p>{} of {} scenarios failed.</p>",
        thousands(job.failed),
        thousands(job.scenarios)
    );
    if !job.failure_counts.is_empty() {
        s.push_str("<table><thead><tr><th>kind</th><th>scenarios</th></tr></thead><tbody>");
        for (kind, n) in &job.failure_counts {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(kind),
                thousands(*n)
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    s
}

/// The spec the job ran, as the job view gives it.
pub fn spec(job: &Job) -> String {
    let body = match &job.spec {
        Some(spec) => format!(
            "<pre class=\"spec\">{}</pre>",
            esc(&serde_json::to_string_pretty(spec).unwrap_or_default())
        ),
        None => "<p class=\"note\">Not recorded: a summary of <code>mcp submit --json</code> \
                 holds no spec. A report of a job of <code>mcp serve</code> (<code>mcp report \
                 JOB --api URL</code>) shows it, and the provenance below names its digest.</p>"
            .to_string(),
    };
    format!("<section id=\"spec\"><h2>Spec</h2>{body}</section>")
}

/// What the result depends on: enough to reproduce it bit for bit.
pub fn provenance(job: &Job) -> String {
    let mut s = String::from("<section id=\"provenance\"><h2>Provenance</h2>");
    match &job.provenance {
        Some(p) => {
            let _ = write!(
                s,
                "<table class=\"facts-table\"><tbody>\
                 <tr><td>model digest</td><td><code>{}</code></td></tr>\
                 <tr><td>spec digest</td><td><code>{}</code></td></tr>\
                 <tr><td>seed</td><td>{}</td></tr>\
                 <tr><td>mcp version</td><td>{}</td></tr>\
                 <tr><td>protocol version</td><td>{}</td></tr></tbody></table>\
                 <p class=\"note\">The same model bytes, spec and seed give the same figures \
                 to the last bit, whatever ran them (<code>mcp rerun</code> checks it).</p>",
                esc(&p.model_digest),
                esc(&p.spec_digest),
                p.seed,
                esc(&p.mcp_version),
                p.protocol_version
            );
        }
        None => s.push_str(
            "<p class=\"note\">Not recorded: the summary was made by an mcp that did not keep it.</p>",
        ),
    }
    s.push_str("</section>");
    s
}
