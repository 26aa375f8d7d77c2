//! Human-readable output: the summary table, failures, numbers.

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

    let names: Vec<&str> = s.outputs.0.iter().map(|(n, _)| n.as_str()).collect();
    out.push_str(&grid(&names, &rows));
    if failures.total() > 0 {
        out.push('\n');
        out.push_str(&self::failures(failures));
        out.push('\n');
    }
    out
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

/// An integer with thousands separators: `1,000,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
