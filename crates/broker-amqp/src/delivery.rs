//! What every AMQP link shares: subscribing, publisher confirms, holding deliveries until they
//! are acknowledged, and setting aside messages that can never be handled.

use crate::Topology;
use lapin::Acker;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, PublisherConfirm};
use mcp_broker::BrokerError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// AMQP delivery mode of messages that must survive a broker restart.
pub(crate) const PERSISTENT: u8 = 2;

/// How long a follower's private queue outlives its last consumer, in milliseconds.
pub const JOB_QUEUE_EXPIRES_MS: i64 = 24 * 3600 * 1000;

/// Header naming why a message was dead-lettered by mcp.
pub const REASON_HEADER: &str = "x-mcp-reason";
/// Header naming the queue a dead-lettered message came from.
pub const QUEUE_HEADER: &str = "x-mcp-queue";

/// A lapin error as a [`BrokerError`]; a refused permission is one retrying cannot fix.
pub(crate) fn broker_err(e: lapin::Error) -> BrokerError {
    crate::refusal::classify(&e, None, "RabbitMQ")
}

/// Consumes `queue` under `tag` (a server-chosen one when empty).
pub(crate) async fn consume(
    channel: &Channel,
    queue: &str,
    tag: &str,
    no_ack: bool,
) -> Result<lapin::Consumer, BrokerError> {
    channel
        .basic_consume(
            queue.into(),
            tag.into(),
            BasicConsumeOptions {
                no_ack,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(broker_err)
}

/// Consumes `queue` under a server-chosen tag.
pub(crate) async fn consume_queue(
    channel: &Channel,
    queue: &str,
    no_ack: bool,
) -> Result<lapin::Consumer, BrokerError> {
    consume(channel, queue, "", no_ack).await
}

/// Declares the durable queue `name`, expiring [`JOB_QUEUE_EXPIRES_MS`] after its last use,
/// and binds it to the fanout `exchange`.
pub(crate) async fn declare_private(
    channel: &Channel,
    topology: &Topology,
    name: &str,
    exchange: &str,
) -> Result<(), BrokerError> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-expires".into(),
        AMQPValue::LongLongInt(JOB_QUEUE_EXPIRES_MS),
    );
    channel
        .queue_declare(name.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .map_err(broker_err)?;
    topology
        .bind(channel, name, exchange, "")
        .await
        .map_err(crate::refusal::topology_err)
}

/// Sets a message that can never be handled aside: publishes it to the dead-letter queue with
/// why and where from (on a confirming `channel`), so that the caller can then acknowledge it.
pub(crate) async fn dead_letter(
    channel: &Channel,
    topology: &Topology,
    data: &[u8],
    from: &str,
    reason: &str,
) -> Result<(), BrokerError> {
    let mut headers = FieldTable::default();
    headers.insert(REASON_HEADER.into(), AMQPValue::LongString(reason.into()));
    headers.insert(QUEUE_HEADER.into(), AMQPValue::LongString(from.into()));
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

/// Waits for the broker's confirm of a publish; a negative one is an error.
pub(crate) async fn confirmed(mut confirm: PublisherConfirm) -> Result<(), BrokerError> {
    confirmed_ref(&mut confirm).await
}

pub(crate) async fn confirmed_ref(confirm: &mut PublisherConfirm) -> Result<(), BrokerError> {
    match confirm.await.map_err(broker_err)? {
        Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
        Confirmation::Nack(_) => Err(BrokerError::Other(
            "RabbitMQ refused to store a message (negative confirm)".to_string(),
        )),
    }
}

/// Longest the broker may take to settle a delivery before the link is given up for a new one.
const SETTLE_PATIENCE: Duration = Duration::from_secs(30);

/// Awaits lapin's settling of a delivery (`what`: acknowledgement, return, rejection). lapin
/// answers `false` when the delivery's channel has closed (the broker restarted, say): the
/// delivery was not settled and will be delivered again, which is an error of the link, never
/// a success. A settling the broker never answers is one too, after [`SETTLE_PATIENCE`].
async fn settled(
    what: &str,
    settling: impl Future<Output = lapin::Result<bool>>,
) -> Result<(), BrokerError> {
    match tokio::time::timeout(SETTLE_PATIENCE, settling).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(BrokerError::Other(format!(
            "RabbitMQ: the delivery's channel closed before its {what}; the broker delivers it \
             again"
        ))),
        Ok(Err(e)) => Err(broker_err(e)),
        Err(_) => Err(BrokerError::Other(format!(
            "RabbitMQ did not take a delivery's {what} within {} s",
            SETTLE_PATIENCE.as_secs()
        ))),
    }
}

/// Deliveries taken but not yet acknowledged, by delivery tag.
#[derive(Debug, Default)]
pub(crate) struct Ackers(Mutex<HashMap<u64, Acker>>);

impl Ackers {
    pub(crate) fn hold(&self, tag: u64, acker: Acker) {
        self.0.lock().expect("acker lock").insert(tag, acker);
    }

    pub(crate) fn take(&self, tag: u64) -> Result<Acker, BrokerError> {
        self.0
            .lock()
            .expect("acker lock")
            .remove(&tag)
            .ok_or_else(|| BrokerError::Other(format!("no delivery with tag {tag}")))
    }

    pub(crate) async fn ack(&self, tag: u64) -> Result<(), BrokerError> {
        let acker = self.take(tag)?;
        settled("acknowledgement", acker.ack(BasicAckOptions::default())).await
    }

    /// Puts a delivery back in its queue.
    pub(crate) async fn release(&self, tag: u64) -> Result<(), BrokerError> {
        let acker = self.take(tag)?;
        let requeue = BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        };
        settled("return", acker.nack(requeue)).await
    }

    pub(crate) async fn reject(&self, tag: u64) -> Result<(), BrokerError> {
        let acker = self.take(tag)?;
        settled(
            "rejection",
            acker.reject(BasicRejectOptions { requeue: false }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::options::{BasicGetOptions, QueueDeclareOptions};

    /// Against the test broker (`MCP_TEST_BROKER`, which `cargo xtask test` starts): without
    /// one this test fails, it never skips.
    #[test]
    fn a_delivery_whose_channel_closed_is_not_acknowledged_as_if_it_were() {
        let url = std::env::var("MCP_TEST_BROKER")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let conn = crate::connect(&url, "mcp-delivery-test")
                .await
                .unwrap_or_else(|e| panic!("no RabbitMQ at {url}: {e}"));
            let channel = conn.create_channel().await.unwrap();
            channel
                .confirm_select(lapin::options::ConfirmSelectOptions::default())
                .await
                .unwrap();
            let exclusive = QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            };
            let queue = channel
                .queue_declare("".into(), exclusive, FieldTable::default())
                .await
                .unwrap();
            let name = queue.name().as_str().to_string();
            channel
                .basic_publish(
                    "".into(),
                    name.as_str().into(),
                    BasicPublishOptions::default(),
                    b"x",
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
            // Confirmed: the message is in the queue.
            let got = channel
                .basic_get(name.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap()
                .expect("the confirmed message");
            let ackers = Ackers::default();
            ackers.hold(1, got.delivery.acker.clone());
            channel
                .close(200, "the test closes it".into())
                .await
                .unwrap();
            let err = ackers.ack(1).await.unwrap_err().to_string();
            assert!(err.contains("closed before its acknowledgement"), "{err}");
        });
    }
}
