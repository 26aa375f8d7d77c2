//! Where a command that takes a JOB (`mcp results JOB`, `mcp report JOB`) finds it: a job id of
//! the `mcp serve` at `--api`, or a JSON file holding a summary (`mcp submit --json > run.json`)
//! or a job (`curl /api/jobs/ID > job.json`). A job's JSON has every field of a summary, so both
//! read as one.

use anyhow::{Context, bail};
use mcp_protocol::JobSummary;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A job as a command found it.
#[derive(Debug)]
pub(crate) struct LoadedJob {
    /// Its summary.
    pub summary: JobSummary,
    /// Where it came from, for messages: the URL or the file.
    pub origin: String,
}

/// Loads `job`: the file when `job` names one (or ends in `.json`), else the job of that id at
/// the `mcp serve` at `api`. A job that has not ended yet is refused: it has no summary.
pub(crate) fn load_job(job: &str, api: &str) -> anyhow::Result<LoadedJob> {
    let (json, origin) = load_json(job, api)?;
    let summary = serde_json::from_value(json).with_context(|| {
        format!("{origin}: not a job summary (`mcp submit --json`) or a job (`GET /api/jobs/ID`)")
    })?;
    Ok(LoadedJob { summary, origin })
}

/// The JSON of `job` as [`load_job`] finds it (a summary, or a job view with its spec), and
/// where it came from; a job still running is refused.
pub(crate) fn load_json(job: &str, api: &str) -> anyhow::Result<(Value, String)> {
    let path = Path::new(job);
    let (json, origin) = if path.is_file()
        || job.ends_with(".json")
        || job.contains(std::path::MAIN_SEPARATOR)
    {
        let text = std::fs::read_to_string(job).with_context(|| format!("could not read {job}"))?;
        let json: Value = serde_json::from_str(&text).with_context(|| {
            format!("{job}: not JSON; give a file of `mcp submit --json` or of GET /api/jobs/ID")
        })?;
        (json, job.to_string())
    } else {
        let url = format!("{}/api/jobs/{job}", api.trim_end_matches('/'));
        let json: Value = serde_json::from_slice(&get(&url)?)
            .with_context(|| format!("{url} answered something that is not JSON"))?;
        (json, url)
    };
    if let Some(state) = json.get("state").and_then(Value::as_str)
        && state == "running"
    {
        bail!("{origin}: job {job} is still running; it has a summary once it ends");
    }
    Ok((json, origin))
}

/// The body of `url`, which must answer 200; otherwise its error, said with the URL.
pub(crate) fn get(url: &str) -> anyhow::Result<Vec<u8>> {
    let api = url.split("/api/").next().unwrap_or(url);
    let mut response = crate::api::agent(Duration::from_secs(300))
        .get(url)
        .call()
        .with_context(|| format!("could not reach {api}; is `mcp serve` running there?"))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .with_context(|| format!("could not read what {url} answered"))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let error = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .unwrap_or_else(|| text.trim().to_string());
        if status == 404 {
            bail!(
                "{url} answered {status}: {error}; give an id that `GET {api}/api/jobs` lists, \
                 or a JSON file"
            );
        }
        bail!("{url} answered {status}: {error}");
    }
    Ok(body)
}
