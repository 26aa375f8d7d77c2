//! The coordinator's links: job announcements and results with manual acknowledgements, and
//! the telemetry, all on one channel (so delivery tags are unique).
//!
//! `mcp serve` reads the installation's shared queues ([`AmqpBroker::coordinator`]); a
//! coordinator following one job (`mcp submit --wait`) reads that job's private queues
//! ([`AmqpBroker::follower`]) and no telemetry, which belongs to `mcp serve`; its private
//! announcements queue is also bound to the control exchange, so that it hears when
//! `mcp serve` stops its job.
//!
//! [`AmqpBroker::coordinator`]: crate::AmqpBroker::coordinator
//! [`AmqpBroker::follower`]: crate::AmqpBroker::follower

use crate::AmqpBroker;
use crate::delivery::{Ackers, broker_err, dead_letter};
use futures_lite::StreamExt;
use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicRejectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mcp_broker::{BrokerError, CoordinatorLink, Delivery, Incoming, QueueDepth};
use mcp_protocol::{
    ConsumerStatus, ControlAction, ControlCommand, JobAnnouncement, ProducerStatus, ResultMessage,
    StopCause, decode,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The coordinator's subscriptions.
#[derive(Debug)]
pub(crate) struct Streams {
    pub(crate) jobs: lapin::Consumer,
    pub(crate) results: lapin::Consumer,
    pub(crate) consumers: Option<lapin::Consumer>,
    pub(crate) producers: Option<lapin::Consumer>,
}

/// Receives job announcements, results and (on the shared queues) telemetry.
#[derive(Debug)]
pub struct AmqpCoordinator {
    broker: Arc<AmqpBroker>,
    channel: Channel,
    streams: Mutex<Streams>,
    ackers: Ackers,
    /// Whether it reads the installation's shared queues (`mcp serve`): there, an unreadable
    /// announcement or result is dead-lettered with why; on a follower's private copies it is
    /// only dropped (the shared queue's reader keeps it).
    shared: bool,
    depth_channel: Mutex<Option<Channel>>,
}

type Next = Option<Result<lapin::message::Delivery, lapin::Error>>;

#[derive(Debug, Clone, Copy)]
enum Source {
    Jobs,
    Results,
    Consumers,
    Producers,
}

impl AmqpCoordinator {
    pub(crate) fn new(
        broker: Arc<AmqpBroker>,
        channel: Channel,
        streams: Streams,
        shared: bool,
    ) -> AmqpCoordinator {
        AmqpCoordinator {
            broker,
            channel,
            streams: Mutex::new(streams),
            ackers: Ackers::default(),
            shared,
            depth_channel: Mutex::default(),
        }
    }

    /// Turns a delivery into a message, or sets it aside when it is unreadable.
    fn incoming(&self, from: Source, next: Next) -> Result<Option<Incoming>, BrokerError> {
        let delivery = next.ok_or(BrokerError::Closed)?.map_err(broker_err)?;
        let tag = delivery.delivery_tag;
        let redelivered = delivery.redelivered;
        let data = &delivery.data;
        if matches!(from, Source::Jobs)
            && delivery.exchange.as_str() == self.broker.topology().control_exchange()
        {
            // A follower's copy of a control command: only a stopped job's is news.
            let command = decode::<ControlCommand>(data);
            self.broker
                .block_on(delivery.acker.ack(BasicAckOptions::default()))
                .map_err(broker_err)?;
            return Ok(match command {
                Ok(ControlCommand {
                    action: ControlAction::Cancel,
                    job: Some(job),
                    cause,
                    ..
                }) => Some(Incoming::Stopped {
                    job,
                    cause: cause.unwrap_or(StopCause::Cancelled).bounded(),
                }),
                _ => None,
            });
        }
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
                Incoming::Results(Delivery {
                    job: m.job,
                    body: m.results,
                    tag,
                    redelivered,
                })
            }),
            Source::Consumers => decode::<ConsumerStatus>(data).map(Incoming::Consumer),
            Source::Producers => decode::<ProducerStatus>(data).map(Incoming::Producer),
        };
        let acked = matches!(from, Source::Jobs | Source::Results);
        let e = match message {
            Ok(message) => {
                if acked {
                    self.ackers.hold(tag, delivery.acker);
                }
                return Ok(Some(message));
            }
            Err(e) => e,
        };
        let t = self.broker.topology();
        let queue = match from {
            Source::Jobs => t.jobs_queue(),
            Source::Results => t.results_queue(),
            Source::Consumers => t.consumer_stats_queue(),
            Source::Producers => t.producer_stats_queue(),
        };
        if acked && self.shared {
            // Kept with why in the dead-letter queue; telemetry is only dropped.
            tracing::warn!("dead-lettered an unreadable message from {queue}: {e}");
            self.broker.block_on(async {
                dead_letter(&self.channel, t, &delivery.data, &queue, &e.0).await?;
                delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(broker_err)
            })?;
        } else if acked {
            tracing::warn!("dropped an unreadable copy of a message from {queue}: {e}");
            self.broker
                .block_on(delivery.acker.reject(BasicRejectOptions { requeue: false }))
                .map_err(broker_err)?;
        } else {
            tracing::warn!("dropped an unreadable message from {queue}: {e}");
        }
        Ok(None)
    }
}

impl CoordinatorLink for AmqpCoordinator {
    fn next(&self, wait: Duration) -> Result<Option<Incoming>, BrokerError> {
        let mut streams = self.streams.lock().expect("streams lock");
        let s = &mut *streams;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = self.broker.block_on(async {
                // Announcements first: a job is known before its results are counted.
                if let Some(next) = futures_lite::future::poll_once(s.jobs.next()).await {
                    return Some((Source::Jobs, next));
                }
                let telemetry = async {
                    match (&mut s.consumers, &mut s.producers) {
                        (Some(c), Some(p)) => tokio::select! {
                            next = c.next() => (Source::Consumers, next),
                            next = p.next() => (Source::Producers, next),
                        },
                        _ => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    next = s.jobs.next() => Some((Source::Jobs, next)),
                    next = s.results.next() => Some((Source::Results, next)),
                    next = telemetry => Some(next),
                    _ = tokio::time::sleep_until(deadline) => None,
                }
            });
            let Some((from, next)) = next else {
                return Ok(None);
            };
            if let Some(message) = self.incoming(from, next)? {
                return Ok(Some(message));
            }
        }
    }

    fn ack(&self, tag: u64) -> Result<(), BrokerError> {
        self.broker.block_on(self.ackers.ack(tag))
    }

    fn stop_job(&self, job: &str, cause: &StopCause) -> Result<(), BrokerError> {
        if !self.shared {
            return Ok(());
        }
        // No consumer starts the job again, and those on it drop its batches; its producer
        // and its follower hear why.
        self.broker.retire_model(job)?;
        self.broker
            .publish_control(&ControlCommand::stop(job, cause.clone()))
    }

    fn queue_depths(&self) -> Result<Vec<QueueDepth>, BrokerError> {
        if !self.shared {
            return Ok(Vec::new());
        }
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
            for name in self.broker.topology().queues() {
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
