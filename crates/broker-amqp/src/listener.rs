//! A private, server-named queue bound to fanout exchanges: how a consumer hears the control
//! commands, and how a producer hears that its job was stopped or superseded. It lives as long
//! as the connection and sees only what is published after it was made.

use crate::AmqpBroker;
use crate::delivery::{broker_err, consume_queue};
use futures_lite::StreamExt;
use lapin::Channel;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use mcp_broker::BrokerError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A message heard: the exchange it was published to, and its bytes.
pub(crate) type Heard = (String, Vec<u8>);

/// Hears what is published to some exchanges from now on.
#[derive(Debug)]
pub(crate) struct Listener {
    broker: Arc<AmqpBroker>,
    _channel: Channel,
    stream: Mutex<lapin::Consumer>,
}

impl Listener {
    /// A listener for what is published to `exchanges` from now on.
    pub(crate) fn new(
        broker: Arc<AmqpBroker>,
        exchanges: &[String],
    ) -> Result<Listener, BrokerError> {
        let channel = broker.channel()?;
        let stream = broker.block_on(async {
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
            let t = broker.topology();
            for exchange in exchanges {
                t.bind(&channel, &name, exchange, "")
                    .await
                    .map_err(crate::refusal::topology_err)?;
            }
            consume_queue(&channel, &name, true).await
        })?;
        Ok(Listener {
            broker,
            _channel: channel,
            stream: Mutex::new(stream),
        })
    }

    /// The next message, waiting at most `wait`; `Err` when the connection is gone.
    pub(crate) fn next(&self, wait: Duration) -> Result<Option<Heard>, BrokerError> {
        let mut stream = self.stream.lock().expect("stream lock");
        let next = self
            .broker
            .block_on(async { tokio::time::timeout(wait, stream.next()).await });
        match next {
            Err(_) => Ok(None),
            Ok(None) => Err(BrokerError::Closed),
            Ok(Some(d)) => {
                let d = d.map_err(broker_err)?;
                Ok(Some((d.exchange.to_string(), d.data)))
            }
        }
    }

    /// Every message that has arrived, without waiting.
    pub(crate) fn arrived(&self) -> Result<Vec<Heard>, BrokerError> {
        let mut heard = Vec::new();
        while let Some(message) = self.next(Duration::ZERO)? {
            heard.push(message);
        }
        Ok(heard)
    }
}
