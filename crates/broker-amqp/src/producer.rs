//! The producer's link: announces a job, publishes its model and runs of batches with publisher
//! confirms, at most [`MAX_UNCONFIRMED`] runs unconfirmed, and reports progress. It hears
//! the job announcements and control commands published after it was made, and from them
//! tells its producer when the job was stopped: cancelled or failed (a `Cancel` for it, which
//! `mcp serve` and the API send), or superseded (any other job announced after it, the rule
//! the coordinator follows too).

use crate::AmqpBroker;
use crate::delivery::{PERSISTENT, broker_err, confirmed};
use crate::listener::Listener;
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel, PublisherConfirm};
use mcp_broker::{BrokerError, ProducerLink};
use mcp_protocol::{
    BatchMessage, ControlAction, ControlCommand, JobAnnouncement, JobId, JobModel, ProducerStatus,
    ScenarioRun, StopCause, check_job_id, decode, encode,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Most runs of batches (messages) published but not yet confirmed by the broker.
pub const MAX_UNCONFIRMED: usize = 256;

/// Publishes a job's model and batches, with publisher confirms and a bounded number in flight.
#[derive(Debug)]
pub struct AmqpProducer {
    broker: Arc<AmqpBroker>,
    channel: Channel,
    state: Mutex<ProducerState>,
    listener: Listener,
    heard: Mutex<Heard>,
}

#[derive(Debug, Default)]
struct ProducerState {
    job: JobId,
    unconfirmed: VecDeque<PublisherConfirm>,
}

/// What the listener told about the job so far.
#[derive(Debug, Default)]
struct Heard {
    /// The job this link announced, if it did: announcements heard before its own are of
    /// older jobs. A link that did not announce (a producer resuming on a new connection)
    /// hears only announcements made after its job's.
    announced: Option<JobId>,
    /// Its own announcement came back.
    own_heard: bool,
    /// Why the job was stopped, once it was.
    stopped: Option<StopCause>,
}

impl Heard {
    /// Takes one message heard on `exchange` into account for `job`.
    fn take(&mut self, job: &str, exchange: &str, data: &[u8], jobs_exchange: &str) {
        if self.stopped.is_some() {
            return;
        }
        if exchange == jobs_exchange {
            let Ok(announced) = decode::<JobAnnouncement>(data) else {
                return;
            };
            if announced.job == job {
                self.own_heard = true;
            } else if check_job_id(&announced.job).is_ok()
                && (self.own_heard || self.announced.as_deref() != Some(job))
            {
                self.stopped = Some(StopCause::Superseded { by: announced.job });
            }
            return;
        }
        let Ok(command) = decode::<ControlCommand>(data) else {
            return;
        };
        if command.action == ControlAction::Cancel && command.job.as_deref() == Some(job) {
            self.stopped = Some(command.cause.unwrap_or(StopCause::Cancelled).bounded());
        }
    }
}

impl AmqpProducer {
    pub(crate) fn new(
        broker: Arc<AmqpBroker>,
        channel: Channel,
        listener: Listener,
    ) -> AmqpProducer {
        AmqpProducer {
            broker,
            channel,
            state: Mutex::default(),
            listener,
            heard: Mutex::default(),
        }
    }

    fn publish(
        &self,
        exchange: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, BrokerError> {
        self.broker.block_on(async {
            self.channel
                .basic_publish(
                    exchange.into(),
                    "".into(),
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
    fn announce(&self, job: &JobAnnouncement) -> Result<(), BrokerError> {
        self.heard.lock().expect("heard lock").announced = Some(job.job.clone());
        self.broker.announce(job)
    }

    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError> {
        let ttl_ms = model.spec.limits.timeout_s.saturating_mul(1000);
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_expiration(ttl_ms.to_string().into());
        let exchange = self.broker.topology().model_exchange();
        let confirm = self.publish(&exchange, &encode(model.as_ref()), properties)?;
        self.broker.block_on(confirmed(confirm))?;
        self.state.lock().expect("producer lock").job = model.job.clone();
        Ok(())
    }

    fn publish_run(&self, run: ScenarioRun) -> Result<(), BrokerError> {
        let mut state = self.state.lock().expect("producer lock");
        let body = encode(&BatchMessage {
            job: state.job.clone(),
            run,
        });
        let confirm = self.publish(
            &self.broker.topology().scenarios_exchange(),
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

    fn report(&self, status: &ProducerStatus) -> Result<(), BrokerError> {
        let exchange = self.broker.topology().producer_stats_exchange();
        self.broker.publish_telemetry(&exchange, &encode(status))
    }

    fn unconfirmed_limit(&self) -> u64 {
        MAX_UNCONFIRMED as u64
    }

    fn stopped(&self, job: &str) -> Result<Option<StopCause>, BrokerError> {
        let jobs_exchange = self.broker.topology().jobs_exchange();
        let mut heard = self.heard.lock().expect("heard lock");
        for (exchange, data) in self.listener.arrived()? {
            heard.take(job, &exchange, &data, &jobs_exchange);
        }
        Ok(heard.stopped.clone())
    }
}
