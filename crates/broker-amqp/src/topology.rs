//! The queues and exchanges of an mcp installation, and their arguments.
//!
//! | name | kind | arguments | why |
//! |---|---|---|---|
//! | `P.model` | classic queue, durable | `x-max-length` 1 | holds only the current model: publishing a new one drops the old; each message carries the job's time-out as its TTL |
//! | `P.scenarios` | quorum queue | `x-delivery-limit` 20, dead-letters to `P.dlx` | work queue of batches with manual acks; a batch delivered more than 20 times (a poison batch) goes to `P.dead-letters` |
//! | `P.results` | fanout exchange → classic queue, durable | | result batches, persistent, acked by the coordinator once recorded; the coordinator binds the queue when it first starts (until then nobody would read it); each `submit --wait` follows its job on a durable queue of its own, `P.results.JOB`, bound to the same exchange |
//! | `P.jobs` | fanout exchange → classic queue, durable | | job announcements (spec and model description, no Wasm), persistent; read by the coordinator, which binds the queue when it first starts, like `P.results`; each `submit --wait` hears newer jobs on a durable queue of its own, `P.jobs.JOB` |
//! | `P.stats.producer`, `P.stats.consumers` | classic queue, durable, transient messages | `x-max-length` 1000, `x-message-ttl` 60000 | telemetry: bounded, nothing older than a minute, lost with a broker restart (a durable queue because RabbitMQ 4.3 refuses non-durable, non-exclusive ones by default) |
//! | `P.control` | fanout exchange | | commands to every consumer (pause, resume, drain) |
//! | `P.dlx` → `P.dead-letters` | direct exchange → durable queue | | poison batches, kept for inspection and replay |

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

/// How many times a scenario batch is delivered before it is dead-lettered. On RabbitMQ 3.10 a
/// batch returned because its consumer died, or because the broker restarted, counts as a
/// delivery; with consumers SIGKILLed every few seconds (`cargo xtask chaos`) a limit of 5
/// dead-lettered healthy batches, so this is 4.x's default of 20.
pub const DELIVERY_LIMIT: i64 = 20;
/// Bound of each stats queue, in messages.
pub const STATS_MAX_LENGTH: i64 = 1000;
/// Time-to-live of a stats message, in milliseconds.
pub const STATS_TTL_MS: i64 = 60_000;

/// The names of one installation's queues and exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
}

/// A failure to declare the topology.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// A queue or exchange exists with other arguments (an older mcp, or another program).
    #[error(
        "{what} `{name}` already exists with other arguments ({detail}); delete it (`rabbitmqctl delete_queue {name}` for a queue) or choose another prefix"
    )]
    Inequivalent {
        /// `queue` or `exchange`.
        what: &'static str,
        /// Its name.
        name: String,
        /// The broker's words.
        detail: String,
    },
    /// Any other broker error.
    #[error("declaring {what} `{name}` failed: {source}")]
    Broker {
        /// `queue`, `exchange` or `binding`.
        what: &'static str,
        /// Its name.
        name: String,
        /// The error.
        source: lapin::Error,
    },
}

/// `text` with the characters a regular expression gives a meaning to escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn args(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in pairs {
        t.insert((*k).into(), v.clone());
    }
    t
}

fn classify(what: &'static str, name: &str, source: lapin::Error) -> TopologyError {
    let text = source.to_string();
    if text.contains("PRECONDITION_FAILED") || text.contains("inequivalent") {
        TopologyError::Inequivalent {
            what,
            name: name.to_string(),
            detail: text,
        }
    } else {
        TopologyError::Broker {
            what,
            name: name.to_string(),
            source,
        }
    }
}

impl Topology {
    /// The topology under `prefix` (for example `mcp`).
    pub fn new(prefix: &str) -> Topology {
        Topology {
            prefix: prefix.to_string(),
        }
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }

    /// The queue holding the current model.
    pub fn model_queue(&self) -> String {
        self.name("model")
    }

    /// The work queue of scenario batches.
    pub fn scenarios_queue(&self) -> String {
        self.name("scenarios")
    }

    /// The queue of result batches.
    pub fn results_queue(&self) -> String {
        self.name("results")
    }

    /// The fanout exchange results are published to (same name as the queue; the two live
    /// in different namespaces).
    pub fn results_exchange(&self) -> String {
        self.name("results")
    }

    /// The private results queue `mcp submit --wait` follows job `job` on.
    pub fn job_results_queue(&self, job: &str) -> String {
        self.name(&format!("results.{job}"))
    }

    /// The private queue of job announcements `mcp submit --wait` hears newer jobs on while it
    /// follows job `job`.
    pub fn job_announcements_queue(&self, job: &str) -> String {
        self.name(&format!("jobs.{job}"))
    }

    /// The queue of job announcements, read by the coordinator.
    pub fn jobs_queue(&self) -> String {
        self.name("jobs")
    }

    /// The fanout exchange producers announce jobs on.
    pub fn jobs_exchange(&self) -> String {
        self.name("jobs")
    }

    /// The producer's telemetry queue.
    pub fn producer_stats_queue(&self) -> String {
        self.name("stats.producer")
    }

    /// The consumers' telemetry queue.
    pub fn consumer_stats_queue(&self) -> String {
        self.name("stats.consumers")
    }

    /// The fanout exchange of commands to consumers.
    pub fn control_exchange(&self) -> String {
        self.name("control")
    }

    /// The exchange poison batches are dead-lettered to.
    pub fn dead_letter_exchange(&self) -> String {
        self.name("dlx")
    }

    /// The queue keeping poison batches.
    pub fn dead_letter_queue(&self) -> String {
        self.name("dead-letters")
    }

    /// The RabbitMQ permissions (configure, write, read, as `rabbitmqctl set_permissions`
    /// takes them) that let a user run every mcp role under this prefix and touch nothing
    /// else: the prefix's queues and exchanges, the server-named queue a consumer hears
    /// commands on, and publishing through the default exchange.
    pub fn permissions(&self) -> [String; 3] {
        let prefix = regex_escape(&self.prefix);
        let own = format!("{prefix}\\..*|amq\\.gen-.*");
        [
            format!("^({own})$"),
            format!("^({own}|amq\\.default)$"),
            format!("^({own})$"),
        ]
    }

    /// The command that grants `user` the [`permissions`](Topology::permissions) on `vhost`.
    pub fn grant_command(&self, vhost: &str, user: &str) -> String {
        let [configure, write, read] = self.permissions();
        format!("rabbitmqctl set_permissions -p {vhost} {user} '{configure}' '{write}' '{read}'")
    }

    /// Every queue, for status pages and clean-up.
    pub fn queues(&self) -> Vec<String> {
        vec![
            self.model_queue(),
            self.scenarios_queue(),
            self.results_queue(),
            self.jobs_queue(),
            self.producer_stats_queue(),
            self.consumer_stats_queue(),
            self.dead_letter_queue(),
        ]
    }

    /// Declares every queue and exchange; safe to call from every role, every start.
    pub async fn declare(&self, channel: &Channel) -> Result<(), TopologyError> {
        let durable = QueueDeclareOptions::durable();
        self.exchange(
            channel,
            &self.dead_letter_exchange(),
            ExchangeKind::Direct,
            true,
        )
        .await?;
        self.exchange(
            channel,
            &self.control_exchange(),
            ExchangeKind::Fanout,
            true,
        )
        .await?;
        self.queue(
            channel,
            &self.dead_letter_queue(),
            durable,
            FieldTable::default(),
        )
        .await?;
        self.bind(
            channel,
            &self.dead_letter_queue(),
            &self.dead_letter_exchange(),
            &self.dead_letter_queue(),
        )
        .await?;
        self.queue(
            channel,
            &self.model_queue(),
            durable,
            args(&[("x-max-length", AMQPValue::LongLongInt(1))]),
        )
        .await?;
        self.queue(
            channel,
            &self.scenarios_queue(),
            durable,
            args(&[
                ("x-queue-type", AMQPValue::LongString("quorum".into())),
                ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
                (
                    "x-dead-letter-exchange",
                    AMQPValue::LongString(self.dead_letter_exchange().into()),
                ),
                (
                    "x-dead-letter-routing-key",
                    AMQPValue::LongString(self.dead_letter_queue().into()),
                ),
            ]),
        )
        .await?;
        self.queue(
            channel,
            &self.results_queue(),
            durable,
            FieldTable::default(),
        )
        .await?;
        self.exchange(
            channel,
            &self.results_exchange(),
            ExchangeKind::Fanout,
            true,
        )
        .await?;
        self.queue(channel, &self.jobs_queue(), durable, FieldTable::default())
            .await?;
        self.exchange(channel, &self.jobs_exchange(), ExchangeKind::Fanout, true)
            .await?;
        // The durable results and jobs queues are bound by the coordinator when it first
        // starts: until one has, nobody would read them, and they would only grow.
        let stats = args(&[
            ("x-max-length", AMQPValue::LongLongInt(STATS_MAX_LENGTH)),
            ("x-message-ttl", AMQPValue::LongLongInt(STATS_TTL_MS)),
        ]);
        // Durable queues of transient messages: telemetry still does not survive a broker
        // restart, and RabbitMQ 4.3 refuses non-durable, non-exclusive queues by default.
        self.queue(
            channel,
            &self.producer_stats_queue(),
            durable,
            stats.clone(),
        )
        .await?;
        self.queue(channel, &self.consumer_stats_queue(), durable, stats)
            .await?;
        Ok(())
    }

    /// Deletes every queue and exchange of the topology (tests, and `rabbitmqctl`-free clean-up).
    pub async fn delete(&self, channel: &Channel) -> Result<(), lapin::Error> {
        for q in self.queues() {
            channel
                .queue_delete(q.into(), QueueDeleteOptions::default())
                .await?;
        }
        for x in [
            self.control_exchange(),
            self.dead_letter_exchange(),
            self.results_exchange(),
            self.jobs_exchange(),
        ] {
            channel
                .exchange_delete(x.into(), ExchangeDeleteOptions::default())
                .await?;
        }
        Ok(())
    }

    /// Binds `queue` to `exchange` with `key`.
    pub async fn bind(
        &self,
        channel: &Channel,
        queue: &str,
        exchange: &str,
        key: &str,
    ) -> Result<(), TopologyError> {
        channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| classify("binding", queue, e))
    }

    async fn queue(
        &self,
        channel: &Channel,
        name: &str,
        options: QueueDeclareOptions,
        arguments: FieldTable,
    ) -> Result<(), TopologyError> {
        channel
            .queue_declare(name.into(), options, arguments)
            .await
            .map(|_| ())
            .map_err(|e| classify("queue", name, e))
    }

    async fn exchange(
        &self,
        channel: &Channel,
        name: &str,
        kind: ExchangeKind,
        durable: bool,
    ) -> Result<(), TopologyError> {
        let options = ExchangeDeclareOptions {
            durable,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(name.into(), kind, options, FieldTable::default())
            .await
            .map_err(|e| classify("exchange", name, e))
    }
}
