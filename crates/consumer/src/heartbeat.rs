//! A consumer process's heartbeat: its counters, rates and CPU use over the interval since the
//! previous one, its memory, and the last model it could not load.

use crate::ConsumerStats;
use mcp_protocol::{ConsumerState, ConsumerStatus, RefusedModel, now_ms};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often a consumer process sends its heartbeat (and at once when its state changes).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// Builds a consumer process's heartbeats.
#[derive(Debug)]
pub struct Heartbeat {
    stats: Arc<Vec<ConsumerStats>>,
    id: String,
    host: String,
    last_at: Instant,
    last_scenarios: u64,
    last_cpu_s: f64,
}

impl Heartbeat {
    /// The heartbeat of consumer `id`, whose threads count into `stats`.
    pub fn new(id: &str, stats: Arc<Vec<ConsumerStats>>) -> Heartbeat {
        Heartbeat {
            stats,
            id: id.to_string(),
            host: host_name(),
            last_at: Instant::now(),
            last_scenarios: 0,
            last_cpu_s: cpu_seconds(),
        }
    }

    /// The heartbeat now, in `state`; rates cover the time since the previous one.
    pub fn status(&mut self, state: ConsumerState) -> ConsumerStatus {
        let stats = self.stats.clone();
        let sum = |f: fn(&ConsumerStats) -> u64| stats.iter().map(f).sum::<u64>();
        let scenarios = sum(|s| s.scenarios.load(Ordering::Relaxed));
        let batches = sum(|s| s.batches.load(Ordering::Relaxed));
        let eval_ns = sum(|s| s.eval_nanos.load(Ordering::Relaxed));
        let last_ns = stats
            .iter()
            .map(|s| s.last_batch_nanos_per_scenario.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        let dt = self.last_at.elapsed().as_secs_f64().max(1e-9);
        let cpu = cpu_seconds();
        let status = ConsumerStatus {
            id: self.id.clone(),
            host: self.host.clone(),
            state,
            batches,
            scenarios,
            scenarios_per_s: (scenarios - self.last_scenarios) as f64 / dt,
            last_s_per_scenario: last_ns as f64 * 1e-9,
            mean_s_per_scenario: if scenarios > 0 {
                eval_ns as f64 * 1e-9 / scenarios as f64
            } else {
                0.0
            },
            failures: sum(|s| s.failures.load(Ordering::Relaxed)),
            expired: sum(|s| s.expired.load(Ordering::Relaxed)),
            rss_bytes: rss_bytes(),
            cpu_percent: 100.0 * (cpu - self.last_cpu_s) / dt,
            sent_at_ms: now_ms(),
            refused: stats
                .iter()
                .find_map(|s| s.refused.lock().expect("refused lock").clone())
                .map(|(job, error)| RefusedModel { job, error }),
        };
        self.last_at = Instant::now();
        self.last_scenarios = scenarios;
        self.last_cpu_s = cpu;
        status
    }
}

/// This machine's name (Linux; `localhost` elsewhere).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// Resident memory of this process (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// CPU seconds (user + system) this process has used (Linux; 0 elsewhere).
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_sums_the_threads_and_reads_this_process() {
        let stats: Arc<Vec<ConsumerStats>> = Arc::new((0..2).map(|_| Default::default()).collect());
        stats[0].scenarios.store(300, Ordering::Relaxed);
        stats[1].scenarios.store(700, Ordering::Relaxed);
        stats[1].failures.store(4, Ordering::Relaxed);
        *stats[0].refused.lock().unwrap() = Some(("j".into(), "no export".into()));
        let mut heartbeat = Heartbeat::new("C1", stats);
        let status = heartbeat.status(ConsumerState::Active);
        assert_eq!((status.scenarios, status.failures), (1000, 4));
        assert!(status.scenarios_per_s > 0.0);
        assert_eq!(status.refused.unwrap().error, "no export");
        assert!(status.rss_bytes > 1 << 20, "{}", status.rss_bytes);
        assert!(!host_name().is_empty());
        let next = heartbeat.status(ConsumerState::Paused);
        assert_eq!(next.scenarios_per_s, 0.0, "nothing happened since");
    }
}
