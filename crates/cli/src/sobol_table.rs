//! The summary's Sobol lines: per output and input, the first-order and total indices with
//! their 95% intervals, when the spec asked for them (`[sensitivity] method = "sobol"`).

use crate::table::count;
use mcp_protocol::JobSummary;
use std::fmt::Write;

/// A blank line and the indices' table; empty when the summary has none.
pub fn sobol(s: &JobSummary) -> String {
    let Some(sobol) = &s.sobol else {
        return String::new();
    };
    let index = |x: f64| {
        if x.is_finite() {
            format!("{x:.4}")
        } else {
            "-".to_string()
        }
    };
    let interval = |[lo, hi]: [f64; 2]| format!("[{}, {}]", index(lo), index(hi));
    let mut lines = vec![[
        "sobol".to_string(),
        "input".to_string(),
        "first".to_string(),
        "first ci95".to_string(),
        "total".to_string(),
        "total ci95".to_string(),
    ]];
    for (output, indices) in &sobol.outputs.0 {
        for i in indices {
            lines.push([
                output.clone(),
                i.input.clone(),
                index(i.first),
                interval(i.first_ci95),
                index(i.total),
                interval(i.total_ci95),
            ]);
        }
    }
    let width = |c: usize| {
        lines
            .iter()
            .map(|l| l[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..6).map(width).collect();
    let mut out = String::from("\n");
    for [a, b, c, d, e, f] in &lines {
        let _ = writeln!(
            out,
            "{a:<w0$}  {b:<w1$}  {c:>w2$}  {d:<w3$}  {e:>w4$}  {f}",
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        );
    }
    let skipped = if sobol.skipped > 0 {
        format!(", {} left out for a failed run", count(sobol.skipped))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "(Sobol indices from {} design rows{skipped}; first order Saltelli 2010, total Jansen; \
         asymptotic 95% intervals)",
        count(sobol.rows)
    );
    out
}
