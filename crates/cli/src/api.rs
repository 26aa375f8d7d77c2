//! Talking to a running `mcp serve` over HTTP: `mcp submit --api URL` uploads a job and follows
//! it to its end; `mcp health URL` is a container's health check.

use crate::args::SubmitArgs;
use crate::commands::{EXIT_INPUT, prepare_job, read_spec};
use crate::submit::{Outcome, progress_bar, report};
use anyhow::{Context, anyhow, bail};
use mcp_coordinator::JobState;
use mcp_protocol::{FailureTally, JobSummary};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// How often a followed job is asked for its progress.
const POLL: Duration = Duration::from_millis(250);

pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// `mcp health URL`: 0 when the URL answers 200 (printing the answer with `print`), else 1
/// with what it answered.
pub(crate) fn health(url: &str, print: bool) -> anyhow::Result<ExitCode> {
    match agent(Duration::from_secs(5)).get(url).call() {
        Ok(mut response) if response.status() == 200 => {
            if print {
                print!("{}", response.body_mut().read_to_string()?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(mut response) => {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            eprintln!("{url} answered {}: {}", response.status(), body.trim());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `mcp submit --api URL`: checks the job here (the same messages as an embedded run), uploads
/// it, follows it until it ends and prints its summary like any other `mcp submit`.
pub(crate) fn submit(api: &str, args: &SubmitArgs) -> anyhow::Result<ExitCode> {
    if args.dashboard.is_some() {
        bail!("--dashboard shows an embedded run; with --api, open that server's dashboard");
    }
    let api = api.trim_end_matches('/');
    let mut spec = read_spec(&args.spec)?;
    args.run
        .overrides()
        .apply(&mut spec, "--")
        .map_err(anyhow::Error::msg)?;
    // The server checks it again; checking here first names the local files at fault.
    prepare_job(&args.model, spec.clone(), mcp_producer::new_job_id)?;
    let model = std::fs::read(&args.model)
        .with_context(|| format!("could not read {}", args.model.display()))?;
    let spec_text = std::fs::read(&args.spec)
        .with_context(|| format!("could not read {}", args.spec.display()))?;
    let mut fields: Vec<(&str, String, Vec<u8>)> = vec![
        ("model", file_name(&args.model), model),
        ("spec", file_name(&args.spec), spec_text),
    ];
    if let Some(n) = args.run.scenarios {
        fields.push(("scenarios", String::new(), n.to_string().into_bytes()));
    }
    if let Some(seed) = args.run.seed {
        fields.push(("seed", String::new(), seed.to_string().into_bytes()));
    }
    let boundary = format!("mcp-{:016x}", rand_suffix());
    let body = multipart(&boundary, &fields);
    let mut request = agent(Duration::from_secs(300))
        .post(format!("{api}/api/jobs"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        );
    if let Some(token) = &args.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request
        .send(&body[..])
        .map_err(|e| anyhow!("could not reach mcp serve at {api}: {e}"))?;
    let status = response.status().as_u16();
    let answer: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| anyhow!("{api} answered {status} with something that is not JSON: {e}"))?;
    let said = answer["error"].as_str().unwrap_or("").to_string();
    match status {
        202 => {}
        401 => bail!(
            "{api} refused the upload: {said}; give the server's token with --token or MCP_TOKEN"
        ),
        400 | 413 | 422 => {
            eprintln!("error: {api} refused the job: {said}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
        _ => bail!("{api} answered {status}: {said}"),
    }
    let id = answer["id"]
        .as_str()
        .ok_or_else(|| anyhow!("{api} accepted the job without saying its id: {answer}"))?
        .to_string();
    eprintln!("job {id} submitted to {api}");
    let bar = progress_bar(spec.simulation.scenarios);
    let view = follow(api, &id, &bar)?;
    bar.finish_and_clear();
    report(args, &spec, &outcome(&id, &view)?)
}

/// Asks for the job until it is no longer running; its last view.
fn follow(api: &str, id: &str, bar: &indicatif::ProgressBar) -> anyhow::Result<Value> {
    let http = agent(Duration::from_secs(60));
    let url = format!("{api}/api/jobs/{id}");
    let mut unreachable_since = None;
    let mut pending = None;
    loop {
        match http.get(&url).call() {
            Ok(mut response) if response.status() == 200 => {
                unreachable_since = None;
                let view: Value = response.body_mut().read_json()?;
                if let Some(done) = view["scenarios"].as_u64() {
                    bar.set_position(done);
                }
                if view["state"] != "running" {
                    return Ok(view);
                }
            }
            // Accepted, and not announced yet: the announcement travels through the broker.
            Ok(response) if response.status() == 404 && announced_within(&mut pending) => {}
            Ok(mut response) => {
                let body = response.body_mut().read_to_string().unwrap_or_default();
                bail!("{url} answered {}: {}", response.status(), body.trim());
            }
            // mcp serve restarting: wait for it, as the other roles wait for the broker.
            Err(e) => {
                let since = *unreachable_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > Duration::from_secs(600) {
                    bail!("lost {api} for 10 minutes while following job {id}: {e}");
                }
                tracing::warn!("waiting for {api}: {e}");
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Whether an accepted job may still be on its way to the coordinator: for a minute after it
/// was first found missing.
fn announced_within(since: &mut Option<std::time::Instant>) -> bool {
    since.get_or_insert_with(std::time::Instant::now).elapsed() < Duration::from_secs(60)
}

/// The outcome a job's view (`GET /api/jobs/{id}`) tells.
fn outcome(id: &str, view: &Value) -> anyhow::Result<Outcome> {
    let state = view["state"].as_str().unwrap_or_default();
    let state = JobState::ALL
        .into_iter()
        .find(|s| s.as_str() == state)
        .ok_or_else(|| anyhow!("job {id} is in a state this mcp does not know: `{state}`"))?;
    let summary: JobSummary = serde_json::from_value(view.clone())
        .with_context(|| format!("the summary of job {id} is not one this mcp reads"))?;
    let failures: FailureTally =
        serde_json::from_value(view["failures"].clone()).unwrap_or_default();
    Ok(Outcome {
        job: id.to_string(),
        state,
        summary,
        failures,
        message: view["message"].as_str().map(str::to_string),
        superseded_by: None,
    })
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned())
}

/// A boundary no file contains in practice: the time's nanoseconds and the process id.
fn rand_suffix() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// A `multipart/form-data` body of `fields` (name, file name or empty, bytes).
fn multipart(boundary: &str, fields: &[(&str, String, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = if file.is_empty() {
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
        } else {
            let file = file.replace(['"', '\r', '\n'], "_");
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}
