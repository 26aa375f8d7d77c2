//! What a consumer counts for Prometheus (`mcp consumer --metrics ADDR` serves it): scenarios,
//! failures by kind, batches and their durations, fuel, model load times, and its state.

use mcp_protocol::{FailureKind, ResultBatch};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The consumer's metrics, shared by its threads; every update is a few atomic operations.
#[derive(Debug)]
pub struct ConsumerMetrics {
    registry: Registry,
    scenarios: Counter,
    failed: Family<Vec<(&'static str, &'static str)>, Counter>,
    batches: Counter,
    batch_seconds: Histogram,
    fuel: Counter,
    load_seconds: Histogram,
    paused: Gauge,
    threads: Gauge,
    broker_up: Gauge,
}

impl Default for ConsumerMetrics {
    fn default() -> Self {
        ConsumerMetrics::new()
    }
}

impl ConsumerMetrics {
    /// Every metric at zero.
    pub fn new() -> ConsumerMetrics {
        let mut registry = Registry::default();
        let scenarios = Counter::default();
        let failed: Family<Vec<(&str, &str)>, Counter> = Family::default();
        let batches = Counter::default();
        // 1 ms to about 9 minutes.
        let batch_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        let fuel = Counter::default();
        let load_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 18));
        let (paused, threads, broker_up) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "mcp_consumer_scenarios",
            "Scenarios evaluated (succeeded or failed)",
            scenarios.clone(),
        );
        registry.register(
            "mcp_consumer_scenarios_failed",
            "Scenarios that failed, by kind",
            failed.clone(),
        );
        registry.register(
            "mcp_consumer_batches",
            "Scenario batches evaluated",
            batches.clone(),
        );
        registry.register(
            "mcp_consumer_batch_duration_seconds",
            "Time to generate and evaluate one batch",
            batch_seconds.clone(),
        );
        registry.register(
            "mcp_consumer_fuel",
            "Wasm fuel the model used (about one unit per instruction)",
            fuel.clone(),
        );
        registry.register(
            "mcp_consumer_model_compile_seconds",
            "Time to load a job's model: compile it, or find it compiled",
            load_seconds.clone(),
        );
        registry.register(
            "mcp_consumer_paused",
            "1 while paused by a control command",
            paused.clone(),
        );
        registry.register(
            "mcp_consumer_threads",
            "Evaluating threads",
            threads.clone(),
        );
        registry.register(
            "mcp_consumer_broker_up",
            "1 while connected to the broker",
            broker_up.clone(),
        );
        // Every kind, at zero until it happens: a rate over it exists from the start.
        for kind in FailureKind::ALL {
            failed
                .get_or_create(&vec![("kind", kind_label(kind))])
                .inc_by(0);
        }
        ConsumerMetrics {
            registry,
            scenarios,
            failed,
            batches,
            batch_seconds,
            fuel,
            load_seconds,
            paused,
            threads,
            broker_up,
        }
    }

    /// Counts one evaluated batch that used `fuel`.
    pub fn batch(&self, result: &ResultBatch, fuel: u64) {
        self.scenarios.inc_by(u64::from(result.batch.count));
        self.batches.inc();
        self.batch_seconds.observe(result.eval_seconds);
        self.fuel.inc_by(fuel);
        for f in &result.failures {
            self.failed
                .get_or_create(&vec![("kind", kind_label(f.kind))])
                .inc();
        }
    }

    /// Counts one model load.
    pub fn model_loaded(&self, took: Duration) {
        self.load_seconds.observe(took.as_secs_f64());
    }

    /// Says whether the consumer is paused.
    pub fn set_paused(&self, paused: bool) {
        self.paused.set(i64::from(paused));
    }

    /// Says how many threads evaluate.
    pub fn set_threads(&self, threads: usize) {
        self.threads.set(threads as i64);
    }

    /// Says whether the consumer holds a link to the broker.
    pub fn set_broker_up(&self, up: bool) {
        self.broker_up.set(i64::from(up));
    }

    /// Whether the consumer holds a link to the broker.
    pub fn broker_up(&self) -> bool {
        self.broker_up.get() == 1
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// A failure kind as a label value (`out_of_fuel`, ...).
fn kind_label(kind: FailureKind) -> &'static str {
    kind.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_protocol::ScenarioFailure;

    #[test]
    fn a_batch_counts_its_scenarios_failures_by_kind_duration_and_fuel() {
        let metrics = ConsumerMetrics::new();
        let mut result = mcp_testkit::fixtures::result(0, 3, vec![1.0, 2.0]);
        result.batch.count = 3;
        result.eval_seconds = 0.25;
        result.failures = vec![ScenarioFailure {
            scenario: 2,
            kind: FailureKind::OutOfFuel,
            message: "fuel".into(),
        }];
        metrics.batch(&result, 1234);
        metrics.set_threads(2);
        metrics.set_broker_up(true);
        let text = metrics.render();
        for line in [
            "mcp_consumer_scenarios_total 3",
            "mcp_consumer_scenarios_failed_total{kind=\"out_of_fuel\"} 1",
            "mcp_consumer_batches_total 1",
            "mcp_consumer_batch_duration_seconds_count 1",
            "mcp_consumer_batch_duration_seconds_sum 0.25",
            "mcp_consumer_fuel_total 1234",
            "mcp_consumer_threads 2",
            "mcp_consumer_broker_up 1",
            "mcp_consumer_paused 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
