//! How a role waits for a broker that is away: it says what it waits for and why, then tries
//! again after 0.25 s, doubling the pause up to 5 s, until the broker answers or the role is
//! told to stop. A misconfigured broker is not waited for: retrying cannot fix it.

use crate::BrokerError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The first pause after a failure.
const FIRST: Duration = Duration::from_millis(250);
/// The longest pause.
const LONGEST: Duration = Duration::from_secs(5);

/// The reconnection policy of one role.
#[derive(Debug)]
pub struct Reconnect<'a> {
    who: String,
    target: String,
    delay: Duration,
    stop: Option<&'a AtomicBool>,
}

impl<'a> Reconnect<'a> {
    /// The policy of `who` (as the logs name it, e.g. `mcp consumer C1`) waiting for `target`
    /// (e.g. `RabbitMQ at amqp://guest:***@host/`; never a password).
    pub fn new(who: impl Into<String>, target: impl Into<String>) -> Reconnect<'a> {
        Reconnect {
            who: who.into(),
            target: target.into(),
            delay: FIRST,
            stop: None,
        }
    }

    /// Gives up waiting once `stop` is set (a draining consumer, a stopping coordinator).
    pub fn until(mut self, stop: &'a AtomicBool) -> Reconnect<'a> {
        self.stop = Some(stop);
        self
    }

    /// Whether the role was told to stop.
    pub fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The pause the next [`wait`](Reconnect::wait) takes.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Says that `doing` failed with `error` and what it waits for, pauses, and doubles the
    /// next pause.
    pub fn wait(&mut self, doing: &str, error: &dyn std::fmt::Display) {
        tracing::warn!(
            "{doing}: waiting for {} ({error}); retrying in {:.2} s",
            self.target,
            self.delay.as_secs_f64()
        );
        std::thread::sleep(self.delay);
        self.delay = (self.delay * 2).min(LONGEST);
    }

    /// Calls `connect` until it succeeds, pausing between attempts; the pause starts afresh
    /// after a success. Stops on a misconfigured broker, and when the role is told to stop.
    pub fn connect<T>(
        &mut self,
        mut connect: impl FnMut() -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        loop {
            match connect() {
                Ok(connected) => {
                    self.delay = FIRST;
                    return Ok(connected);
                }
                Err(e @ BrokerError::Misconfigured(_)) => return Err(e),
                Err(e) if self.stopped() => return Err(e),
                Err(e) => {
                    let who = self.who.clone();
                    self.wait(&who, &e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_retries_with_growing_pauses_and_starts_afresh_after_a_success() {
        let mut reconnect = Reconnect::new("test", "nothing");
        let mut attempts = 0;
        let connected = reconnect.connect(|| {
            attempts += 1;
            if attempts < 3 {
                Err(BrokerError::Other("refused".into()))
            } else {
                Ok(attempts)
            }
        });
        assert_eq!(connected, Ok(3));
        assert_eq!(reconnect.delay(), FIRST);
        reconnect.wait("x", &"e");
        reconnect.wait("x", &"e");
        assert_eq!(reconnect.delay(), FIRST * 4);
    }

    #[test]
    fn a_misconfigured_broker_and_a_stop_end_the_waiting() {
        let mut reconnect = Reconnect::new("test", "nothing");
        let misconfigured = BrokerError::Misconfigured("inequivalent arguments".into());
        let mut attempts = 0;
        let result: Result<(), _> = reconnect.connect(|| {
            attempts += 1;
            Err(misconfigured.clone())
        });
        assert_eq!((result, attempts), (Err(misconfigured), 1));

        let stop = AtomicBool::new(true);
        let mut reconnect = Reconnect::new("test", "nothing").until(&stop);
        let result: Result<(), _> = reconnect.connect(|| Err(BrokerError::Closed));
        assert_eq!(result, Err(BrokerError::Closed));
    }
}
