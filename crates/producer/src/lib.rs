//! The producer role: publishes a job's model, then its scenario batches.
//!
//! A batch is a range of scenario indices (`index`, `start`, `count`); consumers generate the
//! inputs themselves, since scenario `i` is a pure function of (spec, seed, i). The producer
//! therefore does no sampling and no Wasm: its cost is one small message per batch, and its pace
//! is set by the transport's backpressure. It knows no transport beyond [`ProducerLink`].

use mcp_broker::{BrokerError, ProducerLink};
use mcp_protocol::{JobModel, ScenarioBatch};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The batches of a job of `scenarios` scenarios, `batch` at a time, in order.
pub fn batches(scenarios: u64, batch: u32) -> impl Iterator<Item = ScenarioBatch> {
    let size = u64::from(batch.max(1));
    (0..scenarios.div_ceil(size)).map(move |index| {
        let start = index * size;
        ScenarioBatch {
            index,
            start,
            count: (scenarios - start).min(size) as u32,
        }
    })
}

/// Progress a producer reports while it publishes.
#[derive(Debug, Default)]
pub struct ProducerProgress {
    /// Scenarios published so far.
    pub published: AtomicU64,
    /// Index of the next batch to publish: a producer resumes from here after a failure.
    pub next_batch: AtomicU64,
    /// Set by anyone to make the producer stop early.
    pub stop: AtomicBool,
}

/// How a producer run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProducerEnd {
    /// Every batch was published.
    Completed,
    /// Asked to stop before the end.
    Stopped,
}

/// Publishes `model`, then the batches of its job from `progress.next_batch` on, then says the
/// job is finished. After a failure, calling it again with the same progress resumes the job
/// (moving `next_batch` back first republishes batches that may not have been stored; the
/// coordinator counts each batch once).
pub fn produce(
    link: &dyn ProducerLink,
    model: Arc<JobModel>,
    progress: &ProducerProgress,
) -> Result<ProducerEnd, BrokerError> {
    let sim = model.spec.simulation;
    link.publish_model(model)?;
    let first = progress.next_batch.load(Ordering::Relaxed);
    for batch in batches(sim.scenarios, sim.batch).skip(first as usize) {
        if progress.stop.load(Ordering::Relaxed) {
            link.finish()?;
            return Ok(ProducerEnd::Stopped);
        }
        match link.publish_batch(batch) {
            Ok(()) => {}
            // Stopping closes the queue under a producer blocked on it.
            Err(BrokerError::Closed) if progress.stop.load(Ordering::Relaxed) => {
                return Ok(ProducerEnd::Stopped);
            }
            Err(e) => return Err(e),
        }
        progress
            .next_batch
            .store(batch.index + 1, Ordering::Relaxed);
        progress.published.store(
            (batch.start + u64::from(batch.count)).min(sim.scenarios),
            Ordering::Relaxed,
        );
    }
    link.finish()?;
    Ok(ProducerEnd::Completed)
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_cover_every_scenario_once() {
        let all: Vec<_> = batches(2500, 1024).collect();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].start, all[0].count), (0, 1024));
        assert_eq!((all[2].index, all[2].start, all[2].count), (2, 2048, 452));
        assert_eq!(batches(0, 10).count(), 0);
        assert_eq!(batches(10, 10).map(|b| b.count).sum::<u32>(), 10);
    }
}
