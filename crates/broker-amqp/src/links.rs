//! The role links over RabbitMQ: blocking calls for the role threads, lapin underneath.

use crate::Topology;
use futures_lite::StreamExt;
use lapin::Acker;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, BasicRejectOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection};
use lapin::{Confirmation, PublisherConfirm};
use mcp_broker::{
    BrokerError, ConsumerLink, CoordinatorLink, Delivery, Incoming, Polled, ProducerLink,
    QueueDepth, ServeLink,
};
use mcp_protocol::{
    BatchMessage, ConsumerStatus, ControlCommand, JobAnnouncement, JobId, JobModel, ProducerStatus,
    ResultBatch, ResultMessage, ScenarioBatch, decode, encode,
};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Runtime;

/// How long a job's private results queue outlives its last consumer, in milliseconds.
pub const JOB_QUEUE_EXPIRES_MS: i64 = 24 * 3600 * 1000;

/// Most batches published but not yet confirmed by the broker.
pub const MAX_UNCONFIRMED: usize = 256;
/// AMQP delivery mode of messages that must survive a broker restart.
const PERSISTENT: u8 = 2;

fn broker_err(e: lapin::Error) -> BrokerError {
    BrokerError::Other(format!("RabbitMQ: {e}"))
}

/// A connection to RabbitMQ with its topology declared, and the runtime that drives it.
#[derive(Debug)]
pub struct AmqpBroker {
    runtime: Runtime,
    connection: Connection,
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
                BrokerError::Other(format!(
                    "could not connect to RabbitMQ at {}: {e}",
                    crate::redact(url)
                ))
            })?;
            let channel = connection.create_channel().await.map_err(broker_err)?;
            topology.declare(&channel).await.map_err(|e| match e {
                crate::TopologyError::Inequivalent { .. } => {
                    BrokerError::Misconfigured(e.to_string())
                }
                e => BrokerError::Other(e.to_string()),
            })?;
            let _ = channel.close(200, "topology declared".into()).await;
            Ok::<_, BrokerError>(connection)
        })?;
        Ok(Arc::new(AmqpBroker {
            runtime,
            connection,
            topology,
            telemetry: Mutex::default(),
        }))
    }

    /// The topology in use.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    fn channel(&self) -> Result<Channel, BrokerError> {
        self.block_on(async {
            let channel = self.connection.create_channel().await.map_err(broker_err)?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(broker_err)?;
            Ok(channel)
        })
    }

    /// Publishes a telemetry message to `queue` (no confirm: telemetry may be lost).
    pub fn publish_telemetry(&self, queue: &str, body: &[u8]) -> Result<(), BrokerError> {
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
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    body,
                    BasicProperties::default(),
                )
                .await
                .map(|_| ())
                .map_err(broker_err)
        })
    }

    /// A producer link on its own channel.
    pub fn producer(self: &Arc<Self>) -> Result<AmqpProducer, BrokerError> {
        Ok(AmqpProducer {
            broker: self.clone(),
            channel: self.channel()?,
            state: Mutex::default(),
        })
    }

    /// A consumer link on its own channel, taking at most `prefetch` unacknowledged batches.
    pub fn consumer(
        self: &Arc<Self>,
        id: &str,
        prefetch: u16,
    ) -> Result<AmqpConsumer, BrokerError> {
        let channel = self.channel()?;
        let stream = self.block_on(async {
            channel
                .basic_qos(prefetch, BasicQosOptions::default())
                .await
                .map_err(broker_err)?;
            subscribe_scenarios(&channel, &self.topology, id).await
        })?;
        Ok(AmqpConsumer {
            broker: self.clone(),
            id: id.to_string(),
            channel,
            stream: Mutex::new(stream),
            ackers: Ackers::default(),
            paused: std::sync::atomic::AtomicBool::new(false),
            in_flight: Mutex::default(),
        })
    }

    /// The id of the job whose model is current, if any (peeks at the model queue).
    pub fn current_job(&self) -> Result<Option<String>, BrokerError> {
        let channel = self.channel()?;
        let model = self.block_on(peek_model(&channel, &self.topology));
        let _ = self.block_on(channel.close(200, "peeked".into()));
        Ok(model?.map(|m| m.job))
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

    /// Publishes `body` to `exchange` on a channel of its own and waits for the confirm.
    fn publish_confirmed(
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

    /// Sends a command to consumers through the control exchange.
    pub fn publish_control(&self, command: &ControlCommand) -> Result<(), BrokerError> {
        self.publish_confirmed(
            &self.topology.control_exchange(),
            &encode(command),
            BasicProperties::default(),
        )
    }

    /// A private queue on the control exchange: the commands sent from now on.
    pub fn control_listener(self: &Arc<Self>) -> Result<AmqpControl, BrokerError> {
        let channel = self.channel()?;
        let stream = self.block_on(async {
            let queue = channel
                .queue_declare(
                    "".into(),
                    QueueDeclareOptions {
                        exclusive: true,
                        auto_delete: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(broker_err)?;
            let name = queue.name().to_string();
            self.topology
                .bind(&channel, &name, &self.topology.control_exchange(), "")
                .await
                .map_err(|e| BrokerError::Other(e.to_string()))?;
            consume_queue(&channel, &name, true).await
        })?;
        Ok(AmqpControl {
            broker: self.clone(),
            _channel: channel,
            stream: Mutex::new(stream),
        })
    }

    /// A link receiving every result published from now on, on a durable queue of its own
    /// (`P.results.JOB`) that survives broker restarts and expires a day after its last use:
    /// what `mcp submit --wait` follows a job with. Calling it again after a reconnection picks
    /// up where the last one left off.
    pub fn result_listener(self: &Arc<Self>, job: &str) -> Result<AmqpResults, BrokerError> {
        let channel = self.channel()?;
        let stream = self.block_on(async {
            let queue = declare_job_results(&channel, &self.topology, job).await?;
            consume_queue(&channel, &queue, false).await
        })?;
        Ok(AmqpResults {
            broker: self.clone(),
            stream: Mutex::new(stream),
            ackers: Ackers::default(),
        })
    }

    /// Declares the results queue of `job` without consuming it: called before publishing, so
    /// that no result can slip past a `submit --wait`.
    pub fn prepare_result_listener(&self, job: &str) -> Result<(), BrokerError> {
        let channel = self.channel()?;
        let declared = self.block_on(declare_job_results(&channel, &self.topology, job));
        let _ = self.block_on(channel.close(200, "declared".into()));
        declared.map(|_| ())
    }

    /// Announces a job to the coordinator (persistent, confirmed). Announcing it again is
    /// harmless: the coordinator records each job once.
    pub fn announce_job(&self, job: &JobAnnouncement) -> Result<(), BrokerError> {
        self.publish_confirmed(
            &self.topology.jobs_exchange(),
            &encode(job),
            BasicProperties::default().with_delivery_mode(PERSISTENT),
        )
    }

    /// The coordinator's link: binds the durable results and jobs queues to their exchanges
    /// (from then on they keep every result and job, also while no coordinator runs) and
    /// consumes them with at most `prefetch` unacknowledged messages each, plus the telemetry
    /// queues.
    pub fn serve_link(self: &Arc<Self>, prefetch: u16) -> Result<AmqpServe, BrokerError> {
        let channel = self.channel()?;
        let t = &self.topology;
        let streams = self.block_on(async {
            let bind = |queue: String, exchange: String| {
                let channel = channel.clone();
                async move {
                    t.bind(&channel, &queue, &exchange, "")
                        .await
                        .map_err(|e| BrokerError::Other(e.to_string()))
                }
            };
            bind(t.results_queue(), t.results_exchange()).await?;
            bind(t.jobs_queue(), t.jobs_exchange()).await?;
            channel
                .basic_qos(prefetch, BasicQosOptions::default())
                .await
                .map_err(broker_err)?;
            Ok::<_, BrokerError>(ServeStreams {
                jobs: consume_queue(&channel, &t.jobs_queue(), false).await?,
                results: consume_queue(&channel, &t.results_queue(), false).await?,
                consumers: consume_queue(&channel, &t.consumer_stats_queue(), true).await?,
                producers: consume_queue(&channel, &t.producer_stats_queue(), true).await?,
            })
        })?;
        Ok(AmqpServe {
            broker: self.clone(),
            _channel: channel,
            streams: Mutex::new(streams),
            ackers: Ackers::default(),
            depth_channel: Mutex::default(),
        })
    }

    /// Deletes the private results queue of `job` once the job has been followed to its end.
    pub fn delete_result_listener(&self, job: &str) -> Result<(), BrokerError> {
        let name = self.topology.job_results_queue(job);
        self.block_on(async {
            let channel = self.connection.create_channel().await.map_err(broker_err)?;
            channel
                .queue_delete(name.into(), lapin::options::QueueDeleteOptions::default())
                .await
                .map(|_| ())
                .map_err(broker_err)
        })
    }
}

/// Peeks at the current model: takes it unacknowledged and puts it straight back, so that it
/// stays current for everyone else (on a classic queue requeues cost nothing). An unreadable
/// model message is dropped rather than put back.
async fn peek_model(
    channel: &Channel,
    topology: &Topology,
) -> Result<Option<JobModel>, BrokerError> {
    let got = channel
        .basic_get(
            topology.model_queue().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
        .map_err(broker_err)?;
    let Some(message) = got else {
        return Ok(None);
    };
    let model = decode::<JobModel>(&message.delivery.data);
    message
        .delivery
        .nack(BasicNackOptions {
            requeue: model.is_ok(),
            ..BasicNackOptions::default()
        })
        .await
        .map_err(broker_err)?;
    match model {
        Ok(model) => Ok(Some(model)),
        Err(e) => {
            tracing::warn!("dropped an unreadable model message: {e}");
            Ok(None)
        }
    }
}

/// Subscribes consumer `tag` to the scenarios queue.
async fn subscribe_scenarios(
    channel: &Channel,
    topology: &Topology,
    tag: &str,
) -> Result<lapin::Consumer, BrokerError> {
    channel
        .basic_consume(
            topology.scenarios_queue().into(),
            tag.into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker_err)
}

/// Consumes `queue` under a server-chosen tag.
async fn consume_queue(
    channel: &Channel,
    queue: &str,
    no_ack: bool,
) -> Result<lapin::Consumer, BrokerError> {
    channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions {
                no_ack,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(broker_err)
}

/// Declares the durable results queue of `job` (see [`AmqpBroker::result_listener`]).
async fn declare_job_results(
    channel: &Channel,
    topology: &Topology,
    job: &str,
) -> Result<String, BrokerError> {
    let name = topology.job_results_queue(job);
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-expires".into(),
        lapin::types::AMQPValue::LongLongInt(JOB_QUEUE_EXPIRES_MS),
    );
    channel
        .queue_declare(
            name.as_str().into(),
            QueueDeclareOptions::durable(),
            arguments,
        )
        .await
        .map_err(broker_err)?;
    topology
        .bind(channel, &name, &topology.results_exchange(), "")
        .await
        .map_err(|e| BrokerError::Other(e.to_string()))?;
    Ok(name)
}

/// Header naming why a message was dead-lettered by mcp.
pub const REASON_HEADER: &str = "x-mcp-reason";
/// Header naming the queue a dead-lettered message came from.
pub const QUEUE_HEADER: &str = "x-mcp-queue";

/// Sets a message that can never be handled aside: publishes it to the dead-letter queue with
/// why and where from (on a confirming `channel`), so that the caller can then acknowledge it.
async fn dead_letter(
    channel: &Channel,
    topology: &Topology,
    data: &[u8],
    from: &str,
    reason: &str,
) -> Result<(), BrokerError> {
    let mut headers = FieldTable::default();
    headers.insert(
        REASON_HEADER.into(),
        lapin::types::AMQPValue::LongString(reason.into()),
    );
    headers.insert(
        QUEUE_HEADER.into(),
        lapin::types::AMQPValue::LongString(from.into()),
    );
    let confirm = channel
        .basic_publish(
            topology.dead_letter_exchange().into(),
            topology.dead_letter_queue().into(),
            BasicPublishOptions::default(),
            data,
            BasicProperties::default()
                .with_delivery_mode(PERSISTENT)
                .with_headers(headers),
        )
        .await
        .map_err(broker_err)?;
    confirmed(confirm).await
}

async fn confirmed(mut confirm: PublisherConfirm) -> Result<(), BrokerError> {
    confirmed_ref(&mut confirm).await
}

async fn confirmed_ref(confirm: &mut PublisherConfirm) -> Result<(), BrokerError> {
    match confirm.await.map_err(broker_err)? {
        Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
        Confirmation::Nack(_) => Err(BrokerError::Other(
            "RabbitMQ refused to store a message (negative confirm)".to_string(),
        )),
    }
}

/// Deliveries taken but not yet acknowledged, by delivery tag.
#[derive(Debug, Default)]
struct Ackers(Mutex<HashMap<u64, Acker>>);

impl Ackers {
    fn hold(&self, tag: u64, acker: Acker) {
        self.0.lock().expect("acker lock").insert(tag, acker);
    }

    fn take(&self, tag: u64) -> Result<Acker, BrokerError> {
        self.0
            .lock()
            .expect("acker lock")
            .remove(&tag)
            .ok_or_else(|| BrokerError::Other(format!("no delivery with tag {tag}")))
    }

    fn ack(&self, broker: &AmqpBroker, tag: u64) -> Result<(), BrokerError> {
        let acker = self.take(tag)?;
        broker
            .block_on(acker.ack(BasicAckOptions::default()))
            .map(|_| ())
            .map_err(broker_err)
    }

    fn reject(&self, broker: &AmqpBroker, tag: u64) -> Result<(), BrokerError> {
        let acker = self.take(tag)?;
        broker
            .block_on(acker.reject(BasicRejectOptions { requeue: false }))
            .map(|_| ())
            .map_err(broker_err)
    }
}

/// Publishes a job's model and batches, with publisher confirms and a bounded number in flight.
#[derive(Debug)]
pub struct AmqpProducer {
    broker: Arc<AmqpBroker>,
    channel: Channel,
    state: Mutex<ProducerState>,
}

#[derive(Debug, Default)]
struct ProducerState {
    job: JobId,
    unconfirmed: VecDeque<PublisherConfirm>,
}

impl AmqpProducer {
    fn publish(
        &self,
        exchange: &str,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, BrokerError> {
        self.broker.block_on(async {
            self.channel
                .basic_publish(
                    exchange.into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    body,
                    properties,
                )
                .await
                .map_err(broker_err)
        })
    }
}

impl ProducerLink for AmqpProducer {
    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError> {
        let ttl_ms = model.spec.limits.timeout_s.saturating_mul(1000);
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_expiration(ttl_ms.to_string().into());
        let confirm = self.publish(
            "",
            &self.broker.topology.model_queue(),
            &encode(model.as_ref()),
            properties,
        )?;
        self.broker.block_on(confirmed(confirm))?;
        self.state.lock().expect("producer lock").job = model.job.clone();
        Ok(())
    }

    fn publish_batch(&self, batch: ScenarioBatch) -> Result<(), BrokerError> {
        let mut state = self.state.lock().expect("producer lock");
        let body = encode(&BatchMessage {
            job: state.job.clone(),
            batch,
        });
        let confirm = self.publish(
            "",
            &self.broker.topology.scenarios_queue(),
            &body,
            BasicProperties::default().with_delivery_mode(PERSISTENT),
        )?;
        state.unconfirmed.push_back(confirm);
        while state.unconfirmed.len() > MAX_UNCONFIRMED {
            let oldest = state.unconfirmed.pop_front().expect("non-empty");
            self.broker.block_on(confirmed(oldest))?;
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), BrokerError> {
        let mut state = self.state.lock().expect("producer lock");
        while let Some(confirm) = state.unconfirmed.pop_front() {
            self.broker.block_on(confirmed(confirm))?;
        }
        Ok(())
    }
}

/// Takes scenario batches, reads the current model, publishes results.
#[derive(Debug)]
pub struct AmqpConsumer {
    broker: Arc<AmqpBroker>,
    id: String,
    channel: Channel,
    stream: Mutex<lapin::Consumer>,
    ackers: Ackers,
    /// While paused the subscription is cancelled, so its stream ends: that is not the end.
    paused: std::sync::atomic::AtomicBool,
    /// Results published but not yet confirmed, each with the batch to acknowledge after it.
    in_flight: Mutex<VecDeque<(PublisherConfirm, Acker)>>,
}

/// Most results a consumer keeps in flight (published, confirm pending, batch unacknowledged).
pub const RESULTS_IN_FLIGHT: usize = 16;

impl AmqpConsumer {
    fn publish_result_async(
        &self,
        job: &str,
        result: ResultBatch,
    ) -> Result<PublisherConfirm, BrokerError> {
        let body = encode(&ResultMessage {
            job: job.to_string(),
            consumer: self.id.clone(),
            result,
        });
        self.broker.block_on(async {
            self.channel
                .basic_publish(
                    self.broker.topology.results_exchange().into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_delivery_mode(PERSISTENT),
                )
                .await
                .map_err(broker_err)
        })
    }

    /// Acknowledges the batches whose results are confirmed, oldest first; waits for the oldest
    /// while more than `keep` are in flight.
    fn settle(&self, keep: usize) -> Result<(), BrokerError> {
        let mut in_flight = self.in_flight.lock().expect("in-flight lock");
        loop {
            let must_wait = in_flight.len() > keep;
            let Some((confirm, _)) = in_flight.front_mut() else {
                break;
            };
            let done = if must_wait {
                Some(self.broker.block_on(confirmed_ref(confirm)))
            } else {
                self.broker
                    .block_on(futures_lite::future::poll_once(confirmed_ref(confirm)))
            };
            match done {
                None => break,
                Some(result) => {
                    result?;
                    let (_, acker) = in_flight.pop_front().expect("non-empty");
                    self.broker
                        .block_on(acker.ack(BasicAckOptions::default()))
                        .map_err(broker_err)?;
                }
            }
        }
        Ok(())
    }
}

impl ConsumerLink for AmqpConsumer {
    fn current_model(&self) -> Result<Option<Arc<JobModel>>, BrokerError> {
        let model = self
            .broker
            .block_on(peek_model(&self.channel, &self.broker.topology))?;
        Ok(model.map(Arc::new))
    }

    fn next_batch(&self, wait: Duration) -> Result<Polled<ScenarioBatch>, BrokerError> {
        let mut stream = self.stream.lock().expect("stream lock");
        let next = self
            .broker
            .block_on(async { tokio::time::timeout(wait, stream.next()).await });
        let delivery = match next {
            Err(_) => {
                // Idle: settle the results still in flight rather than hold their batches.
                drop(stream);
                self.settle(0)?;
                return Ok(Polled::Empty);
            }
            Ok(None) if self.paused.load(std::sync::atomic::Ordering::Relaxed) => {
                drop(stream);
                std::thread::sleep(wait);
                return Ok(Polled::Empty);
            }
            Ok(None) => return Ok(Polled::Finished),
            Ok(Some(d)) => d.map_err(broker_err)?,
        };
        match decode::<BatchMessage>(&delivery.data) {
            Ok(message) => {
                let tag = delivery.delivery_tag;
                self.ackers.hold(tag, delivery.acker);
                Ok(Polled::Ready(Delivery {
                    job: message.job,
                    body: message.batch,
                    tag,
                    redelivered: delivery.redelivered,
                }))
            }
            Err(e) => {
                // Garbage can never succeed: straight to the dead-letter queue, with why.
                tracing::warn!(consumer = %self.id, "dead-lettered an unreadable batch: {e}");
                self.broker.block_on(async {
                    let t = &self.broker.topology;
                    dead_letter(&self.channel, t, &delivery.data, &t.scenarios_queue(), &e.0)
                        .await?;
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(broker_err)
                })?;
                Ok(Polled::Empty)
            }
        }
    }

    fn publish_result(&self, job: &str, result: ResultBatch) -> Result<(), BrokerError> {
        let confirm = self.publish_result_async(job, result)?;
        self.broker.block_on(confirmed(confirm))
    }

    fn reject_batch(&self, tag: u64) -> Result<(), BrokerError> {
        self.ackers.reject(&self.broker, tag)
    }

    fn complete(&self, job: &str, result: ResultBatch, tag: u64) -> Result<(), BrokerError> {
        let confirm = self.publish_result_async(job, result)?;
        let acker = self.ackers.take(tag)?;
        self.in_flight
            .lock()
            .expect("in-flight lock")
            .push_back((confirm, acker));
        self.settle(RESULTS_IN_FLIGHT)
    }

    fn flush(&self) -> Result<(), BrokerError> {
        self.settle(0)
    }

    fn set_paused(&self, paused: bool) -> Result<(), BrokerError> {
        self.paused
            .store(paused, std::sync::atomic::Ordering::Relaxed);
        let mut stream = self.stream.lock().expect("stream lock");
        self.broker.block_on(async {
            if paused {
                // Deliveries already received stay in the stream and are still evaluated.
                self.channel
                    .basic_cancel(self.id.as_str().into(), BasicCancelOptions::default())
                    .await
                    .map_err(broker_err)
            } else {
                *stream =
                    subscribe_scenarios(&self.channel, &self.broker.topology, &self.id).await?;
                Ok(())
            }
        })
    }

    fn ack_batch(&self, tag: u64) -> Result<(), BrokerError> {
        self.ackers.ack(&self.broker, tag)
    }

    fn drains_while_paused(&self) -> bool {
        true
    }
}

/// Receives control commands.
#[derive(Debug)]
pub struct AmqpControl {
    broker: Arc<AmqpBroker>,
    _channel: Channel,
    stream: Mutex<lapin::Consumer>,
}

impl AmqpControl {
    /// The next command, waiting at most `wait`; `Err` when the connection is gone.
    pub fn next(&self, wait: Duration) -> Result<Option<ControlCommand>, BrokerError> {
        let mut stream = self.stream.lock().expect("stream lock");
        let next = self
            .broker
            .block_on(async { tokio::time::timeout(wait, stream.next()).await });
        match next {
            Err(_) => Ok(None),
            Ok(None) => Err(BrokerError::Closed),
            Ok(Some(d)) => {
                let d = d.map_err(broker_err)?;
                match decode::<ControlCommand>(&d.data) {
                    Ok(command) => Ok(Some(command)),
                    Err(e) => {
                        tracing::warn!("ignored an unreadable control message: {e}");
                        Ok(None)
                    }
                }
            }
        }
    }
}

/// Receives result batches.
#[derive(Debug)]
pub struct AmqpResults {
    broker: Arc<AmqpBroker>,
    stream: Mutex<lapin::Consumer>,
    ackers: Ackers,
}

impl CoordinatorLink for AmqpResults {
    fn next_result(&self, wait: Duration) -> Result<Option<Delivery<ResultBatch>>, BrokerError> {
        let mut stream = self.stream.lock().expect("stream lock");
        loop {
            let next = self
                .broker
                .block_on(async { tokio::time::timeout(wait, stream.next()).await });
            let delivery = match next {
                Err(_) => return Ok(None),
                Ok(None) => return Err(BrokerError::Closed),
                Ok(Some(d)) => d.map_err(broker_err)?,
            };
            match decode::<ResultMessage>(&delivery.data) {
                Ok(message) => {
                    let tag = delivery.delivery_tag;
                    self.ackers.hold(tag, delivery.acker);
                    return Ok(Some(Delivery {
                        job: message.job,
                        body: message.result,
                        tag,
                        redelivered: delivery.redelivered,
                    }));
                }
                Err(e) => {
                    tracing::warn!("dropped an unreadable result message: {e}");
                    self.broker
                        .block_on(delivery.acker.reject(BasicRejectOptions { requeue: false }))
                        .map_err(broker_err)?;
                }
            }
        }
    }

    fn ack_result(&self, tag: u64) -> Result<(), BrokerError> {
        self.ackers.ack(&self.broker, tag)
    }
}

/// The coordinator's subscriptions, all on one channel (so delivery tags are unique).
#[derive(Debug)]
struct ServeStreams {
    jobs: lapin::Consumer,
    results: lapin::Consumer,
    consumers: lapin::Consumer,
    producers: lapin::Consumer,
}

/// Receives job announcements, results and telemetry for `mcp serve`.
#[derive(Debug)]
pub struct AmqpServe {
    broker: Arc<AmqpBroker>,
    _channel: Channel,
    streams: Mutex<ServeStreams>,
    ackers: Ackers,
    depth_channel: Mutex<Option<Channel>>,
}

type Next = Option<Result<lapin::message::Delivery, lapin::Error>>;

impl AmqpServe {
    /// Turns a delivery into a message, or drops it when it is unreadable.
    fn incoming(&self, from: Source, next: Next) -> Result<Option<Incoming>, BrokerError> {
        let delivery = next.ok_or(BrokerError::Closed)?.map_err(broker_err)?;
        let tag = delivery.delivery_tag;
        let redelivered = delivery.redelivered;
        let data = &delivery.data;
        let message = match from {
            Source::Jobs => decode::<JobAnnouncement>(data).map(|job| {
                Incoming::Job(Box::new(Delivery {
                    job: job.job.clone(),
                    body: job,
                    tag,
                    redelivered,
                }))
            }),
            Source::Results => decode::<ResultMessage>(data).map(|m| {
                Incoming::Result(Delivery {
                    job: m.job,
                    body: m.result,
                    tag,
                    redelivered,
                })
            }),
            Source::Consumers => decode::<ConsumerStatus>(data).map(Incoming::Consumer),
            Source::Producers => decode::<ProducerStatus>(data).map(Incoming::Producer),
        };
        let acked = matches!(from, Source::Jobs | Source::Results);
        match message {
            Ok(message) => {
                if acked {
                    self.ackers.hold(tag, delivery.acker);
                }
                Ok(Some(message))
            }
            Err(e) => {
                let t = &self.broker.topology;
                let queue = match from {
                    Source::Jobs => t.jobs_queue(),
                    Source::Results => t.results_queue(),
                    Source::Consumers => t.consumer_stats_queue(),
                    Source::Producers => t.producer_stats_queue(),
                };
                if acked {
                    // Kept with why in the dead-letter queue; telemetry is only dropped.
                    tracing::warn!("dead-lettered an unreadable message from {queue}: {e}");
                    self.broker.block_on(async {
                        dead_letter(&self._channel, t, &delivery.data, &queue, &e.0).await?;
                        delivery
                            .acker
                            .ack(BasicAckOptions::default())
                            .await
                            .map_err(broker_err)
                    })?;
                } else {
                    tracing::warn!("dropped an unreadable message from {queue}: {e}");
                }
                Ok(None)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Jobs,
    Results,
    Consumers,
    Producers,
}

impl ServeLink for AmqpServe {
    fn next(&self, wait: Duration) -> Result<Option<Incoming>, BrokerError> {
        let mut streams = self.streams.lock().expect("streams lock");
        let s = &mut *streams;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let (from, next) = self
                .broker
                .block_on(async {
                    // Announcements first: a job is known before its results are counted.
                    if let Some(next) = futures_lite::future::poll_once(s.jobs.next()).await {
                        return Some((Source::Jobs, next));
                    }
                    tokio::select! {
                        biased;
                        next = s.jobs.next() => Some((Source::Jobs, next)),
                        next = s.results.next() => Some((Source::Results, next)),
                        next = s.consumers.next() => Some((Source::Consumers, next)),
                        next = s.producers.next() => Some((Source::Producers, next)),
                        _ = tokio::time::sleep_until(deadline) => None,
                    }
                })
                .map_or((None, None), |(from, next)| (Some(from), Some(next)));
            let (Some(from), Some(next)) = (from, next) else {
                return Ok(None);
            };
            if let Some(message) = self.incoming(from, next)? {
                return Ok(Some(message));
            }
        }
    }

    fn ack(&self, tag: u64) -> Result<(), BrokerError> {
        self.ackers.ack(&self.broker, tag)
    }

    fn queue_depths(&self) -> Result<Vec<QueueDepth>, BrokerError> {
        let mut slot = self.depth_channel.lock().expect("depth channel lock");
        if slot.as_ref().is_none_or(|c| !c.status().connected()) {
            *slot = Some(
                self.broker
                    .block_on(self.broker.connection.create_channel())
                    .map_err(broker_err)?,
            );
        }
        let channel = slot.as_ref().expect("a channel");
        self.broker.block_on(async {
            let mut depths = Vec::new();
            for name in self.broker.topology.queues() {
                let queue = channel
                    .queue_declare(
                        name.as_str().into(),
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .map_err(broker_err)?;
                depths.push(QueueDepth {
                    name,
                    messages: queue.message_count(),
                    consumers: queue.consumer_count(),
                });
            }
            Ok(depths)
        })
    }
}
