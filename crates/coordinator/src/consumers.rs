//! The fleet as the coordinator sees it: each consumer's last heartbeat and when it arrived,
//! and when a consumer counts as lost: silent for [`LOST_AFTER`] without saying it stopped.
//! Consumers silent for [`FORGET_AFTER`] are forgotten.

use mcp_protocol::{ConsumerState, ConsumerStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A consumer silent for this long is shown as lost (heartbeats come every second).
pub const LOST_AFTER: Duration = Duration::from_secs(5);
/// A consumer silent for this long (stopped or lost) is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Most consumers the roster keeps; past that, the one silent longest is forgotten first
/// (heartbeats are read from a queue anyone with the broker's password can write to).
pub const MAX_CONSUMERS: usize = 10_000;

/// A consumer's state as the coordinator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenState {
    /// Working or waiting for work.
    Active,
    /// Paused by a control command.
    Paused,
    /// Finishing its batches before it exits.
    Draining,
    /// Exited cleanly.
    Stopped,
    /// Silent for longer than [`LOST_AFTER`] without saying it stopped.
    Lost,
}

/// A consumer as last heard from.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenConsumer {
    /// Its last heartbeat; `state` there is what the consumer said.
    pub status: ConsumerStatus,
    /// What the coordinator makes of it.
    pub state: SeenState,
    /// How long it has been silent.
    pub silent: Duration,
}

/// Every consumer heard from in the last hour, by id.
#[derive(Debug, Default)]
pub struct Roster {
    seen: BTreeMap<String, (ConsumerStatus, Instant)>,
}

impl Roster {
    /// Takes a heartbeat that arrived `at` (on this machine's clock).
    pub fn heard(&mut self, status: ConsumerStatus, at: Instant) {
        let status = status.bounded();
        if self.seen.len() >= MAX_CONSUMERS && !self.seen.contains_key(&status.id) {
            let oldest = self
                .seen
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(status.id.clone(), (status, at));
    }

    /// The last heartbeat of consumer `id`.
    pub fn last(&self, id: &str) -> Option<&ConsumerStatus> {
        self.seen.get(id).map(|(status, _)| status)
    }

    /// The consumers that may take batches, as seen at `now`: neither stopped nor lost
    /// (paused and draining ones count).
    pub fn live(&self, now: Instant) -> impl Iterator<Item = &ConsumerStatus> {
        self.seen.values().filter_map(move |(status, at)| {
            let lost = now.saturating_duration_since(*at) >= LOST_AFTER;
            (status.state != ConsumerState::Stopped && !lost).then_some(status)
        })
    }

    /// Forgets the consumers silent for [`FORGET_AFTER`] at `now`.
    pub fn forget_silent(&mut self, now: Instant) {
        self.seen
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < FORGET_AFTER);
    }

    /// Every consumer, by id, as seen at `now`.
    pub fn consumers(&self, now: Instant) -> Vec<SeenConsumer> {
        self.seen
            .values()
            .map(|(status, at)| {
                let silent = now.saturating_duration_since(*at);
                let state = match status.state {
                    ConsumerState::Stopped => SeenState::Stopped,
                    _ if silent >= LOST_AFTER => SeenState::Lost,
                    ConsumerState::Active => SeenState::Active,
                    ConsumerState::Paused => SeenState::Paused,
                    ConsumerState::Draining => SeenState::Draining,
                };
                SeenConsumer {
                    status: status.clone(),
                    state,
                    silent,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_testkit::fixtures::heartbeat;

    #[test]
    fn a_silent_consumer_is_lost_then_forgotten_and_a_stopped_one_stays_stopped() {
        let mut roster = Roster::default();
        let at = Instant::now();
        roster.heard(heartbeat("C1"), at);
        let stopped = ConsumerStatus {
            state: ConsumerState::Stopped,
            ..heartbeat("C2")
        };
        roster.heard(stopped, at);
        let states = |after: Duration| -> Vec<SeenState> {
            roster
                .consumers(at + after)
                .iter()
                .map(|c| c.state)
                .collect()
        };
        assert_eq!(
            states(Duration::from_millis(4_900)),
            [SeenState::Active, SeenState::Stopped]
        );
        assert_eq!(states(LOST_AFTER), [SeenState::Lost, SeenState::Stopped]);
        roster.forget_silent(at + FORGET_AFTER - Duration::from_secs(1));
        assert_eq!(roster.consumers(at).len(), 2);
        roster.forget_silent(at + FORGET_AFTER);
        assert!(roster.consumers(at).is_empty());
    }

    #[test]
    fn a_flood_of_heartbeats_keeps_the_roster_bounded_and_the_texts_short() {
        let mut roster = Roster::default();
        let at = Instant::now();
        for k in 0..MAX_CONSUMERS + 50 {
            let mut status = heartbeat(&format!("forged-{k}"));
            status.host = "h".repeat(1 << 20);
            roster.heard(status, at + Duration::from_millis(k as u64));
        }
        let seen = roster.consumers(at + Duration::from_secs(100));
        assert_eq!(seen.len(), MAX_CONSUMERS);
        assert!(seen.iter().all(|c| c.status.host.len() <= 256 + "…".len()));
        assert!(
            !seen.iter().any(|c| c.status.id == "forged-0"),
            "the one silent longest went first"
        );
    }
}
