//! `mcp rerun JOB`: runs a finished job of `mcp serve` again, embedded, from the spec its
//! history recorded and the model file, and says whether every output came out the same to
//! the last bit. Same model bytes, spec and seed give the same bits whatever ran them.

use crate::args::RerunArgs;
use crate::commands::{EXIT_NOT_REPRODUCED, prepare_job};
use anyhow::{Context, bail};
use mcp_embedded::Embedded;
use mcp_protocol::{Provenance, spec_digest};
use mcp_spec::Spec;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

pub(crate) fn rerun(args: RerunArgs) -> anyhow::Result<ExitCode> {
    let api = args.api.trim_end_matches('/');
    let url = format!("{api}/api/jobs/{}", args.job);
    let mut response = crate::api::agent(Duration::from_secs(60))
        .get(&url)
        .call()
        .with_context(|| format!("could not reach {api}; is `mcp serve` running there?"))?;
    if response.status() != 200 {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        bail!("{url} answered {}: {}", response.status(), body.trim());
    }
    let view: Value = response.body_mut().read_json()?;
    if view["state"] != "completed" {
        bail!(
            "job {} is {}, not completed: only a completed job has outputs to reproduce",
            args.job,
            view["state"]
        );
    }
    let provenance: Provenance = serde_json::from_value(view["provenance"].clone())
        .with_context(|| format!("{url} gives no provenance; that mcp serve is too old"))?;
    let spec: Spec = serde_json::from_value(view["spec"].clone())
        .with_context(|| format!("{url} gives a spec this mcp cannot read"))?;
    if spec_digest(&spec) != provenance.spec_digest {
        bail!(
            "the spec {url} gives has digest {}, not the job's {}: this mcp reads it differently \
             (its version is {}, the job's {})",
            spec_digest(&spec),
            provenance.spec_digest,
            env!("CARGO_PKG_VERSION"),
            provenance.mcp_version
        );
    }
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("could not read {}", args.model.display()))?;
    let digest = mcp_protocol::sha256(&bytes);
    if digest != provenance.model_digest {
        bail!(
            "{}: its digest is {digest}, but job {} ran {}; give the model file the job ran",
            args.model.display(),
            args.job,
            provenance.model_digest
        );
    }
    let (sandbox, job) = prepare_job(&args.model, spec, |_| mcp_embedded::LOCAL.to_string())?;
    if provenance.mcp_version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "mcp rerun: job {} was aggregated by mcp {}, this is mcp {}: the bits may differ",
            args.job,
            provenance.mcp_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let workers = args
        .workers
        .unwrap_or_else(mcp_consumer::default_threads)
        .max(1);
    let ended = Embedded::new(job.clone(), workers, false)?.run(&sandbox, &mut |_| {})?;
    let rerun = serde_json::to_value(&ended.summary.outputs)?;
    let recorded = &view["outputs"];
    let differing: Vec<String> = outputs(recorded)
        .into_iter()
        .chain(outputs(&rerun))
        .filter(|name| recorded.get(name) != rerun.get(name))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if ended.summary.scenarios == view["scenarios"].as_u64().unwrap_or(u64::MAX)
        && differing.is_empty()
    {
        println!(
            "job {} reproduced bit for bit: {} scenarios, outputs {} (model {}, spec {}, seed {})",
            args.job,
            ended.summary.scenarios,
            outputs(&rerun).join(", "),
            provenance.model_digest,
            provenance.spec_digest,
            provenance.seed
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "job {} NOT reproduced: {} scenarios against the job's {}; outputs that differ: {}",
        args.job,
        ended.summary.scenarios,
        view["scenarios"],
        if differing.is_empty() {
            "none".to_string()
        } else {
            differing.join(", ")
        }
    );
    Ok(ExitCode::from(EXIT_NOT_REPRODUCED))
}

/// The output names of a summary's `outputs` object.
fn outputs(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
