//! The drawing kit of the report's charts: linear scales, round tick values, axes and the
//! frame of one chart, written as SVG text. Every data mark carries the class `mark`, so a
//! browser test can find what a chart drew.

use crate::html::{esc, num};
use std::fmt::Write;

/// Width of a chart's view box; charts scale to their container.
pub const WIDTH: f64 = 640.0;
/// Room left of the plot for the y axis's labels.
pub const LEFT: f64 = 64.0;
/// Room right of the plot.
pub const RIGHT: f64 = 28.0;
/// Room above the plot.
pub const TOP: f64 = 40.0;
/// Room below the plot for the x axis's labels.
pub const BOTTOM: f64 = 40.0;

/// Maps `[d0, d1]` (data) onto `[r0, r1]` (view box units) linearly.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// A scale from `[d0, d1]` to `[r0, r1]`; an empty domain is widened around its value.
    pub fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let (d0, d1) = if d1 > d0 {
            (d0, d1)
        } else {
            let pad = d0.abs().max(1.0) * 0.5;
            (d0 - pad, d0 + pad)
        };
        Scale { d0, d1, r0, r1 }
    }

    /// Where `x` lands.
    pub fn at(&self, x: f64) -> f64 {
        self.r0 + (x - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// The domain.
    pub fn domain(&self) -> (f64, f64) {
        (self.d0, self.d1)
    }
}

/// About `n` round values (1, 2 or 5 times a power of ten apart) within `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return vec![lo];
    }
    let rough = (hi - lo) / n.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// One chart being drawn: its SVG text and the plot area's bounds in view box units.
#[derive(Debug)]
pub struct Chart {
    svg: String,
    /// Height of the view box.
    pub height: f64,
    /// Room left of the plot, for the labels of the y axis or of the rows.
    pub left: f64,
}

impl Chart {
    /// A chart of `kind` (`histogram`, `convergence`, `tornado`, `sobol`) for `output`, titled
    /// `title`, `height` units tall.
    pub fn new(kind: &str, output: &str, title: &str, height: f64) -> Chart {
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" data-chart="{kind}" data-output="{}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}">"#,
            esc(output),
            esc(title)
        );
        let _ = write!(
            svg,
            r#"<text class="title" x="8" y="18">{}</text>"#,
            esc(title)
        );
        Chart {
            svg,
            height,
            left: LEFT,
        }
    }

    /// The same chart with `left` units left of the plot.
    pub fn with_left(mut self, left: f64) -> Chart {
        self.left = left;
        self
    }

    /// The bottom of the plot area.
    pub fn bottom(&self) -> f64 {
        self.height - BOTTOM
    }

    /// Appends raw SVG.
    pub fn push(&mut self, element: &str) {
        self.svg.push_str(element);
    }

    /// A horizontal axis along the bottom: ticks, labels and an optional caption.
    pub fn x_axis(&mut self, x: &Scale, caption: &str) {
        let y = self.bottom();
        let (lo, hi) = x.domain();
        let left = self.left;
        let mut s = format!(
            r#"<line class="axis" x1="{left}" y1="{y}" x2="{}" y2="{y}"/>"#,
            WIDTH - RIGHT
        );
        for t in ticks(lo, hi, 6) {
            let px = x.at(t);
            let _ = write!(
                s,
                r#"<line class="tick" x1="{px:.1}" y1="{y}" x2="{px:.1}" y2="{}"/><text class="label" x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
                y + 4.0,
                y + 16.0,
                num(t, 3)
            );
        }
        if !caption.is_empty() {
            let _ = write!(
                s,
                r#"<text class="caption" x="{}" y="{}" text-anchor="middle">{}</text>"#,
                (left + WIDTH - RIGHT) / 2.0,
                y + 32.0,
                esc(caption)
            );
        }
        self.svg.push_str(&s);
    }

    /// A vertical axis on the left, with grid lines across the plot.
    pub fn y_axis(&mut self, y: &Scale) {
        let (lo, hi) = y.domain();
        let left = self.left;
        let mut s = format!(
            r#"<line class="axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{}"/>"#,
            self.bottom()
        );
        for t in ticks(lo, hi, 5) {
            let py = y.at(t);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{left}" y1="{py:.1}" x2="{}" y2="{py:.1}"/><text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                WIDTH - RIGHT,
                left - 6.0,
                py + 4.0,
                num(t, 3)
            );
        }
        self.svg.push_str(&s);
    }

    /// The finished SVG element.
    pub fn finish(mut self) -> String {
        self.svg.push_str("</svg>");
        self.svg
    }
}

impl Write for Chart {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(-0.3, 0.25, 5), vec![-0.2, 0.0, 0.2]);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn scales_map_ends_to_ends_and_widen_empty_domains() {
        let s = Scale::new(10.0, 20.0, 100.0, 0.0);
        assert_eq!((s.at(10.0), s.at(20.0), s.at(15.0)), (100.0, 0.0, 50.0));
        let flat = Scale::new(4.0, 4.0, 0.0, 10.0);
        assert_eq!(flat.at(4.0), 5.0);
    }
}
