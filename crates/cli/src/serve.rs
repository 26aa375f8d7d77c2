//! `mcp serve`: the coordinator process. Records results and job announcements from the broker
//! into the job history before acknowledging them, and serves the HTTP API and dashboard.

use crate::args::ServeArgs;
use crate::commands::{reconnect, resolve_broker, sandbox_within, token_or_new};
use anyhow::{Context, anyhow};
use mcp_broker::{CoordinatorLink, ProducerLink};
use mcp_broker_amqp::{AmqpBroker, AmqpController};
use mcp_coordinator::{Book, ServeError, coordinate_reconnecting};
use mcp_producer::{Packing, ProducerEnd, ProducerProgress, SubmissionLimits};
use mcp_protocol::{JobAnnouncement, now_ms};
use mcp_sandbox::Sandbox;
use mcp_server::{AllowedHosts, Api, HttpServer, Submitted, Submitter, Upload};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Where the job history lives unless `--db` says otherwise.
fn default_db() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(dir) => dir.join("mcp").join("history.sqlite3"),
        None => PathBuf::from("mcp-history.sqlite3"),
    }
}

/// Runs the coordinator until SIGTERM or Ctrl-C.
pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let url = resolve_broker(&args.broker, &args.connection)?;
    let prefix = args.connection.prefix.clone();
    let db = args.db.clone().unwrap_or_else(default_db);
    let ceilings = args.ceilings.ceilings();
    let mut book = Book::open(&db, now_ms())?;
    book.set_ceilings(ceilings);
    let book = Arc::new(Mutex::new(book));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .context("could not install the signal handler")?;
    }
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| {
        format!(
            "could not listen on {}; choose another address with --listen (port 0 picks a \
             free one)",
            args.listen
        )
    })?;
    let submitter = ApiSubmitter {
        url: url.clone(),
        prefix: prefix.clone(),
        sandbox: sandbox_within(args.sandbox.limits())?,
        limits: SubmissionLimits {
            scenarios: args.max_scenarios,
            batch: args.max_batch,
            outputs: args.max_outputs,
            ceilings,
            message_bytes: args.connection.message_bytes(),
        },
    };
    let (token, generated) = token_or_new(args.token.as_deref())?;
    let api = Api::new(book.clone(), Some(Arc::new(submitter)))
        .with_controller(Arc::new(AmqpController::new(&url, &prefix)))
        .with_token(&token)
        .with_upload_limit(args.max_upload_mib.saturating_mul(1 << 20))
        .with_allowed_hosts(AllowedHosts::new(&args.allowed_hosts))
        .with_limits(args.max_requests, args.max_streams);
    let http = HttpServer::start(listener, api)?;
    println!(
        "mcp serve: dashboard on http://{}/ (API under /api/jobs), history in {}",
        http.address(),
        db.display()
    );
    if generated {
        // A token given with --token or MCP_TOKEN is never printed.
        println!(
            "mcp serve: token for submitting, cancelling and controlling: {token} (set MCP_TOKEN \
             to keep one across restarts)"
        );
    }

    let name = "mcp serve";
    let mut reconnect = reconnect(name, &url).until(&stop);
    let mut connect = || -> Result<Box<dyn CoordinatorLink>, _> {
        let broker = AmqpBroker::connect(&url, &prefix, name)?;
        tracing::info!(db = %db.display(), "coordinator connected");
        Ok(Box::new(broker.coordinator(args.prefetch)?))
    };
    let mut until = |_: &Book| stop.load(Ordering::Relaxed);
    let outcome = coordinate_reconnecting(&mut connect, &mut reconnect, &book, &mut until, name);
    stop.store(true, Ordering::Relaxed);
    http.stop()?;
    match outcome {
        Ok(()) => Ok(()),
        Err(ServeError::Store(e)) => Err(anyhow!("{e}")),
        Err(e @ ServeError::Broker(_)) => Err(anyhow!("{e}")),
    }
}

/// Takes uploads from the API: validates them like `mcp submit` does, checks the operator's
/// limits, then publishes them from a thread of their own.
struct ApiSubmitter {
    url: String,
    prefix: String,
    sandbox: Sandbox,
    limits: SubmissionLimits,
}

impl Submitter for ApiSubmitter {
    fn submit(&self, upload: Upload) -> Result<Submitted, String> {
        let job = mcp_producer::accept(
            &self.sandbox,
            &self.limits,
            upload.model,
            &upload.model_name,
            &upload.spec,
            &upload.spec_name,
            &upload.overrides,
        )?;
        let submitted = Submitted {
            id: job.job.clone(),
            scenarios: job.spec.simulation.scenarios,
            digest: job.info.digest.clone(),
        };
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let packing = Packing::of(&self.sandbox, &job, self.limits.message_bytes);
        tracing::info!(job = %job.job, ?packing, "batches per message");
        std::thread::Builder::new()
            .name(format!("submit {}", job.job))
            .spawn(move || {
                let id = job.job.clone();
                let name = format!("mcp submit {id}");
                let mut reconnect = reconnect(&name, &url);
                let mut connect = || -> Result<Box<dyn ProducerLink>, _> {
                    Ok(Box::new(
                        AmqpBroker::connect(&url, &prefix, &name)?.producer()?,
                    ))
                };
                let announcement = JobAnnouncement::of(&job, now_ms());
                let progress = ProducerProgress::default().packing(packing.per_message);
                let published = mcp_producer::publish(
                    &mut connect,
                    &mut reconnect,
                    job,
                    &announcement,
                    &progress,
                );
                match published {
                    Ok(ProducerEnd::Ended(cause)) => {
                        tracing::info!(job = %id, "stopped publishing the job: {cause:?}");
                    }
                    Ok(_) => tracing::info!(job = %id, "published the job"),
                    Err(e) => tracing::error!("publishing an uploaded job failed: {e}"),
                }
            })
            .map_err(|e| format!("could not start publishing: {e}"))?;
        Ok(submitted)
    }
}
