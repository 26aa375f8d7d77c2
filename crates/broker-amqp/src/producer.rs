//! The producer's link: announces a job, publishes its model and batches with publisher
//! confirms, at most [`MAX_UNCONFIRMED`] batches unconfirmed, and reports progress.

use crate::AmqpBroker;
use crate::delivery::{PERSISTENT, broker_err, confirmed};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel, PublisherConfirm};
use mcp_broker::{BrokerError, ProducerLink};
use mcp_protocol::{
    BatchMessage, JobAnnouncement, JobId, JobModel, ProducerStatus, ScenarioBatch, encode,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Most batches published but not yet confirmed by the broker.
pub const MAX_UNCONFIRMED: usize = 256;

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
    pub(crate) fn new(broker: Arc<AmqpBroker>, channel: Channel) -> AmqpProducer {
        AmqpProducer {
            broker,
            channel,
            state: Mutex::default(),
        }
    }

    fn publish(
        &self,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, BrokerError> {
        self.broker.block_on(async {
            self.channel
                .basic_publish(
                    "".into(),
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
    fn announce(&self, job: &JobAnnouncement) -> Result<(), BrokerError> {
        self.broker.announce(job)
    }

    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError> {
        let ttl_ms = model.spec.limits.timeout_s.saturating_mul(1000);
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_expiration(ttl_ms.to_string().into());
        let queue = self.broker.topology().model_queue();
        let confirm = self.publish(&queue, &encode(model.as_ref()), properties)?;
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
            &self.broker.topology().scenarios_queue(),
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
        let queue = self.broker.topology().producer_stats_queue();
        self.broker.publish_telemetry(&queue, &encode(status))
    }

    fn unconfirmed_limit(&self) -> u64 {
        MAX_UNCONFIRMED as u64
    }
}
