//! What each subcommand does, one module each; here the dispatch, the exit codes, and what the
//! commands share: reading the user's files, reaching the broker, making a token.

use crate::args::{BrokerOptions, Cli, Command};
use anyhow::{Context, anyhow, bail};
use mcp_broker::Reconnect;
use mcp_producer::prepare;
use mcp_protocol::JobModel;
use mcp_sandbox::Sandbox;
use mcp_spec::Spec;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code of bad input: unreadable files, invalid specs, refused models.
pub const EXIT_INPUT: u8 = 1;
/// Exit code of a job that ran past its time-out.
pub const EXIT_TIMED_OUT: u8 = 3;
/// Exit code of a job superseded by a newer submission before it completed.
pub const EXIT_SUPERSEDED: u8 = 4;
/// Exit code of `mcp replay` when the replayed scenario failed (clap takes 2 for usage errors).
pub const EXIT_SCENARIO_FAILED: u8 = 5;
/// Exit code of `mcp rerun` when the rerun's outputs differ from the job's.
pub const EXIT_NOT_REPRODUCED: u8 = 6;
/// Exit code of a cancelled job, and of a run stopped by Ctrl-C or SIGTERM.
pub const EXIT_CANCELLED: u8 = 130;

/// Runs one command; `Err` is bad input, reported by `main`.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Submit(args) => crate::submit::submit(args),
        Command::Compare(args) => crate::compare::compare(args),
        Command::Rerun(args) => crate::rerun::rerun(args),
        Command::Report(args) => crate::report::report(args),
        Command::Validate(args) => crate::inspect::validate(args),
        Command::Replay(args) => crate::replay::replay(args),
        Command::Results(args) => crate::results::results(args),
        Command::Consumer(args) => crate::consumer::consumer(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => crate::serve::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Control(args) => crate::control::control(args).map(|()| ExitCode::SUCCESS),
        Command::Inspect(args) => crate::inspect::inspect(args),
        Command::Fit(args) => crate::fit::fit(args),
        Command::New(args) => crate::new::new(args),
        Command::Health(args) => crate::api::health(&args.url, args.print),
    }
}

/// The bytes of the file at `path`.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("could not read {}", path.display()))
}

/// The spec at `path`, parsed and validated; what the parser changed (a repaired correlation
/// matrix) is printed to stderr as a warning.
pub(crate) fn read_spec(path: &Path) -> anyhow::Result<Spec> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: not UTF-8 text; a spec is a TOML file", path.display()))?;
    let spec = Spec::parse(&text, &path.display().to_string())?;
    for warning in &spec.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(spec)
}

/// The WebAssembly engine, within the default limits.
pub(crate) fn sandbox() -> anyhow::Result<Sandbox> {
    sandbox_within(mcp_sandbox::SandboxLimits::default())
}

/// The WebAssembly engine within `limits`.
pub(crate) fn sandbox_within(limits: mcp_sandbox::SandboxLimits) -> anyhow::Result<Sandbox> {
    Sandbox::with_limits(limits).context("could not start the WebAssembly engine")
}

/// Reads the model at `model`, checks it against `spec` and returns the job's model message;
/// `job_id` names the job after the model's digest.
pub(crate) fn prepare_job(
    model: &Path,
    spec: Spec,
    job_id: impl FnOnce(&str) -> String,
) -> anyhow::Result<(Sandbox, Arc<JobModel>)> {
    let sandbox = sandbox()?;
    let job = prepare_job_in(&sandbox, model, spec, job_id)?;
    Ok((sandbox, job))
}

/// [`prepare_job`] in a sandbox the caller already has.
pub(crate) fn prepare_job_in(
    sandbox: &Sandbox,
    model: &Path,
    spec: Spec,
    job_id: impl FnOnce(&str) -> String,
) -> anyhow::Result<Arc<JobModel>> {
    let wasm = read(model)?;
    let job = job_id(&mcp_sandbox::ModelDigest::of(&wasm).0);
    prepare(sandbox, wasm, &model.display().to_string(), spec, &job)
}

/// `--workers`, at least 1 [default: one per core].
pub(crate) fn workers(workers: Option<usize>) -> anyhow::Result<usize> {
    match workers {
        Some(0) => bail!("--workers must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(mcp_consumer::default_threads()),
    }
}

/// The broker URL, with the credentials of `--broker-credentials` (a `user:password` file) when
/// given; trusts the CA certificates of `--broker-ca` for `amqps://`.
pub(crate) fn resolve_broker(url: &str, options: &BrokerOptions) -> anyhow::Result<String> {
    if let Some(path) = &options.broker_ca {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("could not read --broker-ca {}", path.display()))?;
        mcp_broker_amqp::trust_ca_certificates(pem).map_err(|e| {
            anyhow!(
                "--broker-ca {} {e}; give the PEM file of the CA that signed the broker's certificate",
                path.display()
            )
        })?;
    }
    let Some(path) = &options.broker_credentials else {
        return Ok(url.to_string());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    mcp_broker_amqp::with_credentials(url, &text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// How `who` waits for the broker at `url` (its password never shown).
pub(crate) fn reconnect<'a>(who: &str, url: &str) -> Reconnect<'a> {
    Reconnect::new(who, format!("RabbitMQ at {}", mcp_broker_amqp::redact(url)))
}

/// `token` when given and not empty, else a new random one: 128 bits from the operating
/// system, in hex. Says whether it was made here.
pub(crate) fn token_or_new(token: Option<&str>) -> anyhow::Result<(String, bool)> {
    use std::io::Read;
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        return Ok((token.to_string(), false));
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("could not read /dev/urandom for a token; give one with --token or MCP_TOKEN")?;
    Ok((bytes.iter().map(|b| format!("{b:02x}")).collect(), true))
}
