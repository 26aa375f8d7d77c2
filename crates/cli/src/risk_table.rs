//! The summary's risk lines: exceedance probabilities, VaR and CVaR per output, as the spec's
//! `[outputs.NAME]` tables asked for them; and the percentiles' intervals.

use crate::table::{count, num};
use mcp_protocol::JobSummary;
use std::fmt::Write;

/// The `i`-th percentile's 95% interval, `[lo, hi]` (`-` in summaries of older versions).
pub fn interval(o: &mcp_stats::OutputSummary, i: usize) -> String {
    o.percentile_ci95.map_or_else(
        || "-".to_string(),
        |c| {
            let [lo, hi] = c.labelled()[i].1;
            format!("[{}, {}]", num(lo), num(hi))
        },
    )
}

/// One line per threshold and per level of each output that has them; empty when none has.
pub fn risk(s: &JobSummary) -> String {
    let mut lines: Vec<[String; 4]> = Vec::new();
    for (name, o) in &s.outputs.0 {
        for e in &o.exceedance {
            lines.push([
                name.clone(),
                format!("P(> {})", e.threshold),
                num(e.probability),
                format!(
                    "ci95 [{}, {}], {} of {}",
                    num(e.ci95[0]),
                    num(e.ci95[1]),
                    count(e.count),
                    count(o.count)
                ),
            ]);
        }
        for r in &o.var {
            lines.push([
                name.clone(),
                format!("VaR {}", r.level),
                num(r.var),
                format!("ci95 [{}, {}]", num(r.var_ci95[0]), num(r.var_ci95[1])),
            ]);
            lines.push([
                name.clone(),
                format!("CVaR {}", r.level),
                num(r.cvar),
                format!("mean of the {} largest values", count(r.tail)),
            ]);
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let [w0, w1, w2, _] = crate::table::widths(&lines);
    let mut out = String::new();
    for [a, b, c, d] in &lines {
        let _ = writeln!(out, "{a:<w0$}  {b:<w1$}  {c:>w2$}  {d}");
    }
    out
}
