//! The queues and exchanges of an mcp installation, and their arguments.
//!
//! | name | kind | arguments | why |
//! |---|---|---|---|
//! | `P.to.Q` | fanout exchange → queue `P.Q` | | how every queue below is fed (never the default exchange), so that a broker user's write permissions name the queues it may feed |
//! | `P.model` | classic queue, durable | `x-max-length` 1 | holds only the current model: publishing a new one drops the old; each message carries the job's time-out as its TTL |
//! | `P.scenarios` | quorum queue | `x-delivery-limit` 20, dead-letters to `P.dlx` | work queue of batches with manual acks; a batch delivered more than 20 times (a poison batch) goes to `P.dead-letters` |
//! | `P.results` | classic queue, durable, fed by `P.to.results` | | result batches, persistent, acked by the coordinator once recorded; the coordinator binds the queue when it first starts (until then nobody would read it); each `submit --wait` follows its job on a durable queue of its own, `P.results.JOB`, bound to the same exchange |
//! | `P.jobs` | classic queue, durable, fed by `P.to.jobs` | | job announcements (spec and model description, no Wasm), persistent; read by the coordinator, which binds the queue when it first starts, like `P.results`; each `submit --wait` hears newer jobs on a durable queue of its own, `P.jobs.JOB` |
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

/// What a broker user is for, when each role has a user of its own.
///
/// | role | may | may not |
/// |---|---|---|
/// | `Serve` (`mcp serve`, and `mcp control`) | everything under the prefix: it declares the topology, binds the results and jobs queues, reads every queue, stops jobs on `P.control`, publishes uploaded jobs | |
/// | `Consumer` | read batches and the model, publish results, heartbeats, batches it gives back and dead letters; hear `P.control` | announce jobs, publish models, send commands, read results or announcements |
/// | `Producer` (`mcp submit --broker`, with or without `--wait`) | announce jobs, publish models, batches and progress; hear `P.to.jobs` and `P.control`; make and read its job's private queues | publish results or heartbeats, send commands, read the shared results, jobs or scenarios queues |
/// | `Control` | send commands on `P.control` | anything else |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// `mcp serve`: the coordinator, which owns the topology.
    Serve,
    /// `mcp consumer`.
    Consumer,
    /// `mcp submit --broker`.
    Producer,
    /// `mcp control`.
    Control,
}

impl BrokerRole {
    /// Every role.
    pub const ALL: [BrokerRole; 4] = [
        BrokerRole::Serve,
        BrokerRole::Consumer,
        BrokerRole::Producer,
        BrokerRole::Control,
    ];

    /// Its name, as the user names in SECURITY.md end.
    pub fn name(self) -> &'static str {
        match self {
            BrokerRole::Serve => "serve",
            BrokerRole::Consumer => "consumer",
            BrokerRole::Producer => "producer",
            BrokerRole::Control => "control",
        }
    }
}

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

    /// The fanout exchange results are published to. Every queue is fed by an exchange of its
    /// own, `P.to.QUEUE`, never by the default exchange, so that a broker user's write
    /// permissions say which queues it may feed (see [`Topology::permissions`]).
    pub fn results_exchange(&self) -> String {
        self.name("to.results")
    }

    /// The fanout exchange the current model is published to.
    pub fn model_exchange(&self) -> String {
        self.name("to.model")
    }

    /// The fanout exchange scenario batches are published to.
    pub fn scenarios_exchange(&self) -> String {
        self.name("to.scenarios")
    }

    /// The fanout exchange producers' telemetry is published to.
    pub fn producer_stats_exchange(&self) -> String {
        self.name("to.stats.producer")
    }

    /// The fanout exchange consumers' heartbeats are published to.
    pub fn consumer_stats_exchange(&self) -> String {
        self.name("to.stats.consumers")
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
        self.name("to.jobs")
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
    /// takes them) of a broker user for `role` under this prefix: what that role does, and
    /// nothing else (see [`BrokerRole`]).
    pub fn permissions(&self, role: BrokerRole) -> [String; 3] {
        let p = regex_escape(&self.prefix);
        let server_named = "amq\\.gen-.*";
        let private = format!("{p}\\.(results|jobs)\\..+");
        let any = |alternatives: &[String]| format!("^({})$", alternatives.join("|"));
        match role {
            BrokerRole::Serve => {
                let all = any(&[format!("{p}\\..*"), server_named.to_string()]);
                [all.clone(), all.clone(), all]
            }
            BrokerRole::Consumer => [
                any(&[server_named.to_string()]),
                any(&[
                    format!("{p}\\.to\\.(results|scenarios|stats\\.consumers)"),
                    format!("{p}\\.dlx"),
                    server_named.to_string(),
                ]),
                any(&[
                    format!("{p}\\.(scenarios|model|control)"),
                    server_named.to_string(),
                ]),
            ],
            BrokerRole::Producer => [
                any(&[private.clone(), server_named.to_string()]),
                any(&[
                    format!("{p}\\.to\\.(jobs|model|scenarios|stats\\.producer)"),
                    private.clone(),
                    server_named.to_string(),
                ]),
                any(&[
                    format!("{p}\\.to\\.(jobs|results)"),
                    format!("{p}\\.control"),
                    private,
                    server_named.to_string(),
                ]),
            ],
            BrokerRole::Control => [
                String::new(),
                any(&[format!("{p}\\.control")]),
                String::new(),
            ],
        }
    }

    /// The command that grants `user` the [`permissions`](Topology::permissions) of `role`
    /// on `vhost`.
    pub fn grant_command(&self, vhost: &str, user: &str, role: BrokerRole) -> String {
        let [configure, write, read] = self.permissions(role);
        format!("rabbitmqctl set_permissions -p {vhost} {user} '{configure}' '{write}' '{read}'")
    }

    /// Every exchange, for clean-up.
    pub fn exchanges(&self) -> Vec<String> {
        vec![
            self.model_exchange(),
            self.scenarios_exchange(),
            self.results_exchange(),
            self.jobs_exchange(),
            self.producer_stats_exchange(),
            self.consumer_stats_exchange(),
            self.control_exchange(),
            self.dead_letter_exchange(),
        ]
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
        self.queue(channel, &self.jobs_queue(), durable, FieldTable::default())
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
        // Every queue is fed through an exchange of its own. The results and jobs queues are
        // bound by the coordinator (see above); the others here.
        for (exchange, queue) in [
            (self.model_exchange(), Some(self.model_queue())),
            (self.scenarios_exchange(), Some(self.scenarios_queue())),
            (self.results_exchange(), None),
            (self.jobs_exchange(), None),
            (
                self.producer_stats_exchange(),
                Some(self.producer_stats_queue()),
            ),
            (
                self.consumer_stats_exchange(),
                Some(self.consumer_stats_queue()),
            ),
        ] {
            self.exchange(channel, &exchange, ExchangeKind::Fanout, true)
                .await?;
            if let Some(queue) = queue {
                self.bind(channel, &queue, &exchange, "").await?;
            }
        }
        Ok(())
    }

    /// The first queue or exchange of the topology that does not exist, if one does not:
    /// what a role whose broker user may not declare checks instead (passive declarations
    /// need no permission). Each missing one closes its channel, so `channel` makes a new one
    /// per look.
    pub async fn missing<F, Fut>(&self, channel: F) -> Result<Option<String>, lapin::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Channel, lapin::Error>>,
    {
        let ch = channel().await?;
        for queue in self.queues() {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            if ch
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .is_err()
            {
                return Ok(Some(format!("queue `{queue}`")));
            }
        }
        for exchange in self.exchanges() {
            let passive = ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            };
            let declared = ch
                .exchange_declare(
                    exchange.as_str().into(),
                    ExchangeKind::Fanout,
                    passive,
                    FieldTable::default(),
                )
                .await;
            if declared.is_err() {
                return Ok(Some(format!("exchange `{exchange}`")));
            }
        }
        let _ = ch.close(200, "checked".into()).await;
        Ok(None)
    }

    /// Deletes every queue and exchange of the topology (tests, and `rabbitmqctl`-free clean-up).
    pub async fn delete(&self, channel: &Channel) -> Result<(), lapin::Error> {
        for q in self.queues() {
            channel
                .queue_delete(q.into(), QueueDeleteOptions::default())
                .await?;
        }
        for x in self.exchanges() {
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
