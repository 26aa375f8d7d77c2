//! `mcp serve`: the coordinator process. Records results and job announcements from the broker
//! into the job history before acknowledging them, and serves the HTTP API.

use crate::args::ServeArgs;
use crate::cluster::{Backoff, connect, new_job_id, resolve_broker};
use anyhow::{Context, anyhow};
use mcp_broker_amqp::AmqpBroker;
use mcp_coordinator::{Book, ServeError, now_ms};
use mcp_protocol::{ControlAction, ControlCommand};
use mcp_sandbox::Sandbox;
use mcp_server::{Api, Controller, Submitted, Submitter};
use mcp_spec::Spec;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the job history lives unless `--db` says otherwise.
pub fn default_db() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(dir) => dir.join("mcp").join("history.sqlite3"),
        None => PathBuf::from("mcp-history.sqlite3"),
    }
}

/// A new random token: 128 bits from the operating system, in hex.
pub fn new_token() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("could not read /dev/urandom for a token; give one with --token or MCP_TOKEN")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the coordinator until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let url = resolve_broker(&args.broker, &args.connection)?;
    let db = args.db.clone().unwrap_or_else(default_db);
    let book = Book::open(&db, now_ms())?;
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
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let submitter = ClusterSubmitter {
        url: url.clone(),
        prefix: args.connection.prefix.clone(),
        sandbox: Sandbox::new().context("could not start the WebAssembly engine")?,
        limits: SubmitLimits {
            scenarios: args.max_scenarios,
            batch: args.max_batch,
            outputs: args.max_outputs,
        },
    };
    let controller = ClusterController {
        url: url.clone(),
        prefix: args.connection.prefix.clone(),
        broker: Mutex::default(),
    };
    let (token, generated) = match args.token.clone() {
        Some(token) if !token.is_empty() => (token, false),
        _ => (new_token()?, true),
    };
    let api = Api::new(book.clone(), Some(Arc::new(submitter)))
        .with_controller(Arc::new(controller))
        .with_token(&token)
        .with_upload_limit(args.max_upload_mib.saturating_mul(1 << 20));
    let http = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("mcp-http".into())
            .spawn(move || http(listener, api, stop))?
    };
    println!(
        "mcp serve: dashboard on http://{address}/ (API under /api/jobs), history in {}",
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
    let mut backoff = Backoff::new();
    let outcome = loop {
        let broker = match connect(&url, &args.connection.prefix, name, Some(&stop)) {
            Ok(broker) => broker,
            Err(_) if stop.load(Ordering::Relaxed) => break Ok(()),
            Err(e) => break Err(e),
        };
        let link = match broker.serve_link(args.prefetch) {
            Ok(link) => link,
            Err(e) => {
                backoff.wait(&url, name, &e);
                continue;
            }
        };
        tracing::info!(db = %db.display(), "coordinator connected");
        match mcp_coordinator::serve(&link, &book, &stop) {
            Ok(()) => break Ok(()),
            Err(ServeError::Store(e)) => break Err(anyhow!("{e}")),
            Err(ServeError::Broker(e)) if !stop.load(Ordering::Relaxed) => {
                backoff.wait(&url, name, &e)
            }
            Err(ServeError::Broker(_)) => break Ok(()),
        }
    };
    stop.store(true, Ordering::Relaxed);
    http.join().expect("HTTP thread")?;
    outcome
}

/// Serves the API until `stop` is set.
pub(crate) fn http(
    listener: std::net::TcpListener,
    api: Api,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mcp-http")
        .enable_all()
        .build()
        .context("could not start the HTTP runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let shutdown = async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        mcp_server::run(listener, api, shutdown).await
    })?;
    Ok(())
}

/// Takes uploads from the API: validates them like `mcp submit` does, then publishes them from
/// a thread of their own.
struct ClusterSubmitter {
    url: String,
    prefix: String,
    sandbox: Sandbox,
    limits: SubmitLimits,
}

/// What the operator allows a job submitted through the API.
#[derive(Debug, Clone, Copy)]
struct SubmitLimits {
    scenarios: u64,
    batch: u32,
    outputs: usize,
}

impl SubmitLimits {
    /// Checks a validated job against the limits, naming the one it exceeds.
    fn check(&self, job: &mcp_protocol::JobModel, spec_name: &str) -> Result<(), String> {
        let sim = &job.spec.simulation;
        if sim.scenarios > self.scenarios {
            return Err(format!(
                "{spec_name}: simulation.scenarios is {}, more than this server takes ({}); \
                 split the job or ask the operator to raise --max-scenarios",
                sim.scenarios, self.scenarios
            ));
        }
        if sim.batch > self.batch {
            return Err(format!(
                "{spec_name}: simulation.batch is {}, more than this server takes ({}); use a \
                 smaller batch or ask the operator to raise --max-batch",
                sim.batch, self.batch
            ));
        }
        let outputs = job.info.outputs.len();
        if outputs > self.outputs {
            return Err(format!(
                "the model has {outputs} outputs, more than this server takes ({}); ask the \
                 operator to raise --max-outputs",
                self.outputs
            ));
        }
        Ok(())
    }
}

impl Submitter for ClusterSubmitter {
    fn submit(
        &self,
        model: Vec<u8>,
        model_name: &str,
        spec: &str,
        spec_name: &str,
    ) -> Result<Submitted, String> {
        let spec = Spec::parse(spec, spec_name).map_err(|e| e.to_string())?;
        let job = new_job_id(&mcp_sandbox::ModelDigest::of(&model).0);
        let job = mcp_embedded::prepare(&self.sandbox, model, model_name, spec, &job)
            .map_err(|e| format!("{e:#}"))?;
        self.limits.check(&job, spec_name)?;
        let submitted = Submitted {
            id: job.job.clone(),
            scenarios: job.spec.simulation.scenarios,
            digest: job.info.digest.clone(),
        };
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        std::thread::Builder::new()
            .name(format!("submit {}", job.job))
            .spawn(move || {
                if let Err(e) = crate::cluster::submit(&url, &prefix, job, false, &mut |_| {}) {
                    tracing::error!("publishing an uploaded job failed: {e:#}");
                }
            })
            .map_err(|e| format!("could not start publishing: {e}"))?;
        Ok(submitted)
    }
}

/// Sends the dashboard's commands through the broker's control exchange.
struct ClusterController {
    url: String,
    prefix: String,
    /// A connection kept between commands; made again when it fails.
    broker: Mutex<Option<Arc<AmqpBroker>>>,
}

impl ClusterController {
    fn with_broker<T>(
        &self,
        f: impl Fn(&AmqpBroker) -> Result<T, mcp_broker::BrokerError>,
    ) -> Result<T, String> {
        let mut slot = self.broker.lock().expect("controller lock");
        let mut last = String::new();
        for _ in 0..2 {
            if slot.is_none() {
                let broker = AmqpBroker::connect(&self.url, &self.prefix, "mcp serve control")
                    .map_err(|e| e.to_string())?;
                *slot = Some(broker);
            }
            match f(slot.as_ref().expect("a broker")) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::warn!("control command failed: {e}");
                    last = e.to_string();
                    *slot = None;
                }
            }
        }
        Err(last)
    }
}

impl Controller for ClusterController {
    fn control(&self, action: ControlAction, consumer: Option<&str>) -> Result<(), String> {
        let command = ControlCommand {
            action,
            consumer: consumer.map(str::to_string),
            job: None,
        };
        self.with_broker(|b| b.publish_control(&command))
    }

    fn cancel(&self, job: &str) -> Result<(), String> {
        // No consumer starts the job again, and those on it drop its remaining batches.
        self.with_broker(|b| b.retire_model(job))?;
        let command = ControlCommand {
            action: ControlAction::Cancel,
            consumer: None,
            job: Some(job.to_string()),
        };
        self.with_broker(|b| b.publish_control(&command))
    }
}
