//! `mcp consumer`: a consumer process on a broker, until SIGTERM or Ctrl-C drains it.

use crate::args::ConsumerArgs;
use crate::commands::{reconnect, resolve_broker, sandbox_within};
use anyhow::{Context, bail};
use mcp_broker::ConsumerSession;
use mcp_broker_amqp::AmqpBroker;
use mcp_consumer::{ConsumerMetrics, ConsumerProcess};
use mcp_server::{HttpServer, Probes};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Runs a consumer until SIGTERM or Ctrl-C, which drain it: batches in flight finish, are
/// acknowledged, and the process exits 0. When the broker goes away, it reconnects with
/// backoff and carries on; batches it had not acknowledged are redelivered by the broker.
pub(crate) fn consumer(args: ConsumerArgs) -> anyhow::Result<()> {
    let url = resolve_broker(&args.broker, &args.connection)?;
    let id = args.id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            mcp_consumer::heartbeat::host_name(),
            std::process::id()
        )
    });
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => mcp_consumer::default_threads(),
    };
    let sandbox = sandbox_within(args.sandbox.limits())?;
    let drain = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, drain.clone())
            .context("could not install the signal handler")?;
    }
    let name = format!("mcp consumer {id}");
    let mut reconnect = reconnect(&name, &url).until(&drain);
    let mut connect = || -> Result<Box<dyn ConsumerSession>, _> {
        let broker = AmqpBroker::connect(&url, &args.connection.prefix, &name)?;
        Ok(Box::new(broker.consumer_session(&id, args.prefetch)?))
    };
    let mut process = ConsumerProcess::new(&id, threads)
        .with_ceilings(args.ceilings.ceilings())
        .with_message_limit(args.connection.message_bytes());
    let _probes = match args.metrics {
        Some(address) => {
            let listener = std::net::TcpListener::bind(address).with_context(|| {
                format!("could not listen on --metrics {address}; choose another address")
            })?;
            let probes = Arc::new(ConsumerProbes(process.metrics()));
            let server = HttpServer::start_probes(listener, probes)?;
            tracing::info!(address = %server.address(), "metrics on /metrics, probes on /healthz and /readyz");
            Some(server)
        }
        None => None,
    };
    process.run(&mut connect, &mut reconnect, &sandbox, &drain)
}

/// What a consumer's probes show: its metrics; ready while it holds a link to the broker.
struct ConsumerProbes(Arc<ConsumerMetrics>);

impl Probes for ConsumerProbes {
    fn metrics(&self) -> String {
        self.0.render()
    }

    fn ready(&self) -> Result<(), String> {
        if self.0.broker_up() {
            Ok(())
        } else {
            Err("not connected to the broker".into())
        }
    }
}
