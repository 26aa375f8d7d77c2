//! `mcp report JOB -o report.html`: one self-contained HTML page of a job (drawn by
//! `mcp-report`), from a JSON file of its summary or view, or from the API of the `mcp serve`
//! that ran it.

use crate::args::ReportArgs;
use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let (source, job) = load_job(&args.job, &args.api)?;
    if job["state"] == "running" {
        bail!(
            "job {} is still running: its report would have no outputs; make it once the job has ended",
            args.job
        );
    }
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

/// The job `job` names, and where it came from: a JSON file when `job` is one (a summary of
/// `mcp submit --json` or a saved job view), else the view of job `job` at `api`.
fn load_job(job: &str, api: &str) -> anyhow::Result<(String, Value)> {
    let path = Path::new(job);
    if path.is_file() || job.ends_with(".json") || job.contains(std::path::MAIN_SEPARATOR) {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("could not read {job}"))?;
        let value = serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{job} is not JSON ({e}); give a file of `mcp submit --json` or of GET /api/jobs/ID"
            )
        })?;
        return Ok((job.to_string(), value));
    }
    let api = api.trim_end_matches('/');
    let url = format!("{api}/api/jobs/{job}");
    let mut response = crate::api::agent(Duration::from_secs(60))
        .get(&url)
        .call()
        .with_context(|| {
            format!(
                "could not reach {api}; is `mcp serve` running there? (a file {job} does not exist)"
            )
        })?;
    match response.status().as_u16() {
        200 => {}
        404 => bail!(
            "{api} knows no job {job}: give an id that `GET {api}/api/jobs` lists, or a JSON file"
        ),
        status => {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            bail!("{url} answered {status}: {}", body.trim());
        }
    }
    let value = response
        .body_mut()
        .read_json()
        .with_context(|| format!("{url} answered with something that is not JSON"))?;
    Ok((url, value))
}
