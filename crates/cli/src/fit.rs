//! `mcp fit`: fits distributions to a column of a CSV file (the work is `mcp-fit`'s), prints
//! the ranking and the best fit as a line for `vars.toml`, and draws the plot when asked.

use crate::args::{Criterion, DataKind, FitArgs};
use crate::commands::read;
use anyhow::{Context, anyhow};
use std::io::Write as _;
use std::process::ExitCode;

/// Runs `mcp fit`.
pub(crate) fn fit(args: FitArgs) -> anyhow::Result<ExitCode> {
    let origin = args.data.display().to_string();
    let column = mcp_fit::read_column(&read(&args.data)?, &origin, args.column.as_deref())?;
    let kind = args.kind.map(|k| match k {
        DataKind::Continuous => mcp_fit::Kind::Continuous,
        DataKind::Discrete => mcp_fit::Kind::Discrete,
    });
    let criterion = match args.criterion {
        Criterion::Aic => mcp_fit::Criterion::Aic,
        Criterion::Bic => mcp_fit::Criterion::Bic,
    };
    let report = mcp_fit::fit(&column, kind, criterion).map_err(|e| anyhow!("{origin}: {e}"))?;
    if kind.is_none() && report.kind == mcp_fit::Kind::Discrete {
        eprintln!(
            "note: every value is a whole number of 0 or more, so the families for counts were \
             fitted; --kind continuous fits the others"
        );
    }
    let line = mcp_fit::spec_line(&column.name, &report.best().distribution);
    if let Some(path) = &args.plot {
        let svg = mcp_fit::plot::svg(&report, &column)?;
        std::fs::write(path, svg)
            .with_context(|| format!("could not write the plot to {}", path.display()))?;
    }
    let text = if args.json {
        let mut json = serde_json::to_value(&report)?;
        json["vars_toml"] = line.into();
        format!("{json}\n")
    } else {
        format!(
            "{}\nBest fit, for vars.toml:\n{line}\n",
            crate::table::fits(&report)
        )
    };
    // A reader that stops early (`mcp fit data.csv | head`) is no error.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.context("could not write to stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}
