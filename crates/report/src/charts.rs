//! Per output, the two charts of its values: the histogram (with the mean and the 5th and 95th
//! percentiles marked) and the convergence of the running mean inside its 95% band.

use crate::Job;
use crate::html::{esc, num, thousands};
use crate::svg::{Chart, RIGHT, Scale, TOP, WIDTH};
use mcp_stats::{OutputHistogram, OutputSummary};
use std::fmt::Write;

/// Height of the histogram and convergence charts.
const HEIGHT: f64 = 280.0;

/// The section of charts, one card per output.
pub fn outputs(job: &Job) -> String {
    let mut s = String::from(r#"<section id="outputs"><h2>Outputs</h2>"#);
    if job.outputs.is_empty() {
        s.push_str("<p class=\"note\">The job has no output summaries (it may still be running, or every scenario failed).</p>");
    }
    for (name, out) in &job.outputs {
        let _ = write!(
            s,
            r#"<div class="card output"><h3>{}</h3><div class="pair">"#,
            esc(name)
        );
        match &out.histogram {
            Some(h) => s.push_str(&histogram(name, out, h)),
            None => s.push_str(
                "<p class=\"note\">No histogram: the summary was made by an mcp that did not record one.</p>",
            ),
        }
        if out.convergence.len() >= 2 {
            s.push_str(&convergence(name, out));
        } else {
            s.push_str("<p class=\"note\">No convergence series: the summary has fewer than two points of it.</p>");
        }
        s.push_str("</div></div>");
    }
    s.push_str("</section>");
    s
}

/// The histogram of one output: a bar per bin, the mean and the p5 and p95 as lines.
pub fn histogram(name: &str, out: &OutputSummary, h: &OutputHistogram) -> String {
    let mut c = Chart::new("histogram", name, &format!("{name}: distribution"), HEIGHT);
    let (lo, hi) = (h.edges[0], h.edges[h.edges.len() - 1]);
    let x = Scale::new(lo, hi, c.left, WIDTH - RIGHT);
    let top = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let y = Scale::new(0.0, top * 1.05, c.bottom(), TOP);
    c.y_axis(&y);
    let mut bars = String::new();
    for (i, &count) in h.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        // A histogram of one repeated value has two equal edges: its bar takes the middle.
        let (x0, x1) = if hi > lo {
            (x.at(h.edges[i]), x.at(h.edges[i + 1]))
        } else {
            (x.at(lo) - 8.0, x.at(lo) + 8.0)
        };
        let top = y.at(count as f64);
        let _ = write!(
            bars,
            r#"<rect class="mark bar" x="{x0:.2}" y="{top:.2}" width="{:.2}" height="{:.2}"><title>{} to {}: {count}</title></rect>"#,
            (x1 - x0 - 0.5).max(1.0),
            (c.bottom() - top).max(0.5),
            num(h.edges[i], 4),
            num(h.edges[(i + 1).min(h.edges.len() - 1)], 4),
        );
    }
    c.push(&bars);
    for (label, value, class) in [
        ("mean", out.mean, "marker mean"),
        ("p5", out.percentiles.p5, "marker"),
        ("p95", out.percentiles.p95, "marker"),
    ] {
        if (lo..=hi).contains(&value) && hi > lo {
            let px = x.at(value);
            let _ = write!(
                c,
                r#"<line class="{class}" x1="{px:.2}" y1="{TOP}" x2="{px:.2}" y2="{:.2}"/><text class="label" x="{px:.2}" y="{}" text-anchor="middle">{label}</text>"#,
                c.bottom(),
                TOP - 2.0
            );
        }
    }
    let mut caption = format!("{name} ({} values)", thousands(h.total()));
    if h.below > 0 || h.above > 0 {
        let _ = write!(
            caption,
            "; outside the range shown: {} below, {} above",
            thousands(h.below),
            thousands(h.above)
        );
    }
    c.x_axis(&x, &caption);
    c.finish()
}

/// The running mean of one output and its 95% band, against the values merged so far.
pub fn convergence(name: &str, out: &OutputSummary) -> String {
    let points = &out.convergence;
    let mut c = Chart::new(
        "convergence",
        name,
        &format!("{name}: mean as the job ran, with its 95% interval"),
        HEIGHT,
    );
    let n_max = points.iter().map(|p| p[0]).fold(0.0, f64::max);
    let x = Scale::new(0.0, n_max, c.left, WIDTH - RIGHT);
    // The first points' bands are wide: the scale follows the band from the fourth point on
    // (or all of them when there are few), so the final interval is not a flat line.
    let settled = &points[points.len().min(3).min(points.len() - 2)..];
    let lo = settled.iter().map(|p| p[2]).fold(f64::INFINITY, f64::min);
    let hi = settled
        .iter()
        .map(|p| p[3])
        .fold(f64::NEG_INFINITY, f64::max);
    let pad = (hi - lo) * 0.1;
    let y = Scale::new(lo - pad, hi + pad, c.bottom(), TOP);
    c.y_axis(&y);
    let clamp = |v: f64| y.at(v).clamp(TOP, c.bottom());
    let mut band: Vec<String> = points
        .iter()
        .map(|p| format!("{:.2},{:.2}", x.at(p[0]), clamp(p[3])))
        .collect();
    band.extend(
        points
            .iter()
            .rev()
            .map(|p| format!("{:.2},{:.2}", x.at(p[0]), clamp(p[2]))),
    );
    let line: Vec<String> = points
        .iter()
        .map(|p| format!("{:.2},{:.2}", x.at(p[0]), clamp(p[1])))
        .collect();
    let (final_mean, left) = (y.at(out.mean), c.left);
    let _ = write!(
        c,
        r#"<polygon class="mark band" points="{}"/><line class="marker mean" x1="{:.2}" y1="{final_mean:.2}" x2="{}" y2="{final_mean:.2}"/><polyline class="mark line" points="{}"/>"#,
        band.join(" "),
        left,
        WIDTH - RIGHT,
        line.join(" ")
    );
    c.x_axis(&x, &format!("values of {name} merged, in batch order"));
    c.finish()
}
