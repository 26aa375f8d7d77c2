//! The operator's link: commands to consumers through the control exchange, and the end of a
//! cancelled job's work.

use crate::AmqpBroker;
use mcp_broker::{BrokerError, ControlLink};
use mcp_protocol::{ControlCommand, StopCause};
use std::sync::{Arc, Mutex};

/// Sends control commands, keeping one connection between them and making it again when it
/// fails (the API's buttons are pressed minutes apart).
#[derive(Debug)]
pub struct AmqpController {
    url: String,
    prefix: String,
    broker: Mutex<Option<Arc<AmqpBroker>>>,
}

impl AmqpController {
    /// A controller for the installation under `prefix` at `url`; it connects when first used.
    pub fn new(url: &str, prefix: &str) -> AmqpController {
        AmqpController {
            url: url.to_string(),
            prefix: prefix.to_string(),
            broker: Mutex::default(),
        }
    }

    /// Runs `f` on the connection, connecting again once if it fails.
    fn with_broker(
        &self,
        f: impl Fn(&AmqpBroker) -> Result<(), BrokerError>,
    ) -> Result<(), BrokerError> {
        let mut slot = self.broker.lock().expect("controller lock");
        let mut last = BrokerError::Closed;
        for _ in 0..2 {
            if slot.is_none() {
                *slot = Some(AmqpBroker::connect(&self.url, &self.prefix, "mcp control")?);
            }
            match f(slot.as_ref().expect("a broker")) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!("control command failed: {e}");
                    last = e;
                    *slot = None;
                }
            }
        }
        Err(last)
    }
}

impl ControlLink for AmqpController {
    fn send(&self, command: &ControlCommand) -> Result<(), BrokerError> {
        self.with_broker(|b| b.publish_control(command))
    }

    fn cancel(&self, job: &str) -> Result<(), BrokerError> {
        // No consumer starts the job again, and those on it drop its remaining batches.
        self.with_broker(|b| b.retire_model(job).map(|_| ()))?;
        self.send(&ControlCommand::stop(job, StopCause::Cancelled))
    }
}
