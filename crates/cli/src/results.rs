//! `mcp results JOB`: a job's summary, or the scenarios its spec kept whole, as CSV, JSON or
//! Parquet; and `mcp submit --save-scenarios FILE`, the same file for an embedded run. The
//! formats are `mcp-export`'s; here only where the job comes from and where the bytes go.

use crate::args::ResultsArgs;
use crate::job_source::{get, load_job};
use anyhow::{Context, bail};
use mcp_export::Format;
use mcp_protocol::{JobSummary, KeptScenario, ModelInfo};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn results(args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let format = format_for(args.format.as_deref(), args.output.as_deref(), "-o")?;
    if format.is_binary() && args.output.is_none() && std::io::stdout().is_terminal() {
        bail!(
            "{} is binary and stdout is a terminal; give -o FILE, or redirect stdout",
            format.name()
        );
    }
    let bytes = if args.scenarios {
        if Path::new(&args.source.job).is_file() || args.source.job.ends_with(".json") {
            bail!(
                "{}: a JSON file holds a summary, not kept scenarios; give the job's id (its \
                 `mcp serve` keeps them), or save an embedded run's with `mcp submit \
                 --save-scenarios FILE`",
                args.source.job
            );
        }
        let api = args.source.api.trim_end_matches('/');
        get(&format!(
            "{api}/api/jobs/{}/scenarios?format={}",
            args.source.job,
            format.name()
        ))?
    } else {
        let job = load_job(&args.source.job, &args.source.api)?;
        mcp_export::summary(&job.summary, format)
            .with_context(|| format!("could not export {}", job.origin))?
    };
    match &args.output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("could not write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.flush())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The format `given` names, else the one `path`'s extension names, else JSON; `flag` names the
/// path's option in the error for an extension that names none.
pub(crate) fn format_for(
    given: Option<&str>,
    path: Option<&Path>,
    flag: &str,
) -> anyhow::Result<Format> {
    if let Some(name) = given {
        return Format::named(name).map_err(|e| anyhow::anyhow!("--format: {e}"));
    }
    match path {
        None => Ok(Format::Json),
        Some(path) => Format::of_path(path).with_context(|| {
            format!(
                "{flag} {}: cannot tell the format from its extension; name the file .csv, \
                 .json or .parquet, or give --format",
                path.display()
            )
        }),
    }
}

/// Writes the kept scenarios of an embedded run to `path` in `format`.
pub(crate) fn save_scenarios(
    path: &Path,
    format: Format,
    info: &ModelInfo,
    kept: &[KeptScenario],
    summary: &JobSummary,
) -> anyhow::Result<()> {
    let metadata = mcp_export::job_metadata(summary);
    let bytes = mcp_export::scenarios(info, kept, metadata, format)?;
    std::fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))
}

/// Where and how `mcp submit --save-scenarios` saves, checked before the job runs: an
/// embedded run whose spec keeps scenarios, to a file whose format is known.
pub(crate) fn scenarios_to_save(
    args: &crate::args::SubmitArgs,
    spec: &mcp_spec::Spec,
) -> anyhow::Result<Option<(std::path::PathBuf, Format)>> {
    embedded_only(args)?;
    let Some(path) = &args.save_scenarios else {
        return Ok(None);
    };
    if spec.simulation.keep.is_nothing() {
        bail!(
            "--save-scenarios: {} keeps no scenarios; add `keep = \"all\"`, `\"failed\"` or a \
             number N under [simulation]",
            args.spec.display()
        );
    }
    let format = format_for(args.format.as_deref(), Some(path), "--save-scenarios")?;
    Ok(Some((path.clone(), format)))
}

/// Refuses `--save-scenarios` for a run that is not embedded.
pub(crate) fn embedded_only(args: &crate::args::SubmitArgs) -> anyhow::Result<()> {
    if args.save_scenarios.is_some() && (args.api.is_some() || args.broker.is_some()) {
        bail!(
            "--save-scenarios saves an embedded run's scenarios; for a job of `mcp serve`, \
             export them with `mcp results JOB --scenarios`"
        );
    }
    Ok(())
}
