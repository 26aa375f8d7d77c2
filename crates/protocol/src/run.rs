//! A run of consecutive batches: what one scenario message carries. Batches stay the unit of
//! statistics (moments are merged batch by batch, in batch order); the run only decides how
//! many of them share one broker message, so that small batches stop paying the broker's cost
//! per message.

use crate::ScenarioBatch;
use serde::{Deserialize, Serialize};

/// Most batches one run may hold: bounds what a forged message makes a consumer expand.
pub const MAX_BATCHES_PER_RUN: u64 = 1 << 16;

/// Consecutive batches of one job: batch `index` from scenario `start`, then batch `index + 1`,
/// and so on, each of `batch` scenarios but the last, which holds what remains of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRun {
    /// Index of the first batch.
    pub index: u64,
    /// First scenario index.
    pub start: u64,
    /// Number of scenarios, over all the batches.
    pub count: u64,
    /// Scenarios per batch (the last batch may hold fewer).
    pub batch: u32,
}

impl From<ScenarioBatch> for ScenarioRun {
    /// The run of that one batch.
    fn from(b: ScenarioBatch) -> ScenarioRun {
        ScenarioRun {
            index: b.index,
            start: b.start,
            count: u64::from(b.count),
            batch: b.count,
        }
    }
}

impl ScenarioRun {
    /// How many batches it holds.
    pub fn len(&self) -> u64 {
        if self.batch == 0 {
            return u64::from(self.count > 0);
        }
        self.count.div_ceil(u64::from(self.batch))
    }

    /// Whether it holds no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the batch after its last.
    pub fn end_index(&self) -> u64 {
        self.index.saturating_add(self.len())
    }

    /// Scenario index after its last scenario.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.count)
    }

    /// Adds `next` at its end when `next` is the batch that follows and every batch but the last
    /// stays whole; says whether it did.
    pub fn push(&mut self, next: ScenarioBatch) -> bool {
        let follows = next.index == self.end_index() && next.start == self.end();
        let whole = self.count.is_multiple_of(u64::from(self.batch.max(1)));
        if !(follows && whole && next.count <= self.batch) {
            return false;
        }
        self.count += u64::from(next.count);
        true
    }

    /// Refuses a run no producer makes: empty, of empty batches, too long, or past the end of
    /// the indices. Whether its batches are its job's is for the spec to say.
    pub fn check(&self) -> Result<(), String> {
        if self.count == 0 || self.batch == 0 {
            return Err(format!(
                "a run of {} scenarios in batches of {} holds no scenario",
                self.count, self.batch
            ));
        }
        if self.len() > MAX_BATCHES_PER_RUN {
            return Err(format!(
                "a run of {} batches is longer than {MAX_BATCHES_PER_RUN}",
                self.len()
            ));
        }
        if self.start.checked_add(self.count).is_none() {
            return Err("a run that ends past the last scenario index".into());
        }
        Ok(())
    }

    /// Its batches, in order.
    pub fn batches(&self) -> impl Iterator<Item = ScenarioBatch> + use<> {
        let run = *self;
        (0..run.len()).map(move |k| {
            let skipped = k * u64::from(run.batch);
            ScenarioBatch {
                index: run.index + k,
                start: run.start + skipped,
                count: (run.count - skipped).min(u64::from(run.batch)) as u32,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(index: u64, start: u64, count: u32) -> ScenarioBatch {
        ScenarioBatch {
            index,
            start,
            count,
        }
    }

    #[test]
    fn a_run_holds_consecutive_whole_batches_and_a_last_partial_one() {
        let mut run = ScenarioRun::from(batch(3, 30, 10));
        assert!(run.push(batch(4, 40, 10)));
        assert!(!run.push(batch(6, 60, 10)), "a gap");
        assert!(run.push(batch(5, 50, 4)));
        assert!(!run.push(batch(6, 54, 10)), "after a partial batch");
        assert_eq!(run.len(), 3);
        assert_eq!(run.end_index(), 6);
        assert_eq!(
            run.batches().collect::<Vec<_>>(),
            [batch(3, 30, 10), batch(4, 40, 10), batch(5, 50, 4)]
        );
        assert_eq!(run.check(), Ok(()));
        // A single partial batch is a run of one.
        let last = ScenarioRun::from(batch(7, 70, 3));
        assert_eq!(last.batches().collect::<Vec<_>>(), [batch(7, 70, 3)]);
    }

    #[test]
    fn a_forged_run_is_refused_before_it_is_expanded() {
        let run = |count, size| ScenarioRun {
            index: 0,
            start: 0,
            count,
            batch: size,
        };
        assert!(
            run(0, 10)
                .check()
                .unwrap_err()
                .contains("holds no scenario")
        );
        assert!(
            run(10, 0)
                .check()
                .unwrap_err()
                .contains("holds no scenario")
        );
        assert_eq!(
            run(u64::MAX, 1).check().unwrap_err(),
            format!("a run of {} batches is longer than 65536", u64::MAX)
        );
        let past = ScenarioRun {
            start: u64::MAX,
            ..run(2, 1)
        };
        assert!(past.check().unwrap_err().contains("past the last"));
    }
}
