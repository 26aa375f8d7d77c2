//! `mcp fit`: the ranking on stdout ends with a line that is valid `vars.toml`, the plot is an
//! SVG naming the fits drawn, and bad data is refused naming the cell or column at fault.

use crate::support::*;
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, LogNormal};
use std::path::{Path, PathBuf};

/// A CSV file `data.csv` in `dir` with columns `year`, `loss` and `region`; `loss` holds the
/// values at the 2,000 midpoint quantiles of a lognormal(2, 0.5), written to the last digit,
/// so the fit is a function of known values.
fn losses(dir: &Path) -> (PathBuf, Vec<f64>) {
    let n = 2000;
    let lognormal = LogNormal::new(2.0, 0.5).unwrap();
    let values: Vec<f64> = (0..n)
        .map(|i| lognormal.inverse_cdf((f64::from(i) + 0.5) / f64::from(n)))
        .collect();
    let mut csv = String::from("year,loss,region\n");
    for (i, v) in values.iter().enumerate() {
        csv.push_str(&format!("{},{v},r{}\n", 2000 + i % 20, i % 3));
    }
    let path = dir.join("data.csv");
    std::fs::write(&path, csv).unwrap();
    (path, values)
}

/// Runs `mcp fit args`, which must succeed; returns stdout.
fn fitted(args: &[&str]) -> String {
    let mut all = vec!["fit"];
    all.extend_from_slice(args);
    let out = mcp(&all);
    assert!(out.status.success(), "{all:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn fit_prints_a_ranking_whose_best_line_is_valid_vars_toml_and_draws_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (data, values) = losses(dir.path());
    let plot = dir.path().join("loss.svg");
    let out = fitted(&[
        data.to_str().unwrap(),
        "--column",
        "loss",
        "--plot",
        plot.to_str().unwrap(),
    ]);

    // The best fit, as the last line, is the lognormal of the logs' mean and standard
    // deviation (maximum likelihood: divisor n), to six significant digits.
    let line = out.lines().last().unwrap();
    assert!(
        line.starts_with("loss = { dist = \"lognormal\", mu = "),
        "{out}"
    );
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let mu = logs.iter().sum::<f64>() / logs.len() as f64;
    let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
    let spec = format!("[simulation]\nscenarios = 10\nseed = 1\n[variables]\n{line}\n");
    let spec = mcp_spec::Spec::parse(&spec, "vars.toml").unwrap_or_else(|e| panic!("{e}"));
    let mcp_spec::Distribution::Lognormal { mu: m, sigma: s } = spec.variable("loss").unwrap().dist
    else {
        panic!("not a lognormal: {line}");
    };
    assert!((m - mu).abs() <= 5e-6 * mu.abs(), "{m} against {mu}");
    assert!((s - sigma).abs() <= 5e-6 * sigma, "{s} against {sigma}");

    // The table: a header, then the families best first, lognormal at the top.
    assert!(
        out.starts_with("loss: 2,000 values, continuous; ranked by AIC"),
        "{out}"
    );
    let ranked: Vec<&str> = out
        .lines()
        .filter_map(|l| {
            let mut cells = l.split_whitespace();
            cells.next()?.parse::<usize>().ok()?;
            cells.next()
        })
        .collect();
    assert_eq!(ranked[0], "lognormal", "{out}");
    assert_eq!(ranked.len(), 8, "every continuous family but beta: {out}");
    assert!(out.contains("not fitted: beta (needs values strictly between 0 and 1;"));

    // The plot names the three best in its legend, and the axis.
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    for name in &ranked[..3] {
        assert!(
            svg.contains(&format!("\n{name} (AIC ")),
            "{name} missing from the plot"
        );
    }
    assert!(!svg.contains(&format!("\n{} (AIC ", ranked[3])));
    assert!(svg.contains("\nloss\n</text>") && svg.contains("\ndensity\n</text>"));
}

#[test]
fn fit_json_has_every_fit_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = losses(dir.path());
    let out = fitted(&[
        data.to_str().unwrap(),
        "--column",
        "loss",
        "--json",
        "--criterion",
        "bic",
    ]);
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["column"], "loss");
    assert_eq!(json["criterion"], "bic");
    assert_eq!(json["values"], 2000);
    let fits = json["fits"].as_array().unwrap();
    assert_eq!(fits[0]["distribution"]["dist"], "lognormal");
    let bics: Vec<f64> = fits.iter().map(|f| f["bic"].as_f64().unwrap()).collect();
    assert!(bics.windows(2).all(|w| w[0] <= w[1]), "{bics:?}");
    assert!(
        json["vars_toml"]
            .as_str()
            .unwrap()
            .starts_with("loss = { dist = \"lognormal\"")
    );
    assert_eq!(json["skipped"][0]["dist"], "beta");
}

/// Runs `mcp fit` on a file holding `csv` with `args`; expects exit code 1 and nothing on
/// stdout, returns stderr and the file's path.
fn refused_fit(csv: &str, args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    std::fs::write(&path, csv).unwrap();
    let path = path.to_str().unwrap().to_string();
    let mut all = vec!["fit", path.as_str()];
    all.extend_from_slice(args);
    let out = mcp(&all);
    assert_eq!(out.status.code(), Some(1), "{all:?}: {}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    (stderr(&out), path)
}

#[test]
fn fit_refuses_bad_cells_missing_columns_and_too_little_data_naming_them() {
    let mut csv = String::from("year,loss\n");
    for i in 0..10 {
        csv.push_str(&format!("{},{}\n", 2000 + i, 100 + i));
    }
    csv.push_str("2010,12 EUR\n");
    let (err, path) = refused_fit(&csv, &["--column", "loss"]);
    assert_eq!(
        err,
        format!(
            "error: {path}:12: column `loss` (column 2): `12 EUR` is not a number; write a \
             number such as 1234.5 (no units, thousands separators or decimal comma), or leave \
             the cell empty to skip it\n"
        )
    );
    let (err, path) = refused_fit(&csv, &["--column", "Loss"]);
    assert_eq!(
        err,
        format!("error: {path}: no column `Loss`; the columns are: `year`, `loss`\n")
    );
    let (err, path) = refused_fit("loss\n1\n2\n\n3\n", &[]);
    assert_eq!(
        err,
        format!(
            "error: {path}: column `loss` has 3 values; a fit needs at least 8 (and is better \
             with hundreds)\n"
        )
    );
    let err = refused_fit("a,b\n1,2\n3,4\n", &[]).0;
    assert!(err.contains("2 columns hold numbers (`a`, `b`); pick one with --column NAME"));
}
