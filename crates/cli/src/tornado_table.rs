//! The summary's tornado as text: per output, its inputs by decreasing |ρ|, each with its
//! Spearman rank correlation, the 95% interval, the share of the output's variance and a bar
//! (left of the axis for a negative correlation, right for a positive one).

use crate::table::count;
use mcp_protocol::JobSummary;
use std::fmt::Write;

/// Characters on each side of a bar's axis: |ρ| = 1 fills one side.
const HALF_BAR: usize = 10;

/// The bar of `rho`: `HALF_BAR` cells on each side of `|`, filled outwards from it.
fn bar(rho: f64) -> String {
    let cells = (rho.abs() * HALF_BAR as f64).round() as usize;
    let cells = cells.min(HALF_BAR);
    let (left, right) = if rho < 0.0 { (cells, 0) } else { (0, cells) };
    format!(
        "{}{}|{}{}",
        " ".repeat(HALF_BAR - left),
        "█".repeat(left),
        "█".repeat(right),
        " ".repeat(HALF_BAR - right)
    )
}

/// One line per (output, input) pair and a heading; empty when the summary has no tornado.
pub fn tornado(s: &JobSummary) -> String {
    let Some(t) = &s.tornado else {
        return String::new();
    };
    let mut lines: Vec<[String; 6]> = Vec::new();
    for (output, rows) in &t.outputs {
        for r in rows {
            lines.push([
                output.clone(),
                r.input.clone(),
                format!("{:+.3}", r.spearman),
                format!("[{:+.3}, {:+.3}]", r.ci95[0], r.ci95[1]),
                format!("{:.1}%", 100.0 * r.contribution),
                bar(r.spearman),
            ]);
        }
    }
    let [w0, w1, w2, w3, w4, _] = crate::table::widths(&lines);
    let mut out = format!(
        "\ntornado: Spearman's ρ of each output with each input, its 95% interval and share of \
         variance (ρ²/Σρ²), over {} batches\n",
        count(t.blocks)
    );
    for [a, b, c, d, e, f] in &lines {
        let line = format!("{a:<w0$}  {b:<w1$}  {c:>w2$}  {d:<w3$}  {e:>w4$}  {f}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_grow_from_the_axis_on_the_sign_side() {
        assert_eq!(bar(1.0), format!("{}|{}", " ".repeat(10), "█".repeat(10)));
        assert_eq!(
            bar(-0.34),
            format!("{}███|{}", " ".repeat(7), " ".repeat(10))
        );
        assert_eq!(bar(0.0), format!("{}|{}", " ".repeat(10), " ".repeat(10)));
    }
}
