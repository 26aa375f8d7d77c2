//! Human-readable output: the summary table, failures, the fits of `mcp fit`, numbers.

use mcp_protocol::{FailureTally, JobSummary};
use std::fmt::Write;

/// The summary as a table: one column per output, one row per statistic.
pub fn summary(s: &JobSummary, failures: &FailureTally) -> String {
    let mut out = String::new();
    let short = s.model.digest.get(..19).unwrap_or(&s.model.digest);
    let _ = writeln!(
        out,
        "model      {} {} ({short}…)",
        s.model.name, s.model.version
    );
    let rate = if s.elapsed_s > 0.0 {
        format!(", {}/s", count_f(s.scenarios as f64 / s.elapsed_s))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "scenarios  {} ({} failed), seed {}, {:.2} s{rate}",
        count(s.scenarios),
        count(s.failed),
        s.seed,
        s.elapsed_s
    );
    if let Some(reason) = s.stopped {
        let _ = writeln!(out, "stopped    by [stop]: {}", reason.as_str());
    }
    out.push('\n');

    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, f: &dyn Fn(&mcp_stats::OutputSummary) -> String| {
        let cells = s.outputs.0.iter().map(|(_, o)| f(o)).collect();
        rows.push((label.to_string(), cells));
    };
    row("count", &|o| count(o.count));
    row("mean", &|o| num(o.mean));
    row("std", &|o| num(o.std));
    row("stderr", &|o| num(o.stderr));
    row("ci95 low", &|o| num(o.ci95[0]));
    row("ci95 high", &|o| num(o.ci95[1]));
    row("min", &|o| num(o.min));
    for (i, (label, _)) in mcp_stats::Percentiles::of_sorted(&[])
        .labelled()
        .iter()
        .enumerate()
    {
        row(label, &|o| num(o.percentiles.labelled()[i].1));
    }
    row("max", &|o| num(o.max));
    for (i, (label, _)) in mcp_stats::Percentiles::of_sorted(&[])
        .labelled()
        .iter()
        .enumerate()
    {
        row(&format!("{label} ci95"), &|o| {
            crate::risk_table::interval(o, i)
        });
    }

    let names: Vec<&str> = s.outputs.0.iter().map(|(n, _)| n.as_str()).collect();
    out.push_str(&grid(&names, &rows));
    let risk = crate::risk_table::risk(s);
    if !risk.is_empty() {
        out.push('\n');
        out.push_str(&risk);
    }
    if failures.total() > 0 {
        out.push('\n');
        out.push_str(&self::failures(failures));
        out.push('\n');
    }
    out
}

/// The width in characters of each column of `lines`: its widest cell.
pub fn widths<const N: usize>(lines: &[[String; N]]) -> [usize; N] {
    std::array::from_fn(|i| {
        lines
            .iter()
            .map(|l| l[i].chars().count())
            .max()
            .unwrap_or(0)
    })
}

/// A table with one column per name and one labelled row per statistic, numbers aligned right.
pub fn grid(names: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    let widths: Vec<usize> = (0..names.len())
        .map(|j| {
            rows.iter()
                .map(|(_, cells)| cells[j].chars().count())
                .chain([names[j].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let label = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    let _ = write!(out, "{:<label$}", "");
    for (name, w) in names.iter().zip(&widths) {
        let _ = write!(out, "  {name:>w$}");
    }
    out.push('\n');
    for (l, cells) in rows {
        let _ = write!(out, "{l:<label$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {cell:>w$}");
        }
        out.push('\n');
    }
    out
}

/// Failure counts per kind and the first failed scenarios.
pub fn failures(f: &FailureTally) -> String {
    let mut out = String::new();
    let kinds: Vec<String> = f
        .counts
        .iter()
        .map(|(k, n)| format!("{k}: {}", count(*n)))
        .collect();
    let _ = writeln!(
        out,
        "failed scenarios: {} ({})",
        count(f.total()),
        kinds.join(", ")
    );
    for s in f.first.iter().take(5) {
        let _ = writeln!(out, "  scenario {}: {}: {}", s.scenario, s.kind, s.message);
    }
    if f.total() > 5 {
        let _ = write!(out, "  …");
    }
    out.trim_end().to_string()
}

/// The fits of `mcp fit`, best first, one row per family; then the families not fitted and
/// why, and what the goodness-of-fit columns can be trusted for.
pub fn fits(r: &mcp_fit::Report) -> String {
    use mcp_fit::{Criterion, Kind};
    let mut out = String::new();
    let (kind, criterion) = (
        match r.kind {
            Kind::Continuous => "continuous",
            Kind::Discrete => "counts",
        },
        match r.criterion {
            Criterion::Aic => "AIC",
            Criterion::Bic => "BIC",
        },
    );
    let _ = writeln!(
        out,
        "{}: {} values, {kind}; ranked by {criterion} (lower is better)\n",
        r.column,
        count(r.values as u64)
    );
    let optional = |x: Option<f64>| x.map_or_else(|| "-".to_string(), num);
    let rows: Vec<Vec<String>> = r
        .fits
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let params: Vec<String> = mcp_fit::parameters(&f.distribution)
                .into_iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            vec![
                (i + 1).to_string(),
                f.name().to_string(),
                num(f.log_likelihood),
                f.parameters.to_string(),
                num(f.aic),
                num(f.bic),
                num(f.ks),
                optional(f.ks_p),
                optional(f.ad),
                params.join(", "),
            ]
        })
        .collect();
    let header = [
        "#",
        "dist",
        "log-lik",
        "k",
        "AIC",
        "BIC",
        "KS D",
        "KS p",
        "A²",
        "parameters",
    ];
    out.push_str(&aligned(&header, &rows, "rlrrrrrrrl"));
    if !r.skipped.is_empty() {
        out.push('\n');
    }
    for s in &r.skipped {
        let _ = writeln!(out, "not fitted: {} ({})", s.dist.name(), s.reason);
    }
    out.push('\n');
    out.push_str(match r.kind {
        Kind::Continuous => {
            "KS p is optimistic: the parameters were estimated from the same data.\n"
        }
        Kind::Discrete => "KS p and A² assume a continuous distribution: not given for counts.\n",
    });
    out
}

/// Rows under a header, columns two spaces apart, each aligned as `align` says (`l` or `r`,
/// one per column).
fn aligned(header: &[&str], rows: &[Vec<String>], align: &str) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|j| {
            rows.iter()
                .map(|row| row[j].chars().count())
                .chain([header[j].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for ((cell, w), a) in row.iter().zip(&widths).zip(align.chars()) {
            if a == 'l' {
                let _ = write!(line, "{cell:<w$}  ");
            } else {
                let _ = write!(line, "{cell:>w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// An integer with thousands separators: `1,000,000` (as the report writes them).
pub fn count(n: u64) -> String {
    mcp_report::thousands(n)
}

/// A rate or large count in a short form: `1.19 M`, `950 k`, `12`.
pub fn count_f(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// A statistic with six significant digits, in scientific notation when very large or small.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "-".into()
        } else {
            x.to_string()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..9).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A byte size: `68.9 KiB`.
pub fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(num(10.451234567), "10.4512");
        assert_eq!(num(0.5), "0.500000");
        assert_eq!(num(123456.7), "123457");
        assert_eq!(num(1.5e-7), "1.50000e-7");
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(bytes(70_554), "68.9 KiB");
        assert_eq!(count_f(1_190_000.0), "1.19 M");
    }
}
