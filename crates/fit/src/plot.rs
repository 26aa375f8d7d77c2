//! The data's histogram with the best fits' densities over it, as SVG drawn by plotters
//! (its SVG backend only: text is left to the viewer's fonts, so no font library is needed).

use crate::model::Model;
use crate::{Column, FitError, Kind, Report};
use plotters::prelude::*;

/// How many of the best fits a plot draws.
pub const DRAWN: usize = 3;

/// The colours of the fits, best first.
const COLOURS: [RGBColor; DRAWN] = [
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
];

/// Points along each density curve.
const CURVE_POINTS: usize = 400;

/// The histogram of `column` (whose fits `report` holds) with the densities of the
/// [`DRAWN`] best fits, each labelled with its family and criterion, as an SVG document.
pub fn svg(report: &Report, column: &Column) -> Result<String, FitError> {
    let mut data = column.values.clone();
    data.sort_by(f64::total_cmp);
    let bars = histogram(&data, report.kind);
    let tallest = bars.iter().map(|b| b.2).fold(0.0, f64::max);
    let (lo, hi) = (bars[0].0, bars[bars.len() - 1].1);
    let pad = (hi - lo) * 0.05;
    let (x0, x1) = (lo - pad, hi + pad);
    let curves: Vec<(String, Vec<(f64, f64)>)> = report
        .fits
        .iter()
        .take(DRAWN)
        .filter_map(|fit| {
            let model = Model::new(&fit.distribution)?;
            let label = format!(
                "{} ({} {:.1})",
                fit.name(),
                criterion_name(report),
                fit.score(report.criterion)
            );
            Some((label, curve(&model, report.kind, x0, x1)))
        })
        .collect();
    // Densities can be unbounded at an end (a gamma of shape below 1): the axis stops at
    // twice the tallest bar, and the curves are cut there.
    let peak = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(tallest, f64::max);
    let y1 = peak.min(2.0 * tallest) * 1.08;

    let mut out = String::new();
    draw(&mut out, report, &bars, &curves, (x0, x1, y1))
        .map_err(|e| FitError(format!("could not draw the plot: {e}")))?;
    Ok(out)
}

fn criterion_name(report: &Report) -> &'static str {
    match report.criterion {
        crate::Criterion::Aic => "AIC",
        crate::Criterion::Bic => "BIC",
    }
}

/// Bars `(from, to, height)` whose areas are the shares of the values in them. Counts get one
/// bar per whole number, or per run of whole numbers when there are more than 60; other data
/// `2 ∛n` bars (Rice's rule), 5 to 100 of them.
fn histogram(sorted: &[f64], kind: Kind) -> Vec<(f64, f64, f64)> {
    let n = sorted.len() as f64;
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let (start, width, count) = match kind {
        Kind::Discrete => {
            let span = max - min + 1.0;
            let width = (span / 60.0).ceil().max(1.0);
            (min - 0.5, width, (span / width).ceil() as usize)
        }
        Kind::Continuous => {
            let count = ((2.0 * n.cbrt()).ceil() as usize).clamp(5, 100);
            (min, (max - min) / count as f64, count)
        }
    };
    let mut heights = vec![0.0; count];
    for &x in sorted {
        let i = (((x - start) / width) as usize).min(count - 1);
        heights[i] += 1.0;
    }
    heights
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let from = start + i as f64 * width;
            (from, from + width, h / (n * width))
        })
        .collect()
}

/// The density of `model` across `[x0, x1]`: at every whole number for counts.
fn curve(model: &Model, kind: Kind, x0: f64, x1: f64) -> Vec<(f64, f64)> {
    match kind {
        Kind::Discrete => {
            let (first, last) = (x0.ceil().max(0.0) as u64, x1.floor().max(0.0) as u64);
            (first..=last)
                .map(|k| (k as f64, model.density(k as f64)))
                .collect()
        }
        Kind::Continuous => (0..=CURVE_POINTS)
            .map(|i| {
                let x = x0 + (x1 - x0) * i as f64 / CURVE_POINTS as f64;
                (x, model.density(x))
            })
            .collect(),
    }
}

/// An axis label: `10000`, not `10000.0`; `0.00008`, not `8e-5`; no digits past the sixth.
fn tick(v: &f64) -> String {
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(*v);
    format!("{rounded}")
}

type Curves = [(String, Vec<(f64, f64)>)];

fn draw(
    out: &mut String,
    report: &Report,
    bars: &[(f64, f64, f64)],
    curves: &Curves,
    (x0, x1, y1): (f64, f64, f64),
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: {} values and the best fits",
                report.column, report.values
            ),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, 0.0..y1)?;
    chart
        .configure_mesh()
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_desc(report.column.as_str())
        .y_desc(match report.kind {
            Kind::Continuous => "density",
            Kind::Discrete => "probability",
        })
        .draw()?;
    chart.draw_series(bars.iter().map(|&(from, to, height)| {
        Rectangle::new(
            [(from, 0.0), (to, height.min(y1))],
            RGBColor(31, 119, 180).mix(0.35).filled(),
        )
    }))?;
    for ((label, points), colour) in curves.iter().zip(COLOURS) {
        let cut = points.iter().map(|&(x, y)| (x, y.min(y1)));
        chart
            .draw_series(LineSeries::new(cut, colour.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
