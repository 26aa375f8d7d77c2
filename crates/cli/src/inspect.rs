//! `mcp validate` (a model against a spec, on a handful of scenarios) and `mcp inspect` (a
//! model's interface).

use crate::args::{InspectArgs, ValidateArgs};
use crate::commands::{prepare_job, read, read_spec, sandbox};
use crate::table;
use anyhow::{anyhow, bail};
use mcp_protocol::ScenarioBatch;
use mcp_sandbox::RunLimits;
use std::process::ExitCode;

pub(crate) fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let spec = read_spec(&args.spec)?;
    let (sandbox, job) = prepare_job(&args.model, spec, |_| "validate".to_string())?;
    let count = args.scenarios.max(1);
    if count > mcp_spec::MAX_BATCH {
        bail!(
            "--scenarios must be at most {} (one batch)",
            mcp_spec::MAX_BATCH
        );
    }
    let mut evaluator = mcp_consumer::Evaluator::new(&sandbox, &job, None)?;
    let result = evaluator
        .evaluate(ScenarioBatch {
            index: 0,
            start: 0,
            count,
        })
        .expect("nothing aborts a validation run");
    let info = &job.info;
    println!(
        "model {} {} ({}) matches {}",
        info.name,
        info.version,
        info.digest,
        args.spec.display()
    );
    println!(
        "{count} scenarios ran: {} succeeded, {} failed",
        result.succeeded(),
        result.failures.len()
    );
    for f in &result.failures {
        println!("  scenario {}: {}: {}", f.scenario, f.kind, f.message);
    }
    if !result.failures.is_empty() {
        bail!(
            "{} of {count} scenarios failed; fix the model or the spec before submitting",
            result.failures.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let wasm = read(&args.model)?;
    let size = wasm.len();
    let model = sandbox()?
        .load(&wasm, &RunLimits::default())
        .map_err(|e| anyhow!("{}: {e}", args.model.display()))?;
    let info = model.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        println!("name     {}", info.name);
        println!("version  {}", info.version);
        println!("digest   {}", info.digest);
        println!("size     {}", table::bytes(size as u64));
        let inputs: Vec<String> = (0..info.inputs.len())
            .map(|i| match info.size(i) {
                1 => info.inputs[i].clone(),
                n => format!("{}[{n}]", info.inputs[i]),
            })
            .collect();
        println!("inputs   {}", inputs.join(", "));
        println!("outputs  {}", info.outputs.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
