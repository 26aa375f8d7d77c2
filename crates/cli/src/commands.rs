//! What each subcommand does.

use crate::args::{Action, Cli, Command, InspectArgs, SubmitArgs, ValidateArgs};
use crate::table;
use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcp_embedded::{JobEnd, RunOptions, default_workers, prepare, run as run_job};
use mcp_protocol::{
    ControlAction, ControlCommand, FailureTally, JobModel, JobSummary, ScenarioBatch,
};
use mcp_sandbox::{RunLimits, Sandbox};
use mcp_spec::Spec;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code of bad input: unreadable files, invalid specs, refused models.
pub const EXIT_INPUT: u8 = 1;
/// Exit code of a job that ran past its time-out.
pub const EXIT_TIMED_OUT: u8 = 3;
/// Exit code of a job superseded by a newer submission before it completed.
pub const EXIT_SUPERSEDED: u8 = 4;
/// Exit code of a cancelled job.
pub const EXIT_CANCELLED: u8 = 130;

/// Runs one command; `Err` is bad input, reported by `main`.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Submit(args) => submit(args),
        Command::Validate(args) => validate(args),
        Command::Consumer(args) => crate::cluster::consumer(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => crate::serve::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Control(args) => {
            let action = match args.action {
                Action::Pause => ControlAction::Pause,
                Action::Resume => ControlAction::Resume,
                Action::Drain => ControlAction::Drain,
            };
            let command = ControlCommand {
                action,
                consumer: args.consumer,
                job: None,
            };
            let url = crate::cluster::resolve_broker(&args.broker, &args.connection)?;
            crate::cluster::control(&url, &args.connection.prefix, &command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect(args) => inspect(args),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("could not read {}", path.display()))
}

fn read_spec(path: &Path) -> anyhow::Result<Spec> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: not UTF-8 text; a spec is a TOML file", path.display()))?;
    Ok(Spec::parse(&text, &path.display().to_string())?)
}

fn sandbox() -> anyhow::Result<Sandbox> {
    Sandbox::new().context("could not start the WebAssembly engine")
}

/// Reads the model at `model`, checks it against `spec` and returns the job's model message;
/// `job_id` names the job after the model's digest.
fn prepare_job(
    model: &Path,
    spec: Spec,
    job_id: impl FnOnce(&str) -> String,
) -> anyhow::Result<(Sandbox, Arc<JobModel>)> {
    let wasm = read(model)?;
    let job = job_id(&mcp_sandbox::ModelDigest::of(&wasm).0);
    let sandbox = sandbox()?;
    let job = prepare(&sandbox, wasm, &model.display().to_string(), spec, &job)?;
    Ok((sandbox, job))
}

fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let mut spec = read_spec(&args.spec)?;
    if let Some(n) = args.scenarios {
        if n == 0 {
            bail!("--scenarios must be at least 1");
        }
        spec.simulation.scenarios = n;
    }
    if let Some(seed) = args.seed {
        spec.simulation.seed = seed;
    }
    let workers = match args.workers {
        Some(0) => bail!("--workers must be at least 1"),
        Some(n) => n,
        None => default_workers(),
    };
    if args.dashboard.is_some() && args.broker.is_some() {
        bail!(
            "--dashboard shows an embedded run; for jobs on a broker, run `mcp serve` and open \
             its dashboard"
        );
    }
    if args.wait && args.broker.is_none() {
        bail!(
            "--wait follows a job on a broker; give --broker (or set MCP_BROKER), or drop --wait \
             to run embedded"
        );
    }
    let distributed = args.broker.is_some();
    let (sandbox, job) = prepare_job(&args.model, spec, |digest| {
        if distributed {
            crate::cluster::new_job_id(digest)
        } else {
            "local".to_string()
        }
    })?;
    let total = job.spec.simulation.scenarios;

    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {human_pos}/{human_len} scenarios  {rate}  eta {eta}",
        )
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", table::count_f(state.per_sec()));
            },
        )
        .progress_chars("=> "),
    );
    if let Some(url) = &args.broker {
        let url = crate::cluster::resolve_broker(url, &args.connection)?;
        let followed = crate::cluster::submit(
            &url,
            &args.connection.prefix,
            job.clone(),
            args.wait,
            &mut |p| bar.set_position(p.scenarios),
        )?;
        bar.finish_and_clear();
        let Some(followed) = followed else {
            eprintln!(
                "job {} published: {} scenarios of model {} ({})",
                job.job, total, job.info.name, job.info.digest
            );
            println!("{}", job.job);
            return Ok(ExitCode::SUCCESS);
        };
        if let Some(newer) = &followed.superseded_by {
            report(
                &args,
                &job,
                &followed.summary,
                &followed.failures,
                JobEnd::Completed,
            )?;
            eprintln!(
                "error: job {} was superseded by job {newer} with {} of {total} scenarios \
                 evaluated; the summary covers those",
                job.job, followed.summary.scenarios
            );
            return Ok(ExitCode::from(EXIT_SUPERSEDED));
        }
        let end = if followed.timed_out {
            JobEnd::TimedOut
        } else {
            JobEnd::Completed
        };
        return report(&args, &job, &followed.summary, &followed.failures, end);
    }
    let mut options = RunOptions {
        workers,
        ..RunOptions::default()
    };
    let mut dashboard = match args.dashboard {
        Some(address) => Some(crate::dashboard::Dashboard::start(
            address,
            args.token.as_deref(),
            &job,
            &mut options,
        )?),
        None => None,
    };
    let outcome = run_job(&sandbox, job.clone(), &options, &mut |p| {
        bar.set_position(p.scenarios);
        if let Some(d) = dashboard.as_mut() {
            d.heartbeat(p);
        }
    })?;
    if let Some(d) = dashboard {
        d.finish(&outcome);
    }
    bar.finish_and_clear();
    report(
        &args,
        &job,
        &outcome.summary,
        &outcome.failures,
        outcome.end,
    )
}

/// Prints a job's summary as the table or as JSON, and picks the exit code.
fn report(
    args: &SubmitArgs,
    job: &JobModel,
    summary: &JobSummary,
    failures: &FailureTally,
    end: JobEnd,
) -> anyhow::Result<ExitCode> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        print!("{}", table::summary(summary, failures));
    }
    if summary.failed > 0 && args.json {
        eprintln!("{}", table::failures(failures));
    }
    Ok(match end {
        JobEnd::Completed => ExitCode::SUCCESS,
        JobEnd::TimedOut => {
            eprintln!(
                "error: the job timed out after {} s with {} of {} scenarios evaluated; the \
                 summary covers those; raise limits.timeout_s in {} to let it finish",
                job.spec.limits.timeout_s,
                summary.scenarios,
                job.spec.simulation.scenarios,
                args.spec.display()
            );
            ExitCode::from(EXIT_TIMED_OUT)
        }
        JobEnd::Cancelled => ExitCode::from(EXIT_CANCELLED),
    })
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let spec = read_spec(&args.spec)?;
    let (sandbox, job) = prepare_job(&args.model, spec, |_| "validate".to_string())?;
    let count = args.scenarios.max(1);
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

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
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
        println!("inputs   {}", info.inputs.join(", "));
        println!("outputs  {}", info.outputs.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
