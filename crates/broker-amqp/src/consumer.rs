//! The consumer's links: per evaluating thread, a subscription to the scenarios queue whose
//! runs of batches are acknowledged only once their results are confirmed; per process, the control
//! commands and the heartbeats.

use crate::AmqpBroker;
use crate::delivery::{
    Ackers, PERSISTENT, broker_err, confirmed, confirmed_ref, consume, dead_letter,
};
use crate::listener::Listener;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions,
};
use lapin::{Acker, BasicProperties, Channel, PublisherConfirm};
use mcp_broker::{BrokerError, ConsumerLink, ConsumerSession, Delivery, Polled};
use mcp_protocol::{
    BatchMessage, ConsumerStatus, ControlCommand, JobModel, ResultBatch, ResultMessage,
    ScenarioRun, decode, encode,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most result messages a consumer keeps in flight (published, confirm pending, run
/// unacknowledged).
pub const RESULTS_IN_FLIGHT: usize = 16;

/// A consumer process's session: one link per thread, the control commands, the heartbeats.
#[derive(Debug)]
pub struct AmqpConsumerSession {
    broker: Arc<AmqpBroker>,
    id: String,
    prefetch: u16,
    control: Listener,
}

impl AmqpConsumerSession {
    pub(crate) fn new(
        broker: Arc<AmqpBroker>,
        id: &str,
        prefetch: u16,
        control: Listener,
    ) -> AmqpConsumerSession {
        AmqpConsumerSession {
            broker,
            id: id.to_string(),
            prefetch,
            control,
        }
    }

    /// A consumer link on its own channel, taking at most the session's prefetch of
    /// unacknowledged runs.
    pub fn consumer(&self, name: &str) -> Result<AmqpConsumer, BrokerError> {
        AmqpConsumer::new(self.broker.clone(), name, self.prefetch)
    }
}

impl ConsumerSession for AmqpConsumerSession {
    fn link(&self, name: &str) -> Result<Box<dyn ConsumerLink>, BrokerError> {
        Ok(Box::new(self.consumer(&format!("{}/{name}", self.id))?))
    }

    fn next_command(&self, wait: Duration) -> Result<Option<ControlCommand>, BrokerError> {
        let Some((_, data)) = self.control.next(wait)? else {
            return Ok(None);
        };
        match decode::<ControlCommand>(&data) {
            Ok(command) => Ok(Some(command)),
            Err(e) => {
                tracing::warn!("ignored an unreadable control message: {e}");
                Ok(None)
            }
        }
    }

    fn send_status(&self, status: &ConsumerStatus) -> Result<(), BrokerError> {
        let exchange = self.broker.topology().consumer_stats_exchange();
        self.broker.publish_telemetry(&exchange, &encode(status))
    }
}

/// Takes runs of scenario batches, reads the current model, publishes results.
#[derive(Debug)]
pub struct AmqpConsumer {
    broker: Arc<AmqpBroker>,
    id: String,
    channel: Channel,
    stream: Mutex<lapin::Consumer>,
    ackers: Ackers,
    /// While paused the subscription is cancelled, so its stream ends: that is not the end.
    paused: AtomicBool,
    /// Result messages published but not yet confirmed, each with the run to acknowledge after
    /// it.
    in_flight: Mutex<VecDeque<(PublisherConfirm, Acker)>>,
    /// The bytes of each run taken and not yet settled, to set it aside as it came.
    taken: Mutex<HashMap<u64, Vec<u8>>>,
}

impl AmqpConsumer {
    /// Publishes a run's message `data` to the scenarios queue again, as it came, and waits
    /// for the broker's confirm: how a run is given back without counting as a delivery.
    async fn publish_again(&self, data: &[u8]) -> Result<(), BrokerError> {
        let confirm = self
            .channel
            .basic_publish(
                self.broker.topology().scenarios_exchange().as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                data,
                BasicProperties::default().with_delivery_mode(PERSISTENT),
            )
            .await
            .map_err(broker_err)?;
        confirmed(confirm).await
    }

    fn new(broker: Arc<AmqpBroker>, id: &str, prefetch: u16) -> Result<AmqpConsumer, BrokerError> {
        let channel = broker.channel()?;
        let stream = broker.block_on(async {
            channel
                .basic_qos(prefetch, BasicQosOptions::default())
                .await
                .map_err(broker_err)?;
            consume(&channel, &broker.topology().scenarios_queue(), id, false).await
        })?;
        Ok(AmqpConsumer {
            broker,
            id: id.to_string(),
            channel,
            stream: Mutex::new(stream),
            ackers: Ackers::default(),
            paused: AtomicBool::new(false),
            in_flight: Mutex::default(),
            taken: Mutex::default(),
        })
    }

    fn publish_result_async(
        &self,
        job: &str,
        results: Vec<ResultBatch>,
    ) -> Result<PublisherConfirm, BrokerError> {
        let body = encode(&ResultMessage {
            job: job.to_string(),
            consumer: self.id.clone(),
            results,
        });
        self.broker.block_on(async {
            self.channel
                .basic_publish(
                    self.broker.topology().results_exchange().into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_delivery_mode(PERSISTENT),
                )
                .await
                .map_err(broker_err)
        })
    }

    /// Acknowledges the runs whose results are confirmed, oldest first; waits for the oldest
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
            .block_on(peek_model(&self.channel, &self.broker))?;
        Ok(model.map(Arc::new))
    }

    fn next_run(&self, wait: Duration) -> Result<Polled<ScenarioRun>, BrokerError> {
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
            Ok(None) if self.paused.load(Ordering::Relaxed) => {
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
                let data = delivery.data;
                self.taken.lock().expect("taken lock").insert(tag, data);
                Ok(Polled::Ready(Delivery {
                    job: message.job,
                    body: message.run,
                    tag,
                    redelivered: delivery.redelivered,
                }))
            }
            Err(e) => {
                // Garbage can never succeed: straight to the dead-letter queue, with why.
                tracing::warn!(consumer = %self.id, "dead-lettered an unreadable run of batches: {e}");
                self.broker.block_on(async {
                    let t = self.broker.topology();
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

    fn publish_results(&self, job: &str, results: Vec<ResultBatch>) -> Result<(), BrokerError> {
        let confirm = self.publish_result_async(job, results)?;
        self.broker.block_on(confirmed(confirm))
    }

    fn ack_run(&self, tag: u64) -> Result<(), BrokerError> {
        self.taken.lock().expect("taken lock").remove(&tag);
        self.broker.block_on(self.ackers.ack(tag))
    }

    fn reject_run(&self, tag: u64, reason: &str) -> Result<(), BrokerError> {
        let data = self.taken.lock().expect("taken lock").remove(&tag);
        let Some(data) = data else {
            return self.broker.block_on(self.ackers.reject(tag));
        };
        // Kept as it came, with why and where from, then acknowledged.
        self.broker.block_on(async {
            let t = self.broker.topology();
            dead_letter(&self.channel, t, &data, &t.scenarios_queue(), reason).await?;
            self.ackers.ack(tag).await
        })
    }

    fn release_run(&self, _job: &str, _run: ScenarioRun, tag: u64) -> Result<(), BrokerError> {
        let data = self.taken.lock().expect("taken lock").remove(&tag);
        let Some(data) = data else {
            return self.broker.block_on(self.ackers.release(tag));
        };
        // Published again, as it came, then acknowledged: a requeue would count as a delivery
        // on the quorum queue, and a run every consumer but one gives back would reach the
        // delivery limit and be dead-lettered. Should this process die in between, the run is
        // there twice, and the coordinator counts each of its batches once.
        self.broker.block_on(async {
            self.publish_again(&data).await?;
            self.ackers.ack(tag).await
        })
    }

    fn complete(&self, job: &str, results: Vec<ResultBatch>, tag: u64) -> Result<(), BrokerError> {
        self.taken.lock().expect("taken lock").remove(&tag);
        let confirm = self.publish_result_async(job, results)?;
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
        self.paused.store(paused, Ordering::Relaxed);
        let mut stream = self.stream.lock().expect("stream lock");
        self.broker.block_on(async {
            if paused {
                // Deliveries already received stay in the stream and are still evaluated.
                self.channel
                    .basic_cancel(self.id.as_str().into(), BasicCancelOptions::default())
                    .await
                    .map_err(broker_err)
            } else {
                // Runs the broker sent before the pause took effect and that were not drained
                // meanwhile are still in the old stream: put them back before it is replaced,
                // or they would stay unacknowledged, held by this channel, until it closes.
                while let Ok(Some(delivery)) =
                    tokio::time::timeout(Duration::ZERO, stream.next()).await
                {
                    let delivery = delivery.map_err(broker_err)?;
                    self.publish_again(&delivery.data).await?;
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(broker_err)?;
                }
                let queue = self.broker.topology().scenarios_queue();
                *stream = consume(&self.channel, &queue, &self.id, false).await?;
                Ok(())
            }
        })
    }

    fn drains_while_paused(&self) -> bool {
        true
    }
}

/// Peeks at the current model: takes it unacknowledged and puts it straight back, so that it
/// stays current for everyone else (on a classic queue requeues cost nothing). An unreadable
/// model message is dropped rather than put back.
pub(crate) async fn peek_model(
    channel: &Channel,
    broker: &AmqpBroker,
) -> Result<Option<JobModel>, BrokerError> {
    let got = channel
        .basic_get(
            broker.topology().model_queue().into(),
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
