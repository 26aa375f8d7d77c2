//! One connection to RabbitMQ with the topology declared, the runtime that drives lapin, and
//! the links each role opens on it.

use crate::consumer::AmqpConsumerSession;
use crate::coordinator::{AmqpCoordinator, Streams};
use crate::delivery::{PERSISTENT, broker_err, confirmed, consume_queue, declare_private};
use crate::listener::Listener;
use crate::producer::AmqpProducer;
use crate::refusal::{classify, is_access_refused, refusal};
use crate::{Topology, TopologyError};
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeleteOptions,
};
use lapin::{BasicProperties, Channel, Connection};
use mcp_broker::{BrokerError, Reconnect};
use mcp_protocol::{ControlCommand, JobAnnouncement, JobModel, decode, encode};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::runtime::Runtime;

/// A connection to RabbitMQ with its topology declared, and the runtime that drives it.
#[derive(Debug)]
pub struct AmqpBroker {
    runtime: Runtime,
    pub(crate) connection: Connection,
    topology: Topology,
    telemetry: Mutex<Option<Channel>>,
}

impl AmqpBroker {
    /// Connects to `url`, declares the topology under `prefix`; `name` shows in the broker's
    /// connection list.
    pub fn connect(url: &str, prefix: &str, name: &str) -> Result<Arc<AmqpBroker>, BrokerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mcp-amqp")
            .enable_all()
            .build()
            .map_err(|e| BrokerError::Other(format!("could not start the AMQP runtime: {e}")))?;
        let topology = Topology::new(prefix);
        let connection = runtime.block_on(async {
            let connection = crate::connect(url, name).await.map_err(|e| {
                let context = format!("could not connect to RabbitMQ at {}", crate::redact(url));
                classify(&e, Some(url), &context)
            })?;
            let channel = connection.create_channel().await.map_err(broker_err)?;
            match topology.declare(&channel).await {
                Ok(()) => {
                    let _ = channel.close(200, "topology declared".into()).await;
                }
                // A user of its own per role (SECURITY.md) may not declare: the user of
                // `mcp serve` has, or will.
                Err(TopologyError::Broker { source, .. }) if is_access_refused(&source) => {
                    let missing = topology
                        .missing(|| connection.create_channel())
                        .await
                        .map_err(broker_err)?;
                    if let Some(missing) = missing {
                        let (user, _) = crate::user_and_vhost(url);
                        return Err(BrokerError::Other(format!(
                            "{missing} does not exist yet, and user `{user}` may not declare \
                             it: start `mcp serve` under the same --prefix (its broker user \
                             declares mcp's queues and exchanges)"
                        )));
                    }
                }
                Err(e) => {
                    return Err(match &e {
                        TopologyError::Inequivalent { .. } => {
                            BrokerError::Misconfigured(e.to_string())
                        }
                        TopologyError::Broker { source, .. } => match refusal(source, Some(url)) {
                            Some(message) => BrokerError::Misconfigured(message),
                            None => BrokerError::Other(e.to_string()),
                        },
                    });
                }
            }
            Ok::<_, BrokerError>(connection)
        })?;
        Ok(Arc::new(AmqpBroker {
            runtime,
            connection,
            topology,
            telemetry: Mutex::default(),
        }))
    }

    /// Connects as [`connect`](AmqpBroker::connect) does, waiting for the broker with
    /// `reconnect` while it is away.
    pub fn connect_waiting(
        url: &str,
        prefix: &str,
        name: &str,
        reconnect: &mut Reconnect<'_>,
    ) -> Result<Arc<AmqpBroker>, BrokerError> {
        reconnect.connect(|| AmqpBroker::connect(url, prefix, name))
    }

    /// The topology in use.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// A new channel with publisher confirms.
    pub(crate) fn channel(&self) -> Result<Channel, BrokerError> {
        self.block_on(async {
            let channel = self.connection.create_channel().await.map_err(broker_err)?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(broker_err)?;
            Ok(channel)
        })
    }

    /// Publishes a telemetry message to `exchange` (no confirm: telemetry may be lost).
    pub(crate) fn publish_telemetry(&self, exchange: &str, body: &[u8]) -> Result<(), BrokerError> {
        let channel = {
            let mut slot = self.telemetry.lock().expect("telemetry lock");
            if slot.as_ref().is_none_or(|c| !c.status().connected()) {
                *slot = Some(
                    self.block_on(self.connection.create_channel())
                        .map_err(broker_err)?,
                );
            }
            slot.clone().expect("a telemetry channel")
        };
        self.block_on(async {
            channel
                .basic_publish(
                    exchange.into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    body,
                    BasicProperties::default(),
                )
                .await
                .map(|_| ())
                .map_err(broker_err)
        })
    }

    /// Publishes `body` to `exchange` on a channel of its own and waits for the confirm.
    pub(crate) fn publish_confirmed(
        &self,
        exchange: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        let channel = self.channel()?;
        self.block_on(async {
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    body,
                    properties,
                )
                .await
                .map_err(broker_err)?;
            confirmed(confirm).await?;
            let _ = channel.close(200, "sent".into()).await;
            Ok(())
        })
    }

    /// Announces a job to the coordinator (persistent, confirmed). Announcing it again is
    /// harmless: the coordinator records each job once.
    pub(crate) fn announce(&self, job: &JobAnnouncement) -> Result<(), BrokerError> {
        self.publish_confirmed(
            &self.topology.jobs_exchange(),
            &encode(job),
            BasicProperties::default().with_delivery_mode(PERSISTENT),
        )
    }

    /// Sends a command to consumers through the control exchange.
    pub fn publish_control(&self, command: &ControlCommand) -> Result<(), BrokerError> {
        self.publish_confirmed(
            &self.topology.control_exchange(),
            &encode(command),
            BasicProperties::default(),
        )
    }

    /// Removes the current model if it is `job`'s, so that no consumer starts on that job again
    /// (its remaining batches are then discarded as expired). Returns whether it was removed.
    pub fn retire_model(&self, job: &str) -> Result<bool, BrokerError> {
        let channel = self.channel()?;
        let retired = self.block_on(async {
            let got = channel
                .basic_get(
                    self.topology.model_queue().into(),
                    BasicGetOptions { no_ack: false },
                )
                .await
                .map_err(broker_err)?;
            let Some(message) = got else {
                return Ok(false);
            };
            let current = decode::<JobModel>(&message.delivery.data).is_ok_and(|m| m.job == job);
            if current {
                message
                    .delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(broker_err)?;
            } else {
                message
                    .delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .map_err(broker_err)?;
            }
            Ok(current)
        });
        let _ = self.block_on(channel.close(200, "retired".into()));
        retired
    }

    /// A producer link on its own channel. It hears, from now on, the job announcements and
    /// control commands: how it learns that its job was stopped or superseded.
    pub fn producer(self: &Arc<Self>) -> Result<AmqpProducer, BrokerError> {
        let t = &self.topology;
        let listener = Listener::new(self.clone(), &[t.jobs_exchange(), t.control_exchange()])?;
        Ok(AmqpProducer::new(self.clone(), self.channel()?, listener))
    }

    /// A consumer process's session: its links take at most `prefetch` unacknowledged batches
    /// each; it hears the control commands sent from now on.
    pub fn consumer_session(
        self: &Arc<Self>,
        id: &str,
        prefetch: u16,
    ) -> Result<AmqpConsumerSession, BrokerError> {
        let control = Listener::new(self.clone(), &[self.topology.control_exchange()])?;
        Ok(AmqpConsumerSession::new(
            self.clone(),
            id,
            prefetch,
            control,
        ))
    }

    /// The long-running coordinator's link: binds the durable results and jobs queues to their
    /// exchanges (from then on they keep every result and job, also while no coordinator runs)
    /// and consumes them with at most `prefetch` unacknowledged messages each, plus the
    /// telemetry queues.
    pub fn coordinator(self: &Arc<Self>, prefetch: u16) -> Result<AmqpCoordinator, BrokerError> {
        let channel = self.channel()?;
        let t = &self.topology;
        let streams = self.block_on(async {
            for (queue, exchange) in [
                (t.results_queue(), t.results_exchange()),
                (t.jobs_queue(), t.jobs_exchange()),
            ] {
                t.bind(&channel, &queue, &exchange, "")
                    .await
                    .map_err(crate::refusal::topology_err)?;
            }
            channel
                .basic_qos(prefetch, BasicQosOptions::default())
                .await
                .map_err(broker_err)?;
            Ok::<_, BrokerError>(Streams {
                jobs: consume_queue(&channel, &t.jobs_queue(), false).await?,
                results: consume_queue(&channel, &t.results_queue(), false).await?,
                consumers: Some(consume_queue(&channel, &t.consumer_stats_queue(), true).await?),
                producers: Some(consume_queue(&channel, &t.producer_stats_queue(), true).await?),
            })
        })?;
        Ok(AmqpCoordinator::new(self.clone(), channel, streams, true))
    }

    /// Declares the private queues a follower of `job` reads (`P.results.JOB` and
    /// `P.jobs.JOB`, durable, expiring a day after their last use; the latter also hears the
    /// control commands) without consuming them:
    /// called before the job is announced, so that no result and no newer job slips past.
    pub fn prepare_follower(&self, job: &str) -> Result<(), BrokerError> {
        let channel = self.channel()?;
        let declared = self.block_on(async {
            let t = &self.topology;
            declare_private(
                &channel,
                t,
                &t.job_results_queue(job),
                &t.results_exchange(),
            )
            .await?;
            declare_private(
                &channel,
                t,
                &t.job_announcements_queue(job),
                &t.jobs_exchange(),
            )
            .await?;
            // And the control commands: `mcp serve` says there when it stops the job.
            t.bind(
                &channel,
                &t.job_announcements_queue(job),
                &t.control_exchange(),
                "",
            )
            .await
            .map_err(crate::refusal::topology_err)
        });
        let _ = self.block_on(channel.close(200, "declared".into()));
        declared
    }

    /// The link of a coordinator following one job (`mcp submit --wait`): every result and
    /// every job announcement published since [`prepare_follower`] was called, on the job's
    /// private queues, which survive broker restarts. Calling it again after a reconnection
    /// picks up where the last one left off.
    ///
    /// [`prepare_follower`]: AmqpBroker::prepare_follower
    pub fn follower(self: &Arc<Self>, job: &str) -> Result<AmqpCoordinator, BrokerError> {
        self.prepare_follower(job)?;
        let channel = self.channel()?;
        let t = &self.topology;
        let streams = self.block_on(async {
            Ok::<_, BrokerError>(Streams {
                jobs: consume_queue(&channel, &t.job_announcements_queue(job), false).await?,
                results: consume_queue(&channel, &t.job_results_queue(job), false).await?,
                consumers: None,
                producers: None,
            })
        })?;
        Ok(AmqpCoordinator::new(self.clone(), channel, streams, false))
    }

    /// Deletes the private queues of `job` once it has been followed to its end.
    pub fn delete_follower(&self, job: &str) -> Result<(), BrokerError> {
        let t = &self.topology;
        self.block_on(async {
            let channel = self.connection.create_channel().await.map_err(broker_err)?;
            for name in [t.job_results_queue(job), t.job_announcements_queue(job)] {
                channel
                    .queue_delete(name.into(), QueueDeleteOptions::default())
                    .await
                    .map_err(broker_err)?;
            }
            Ok(())
        })
    }
}
