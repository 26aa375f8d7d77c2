//! The sensitivity section: a tornado chart of rank correlations and a chart of Sobol indices
//! per output, read from the summary's optional `tornado` and `sobol` objects. Reading is
//! tolerant: a row without a number is skipped, an interval missing is not drawn, and a
//! summary without either says so.

use crate::Job;
use crate::html::{esc, num, percent};
use crate::svg::{Chart, RIGHT, Scale, TOP, WIDTH};
use serde_json::Value;
use std::fmt::Write;

/// One input's rank correlation with an output.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoRow {
    /// The input (or element group of a vector input).
    pub input: String,
    /// Spearman's rank correlation.
    pub spearman: f64,
    /// Its 95% interval.
    pub ci95: Option<[f64; 2]>,
    /// Its share of the variance explained, in [0, 1].
    pub contribution: Option<f64>,
}

/// Rank correlations per output, rows by |ρ| descending.
#[derive(Debug, Clone, PartialEq)]
pub struct Tornado {
    /// Blocks the estimate was made from.
    pub blocks: Option<u64>,
    /// Per output: its rows.
    pub outputs: Vec<(String, Vec<TornadoRow>)>,
}

/// One input's Sobol indices for an output.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolRow {
    /// The input.
    pub input: String,
    /// First-order index.
    pub first: f64,
    /// Its 95% interval.
    pub first_ci95: Option<[f64; 2]>,
    /// Total index.
    pub total: f64,
    /// Its 95% interval.
    pub total_ci95: Option<[f64; 2]>,
}

/// Sobol indices per output, rows in the model's input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sobol {
    /// The design's base sample count N.
    pub rows: Option<u64>,
    /// Per output: its rows.
    pub outputs: Vec<(String, Vec<SobolRow>)>,
}

/// Per output name of `v["outputs"]`, the rows `row` reads.
fn per_output<R>(v: &Value, row: impl Fn(&Value) -> Option<R>) -> Vec<(String, Vec<R>)> {
    v.get("outputs")
        .and_then(Value::as_object)
        .map(|outputs| {
            outputs
                .iter()
                .map(|(name, rows)| {
                    let rows = rows
                        .as_array()
                        .map_or_else(Vec::new, |rows| rows.iter().filter_map(&row).collect());
                    (name.clone(), rows)
                })
                .filter(|(_, rows)| !rows.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn pair(v: Option<&Value>) -> Option<[f64; 2]> {
    let a = v?.as_array()?;
    Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?])
}

fn input(r: &Value) -> Option<String> {
    r.get("input")?.as_str().map(str::to_string)
}

impl Tornado {
    /// Reads a summary's `tornado` object; `None` when it holds no row.
    pub fn from_json(v: &Value) -> Option<Tornado> {
        let outputs = per_output(v, |r| {
            Some(TornadoRow {
                input: input(r)?,
                spearman: r.get("spearman")?.as_f64()?,
                ci95: pair(r.get("ci95")),
                contribution: r.get("contribution").and_then(Value::as_f64),
            })
        });
        (!outputs.is_empty()).then(|| Tornado {
            blocks: v.get("blocks").and_then(Value::as_u64),
            outputs,
        })
    }
}

impl Sobol {
    /// Reads a summary's `sobol` object; `None` when it holds no row.
    pub fn from_json(v: &Value) -> Option<Sobol> {
        let outputs = per_output(v, |r| {
            Some(SobolRow {
                input: input(r)?,
                first: r.get("first")?.as_f64()?,
                first_ci95: pair(r.get("first_ci95")),
                total: r.get("total")?.as_f64()?,
                total_ci95: pair(r.get("total_ci95")),
            })
        });
        (!outputs.is_empty()).then(|| Sobol {
            rows: v.get("rows").and_then(Value::as_u64),
            outputs,
        })
    }
}

/// Height of one row of bars.
const ROW: f64 = 26.0;
/// Room for the inputs' names left of the bars.
const NAMES: f64 = 170.0;

/// The section: both kinds of chart, or a note for each kind the job does not have.
pub fn section(job: &Job) -> String {
    let mut s = String::from(r#"<section id="sensitivity"><h2>Sensitivity</h2>"#);
    match &job.tornado {
        Some(t) => {
            let _ = write!(
                s,
                "<p class=\"note\">Spearman rank correlation of each input with each output \
                 (bars, with their 95% intervals) and its share of the variance the inputs \
                 explain{}.</p><div class=\"pair\">",
                t.blocks
                    .map_or_else(String::new, |b| format!(", from {b} blocks"))
            );
            for (name, rows) in &t.outputs {
                s.push_str(&tornado(name, rows));
            }
            s.push_str("</div>");
        }
        None => s.push_str("<p class=\"note\">No rank correlations in this summary.</p>"),
    }
    match &job.sobol {
        Some(sobol) => {
            let _ = write!(
                s,
                "<p class=\"note\">Sobol indices: first order (the share of the output's \
                 variance an input explains alone) and total (with all its interactions), \
                 with their 95% intervals{}.</p><div class=\"pair\">",
                sobol
                    .rows
                    .map_or_else(String::new, |n| format!("; a Saltelli design of N = {n}"))
            );
            for (name, rows) in &sobol.outputs {
                s.push_str(&sobol_chart(name, rows));
            }
            s.push_str("</div>");
        }
        None => s.push_str(
            "<p class=\"note\">No Sobol indices: the spec asked for none (<code>[sensitivity] method = \"sobol\"</code>).</p>",
        ),
    }
    s.push_str("</section>");
    s
}

/// A whisker from `lo` to `hi` at height `y`.
fn whisker(c: &mut Chart, x: &Scale, ci: Option<[f64; 2]>, y: f64) {
    if let Some([lo, hi]) = ci.filter(|[lo, hi]| lo.is_finite() && hi.is_finite()) {
        let (a, b) = (x.at(lo), x.at(hi));
        let _ = write!(
            c,
            r#"<path class="whisker" d="M{a:.2},{:.2}V{:.2}M{a:.2},{y:.2}H{b:.2}M{b:.2},{:.2}V{:.2}"/>"#,
            y - 4.0,
            y + 4.0,
            y - 4.0,
            y + 4.0
        );
    }
}

/// A row's name at the left of the plot.
fn row_name(c: &mut Chart, text: &str, y: f64) {
    let _ = write!(
        c,
        r#"<text class="label name" x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"#,
        NAMES - 8.0,
        y + 4.0,
        esc(text)
    );
}

/// The tornado chart of one output: a bar from 0 to ρ per input, largest first.
pub fn tornado(name: &str, rows: &[TornadoRow]) -> String {
    let height = TOP + ROW * rows.len() as f64 + 44.0;
    let mut c = Chart::new(
        "tornado",
        name,
        &format!("{name}: rank correlation of each input"),
        height,
    )
    .with_left(NAMES);
    let x = Scale::new(-1.0, 1.0, NAMES, WIDTH - RIGHT);
    let zero = x.at(0.0);
    for (i, r) in rows.iter().enumerate() {
        let mid = TOP + ROW * (i as f64 + 0.5);
        let (a, b) = (zero.min(x.at(r.spearman)), zero.max(x.at(r.spearman)));
        let sign = if r.spearman < 0.0 {
            "negative"
        } else {
            "positive"
        };
        let _ = write!(
            c,
            r#"<rect class="mark bar {sign}" x="{a:.2}" y="{:.2}" width="{:.2}" height="{:.2}"><title>{}: ρ = {}</title></rect>"#,
            mid - ROW * 0.35,
            (b - a).max(1.0),
            ROW * 0.7,
            esc(&r.input),
            num(r.spearman, 3)
        );
        whisker(&mut c, &x, r.ci95, mid);
        let label = match r.contribution {
            Some(share) => format!("{} · {}", r.input, percent(share)),
            None => r.input.clone(),
        };
        row_name(&mut c, &label, mid);
    }
    let _ = write!(
        c,
        r#"<line class="axis" x1="{zero:.2}" y1="{TOP}" x2="{zero:.2}" y2="{:.2}"/>"#,
        c.bottom()
    );
    c.x_axis(&x, "Spearman's ρ (input name · share of variance)");
    c.finish()
}

/// The Sobol chart of one output: per input, a bar of its first-order index over a bar of
/// its total index.
pub fn sobol_chart(name: &str, rows: &[SobolRow]) -> String {
    let height = TOP + 2.0 * ROW * rows.len() as f64 + 44.0;
    let mut c = Chart::new(
        "sobol",
        name,
        &format!("{name}: Sobol indices (light: first order, dark: total)"),
        height,
    )
    .with_left(NAMES);
    let ends = rows.iter().flat_map(|r| {
        [r.first, r.total]
            .into_iter()
            .chain(r.first_ci95.into_iter().flatten())
            .chain(r.total_ci95.into_iter().flatten())
    });
    let (lo, hi) = ends
        .filter(|v| v.is_finite())
        .fold((0.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let x = Scale::new(lo, hi, NAMES, WIDTH - RIGHT);
    let zero = x.at(0.0);
    for (i, r) in rows.iter().enumerate() {
        let top = TOP + 2.0 * ROW * i as f64;
        for (k, (kind, value, ci)) in [
            ("first", r.first, r.first_ci95),
            ("total", r.total, r.total_ci95),
        ]
        .into_iter()
        .enumerate()
        {
            let mid = top + ROW * (k as f64 + 0.5);
            let (a, b) = (zero.min(x.at(value)), zero.max(x.at(value)));
            let _ = write!(
                c,
                r#"<rect class="mark bar {kind}" x="{a:.2}" y="{:.2}" width="{:.2}" height="{:.2}"><title>{} {kind}: {}</title></rect>"#,
                mid - ROW * 0.38,
                (b - a).max(1.0),
                ROW * 0.76,
                esc(&r.input),
                num(value, 3)
            );
            whisker(&mut c, &x, ci, mid);
        }
        row_name(&mut c, &r.input, top + ROW);
    }
    let _ = write!(
        c,
        r#"<line class="axis" x1="{zero:.2}" y1="{TOP}" x2="{zero:.2}" y2="{:.2}"/>"#,
        c.bottom()
    );
    c.x_axis(&x, "share of the output's variance");
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_read_tolerantly() {
        let t = Tornado::from_json(&json!({"blocks": 4, "outputs": {
            "price": [
                {"input": "spot", "spearman": 0.81, "ci95": [0.80, 0.82], "contribution": 0.66},
                {"input": "vol", "spearman": -0.3},
                {"input": "broken"},
            ],
            "empty": [],
        }}))
        .unwrap();
        assert_eq!(t.blocks, Some(4));
        assert_eq!(t.outputs.len(), 1, "an output without rows is left out");
        let rows = &t.outputs[0].1;
        assert_eq!(rows.len(), 2, "a row without ρ is skipped");
        assert_eq!(rows[0].ci95, Some([0.80, 0.82]));
        assert_eq!((rows[1].ci95, rows[1].contribution), (None, None));
        assert!(Tornado::from_json(&json!({"outputs": {}})).is_none());
        assert!(Sobol::from_json(&json!("nonsense")).is_none());
    }

    #[test]
    fn charts_draw_a_bar_per_value_and_a_whisker_per_interval() {
        let s = Sobol::from_json(&json!({"rows": 1024, "outputs": {"y": [
            {"input": "x1", "first": 0.31, "first_ci95": [0.29, 0.33], "total": 0.55, "total_ci95": [0.53, 0.57]},
            {"input": "x<3>", "first": -0.01, "total": 0.24, "total_ci95": [0.2, 0.28]},
        ]}}))
        .unwrap();
        let svg = sobol_chart("y", &s.outputs[0].1);
        assert_eq!(svg.matches("class=\"mark bar first\"").count(), 2);
        assert_eq!(svg.matches("class=\"mark bar total\"").count(), 2);
        assert_eq!(svg.matches("class=\"whisker\"").count(), 3);
        assert!(svg.contains("x&lt;3&gt;") && !svg.contains("x<3>"));
        let t = Tornado::from_json(&json!({"outputs": {"y": [
            {"input": "a", "spearman": -0.5, "ci95": [-0.6, -0.4], "contribution": 1.0}
        ]}}))
        .unwrap();
        let svg = tornado("y", &t.outputs[0].1);
        assert!(svg.contains("class=\"mark bar negative\""));
        assert!(svg.contains("a · 100.0%"));
    }
}
