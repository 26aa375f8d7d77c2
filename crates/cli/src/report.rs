//! `mcp report JOB -o report.html`: one self-contained HTML page of a job (drawn by
//! `mcp-report`), from a JSON file of its summary or view, or from the API of the `mcp serve`
//! that ran it.

use crate::args::ReportArgs;
use anyhow::{Context, anyhow, bail};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let (job, source) = crate::job_source::load_json(&args.source.job, &args.source.api)?;
    let page = mcp_report::render(&job).map_err(|e| anyhow!("{source}: {e}"))?;
    match args.output.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => {
            std::fs::write(path, &page)
                .with_context(|| format!("could not write {}", path.display()))?;
            eprintln!(
                "mcp report: wrote {} ({} KiB), one file that opens offline",
                path.display(),
                page.len().div_ceil(1024)
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            if stdout.is_terminal() {
                bail!(
                    "the report is an HTML page: give a file with -o report.html, or redirect stdout"
                );
            }
            stdout.write_all(page.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
