//! `mcp submit --checkpoint FILE`: an embedded run's books kept on disk, so that a run stopped
//! by Ctrl-C, by its time-out or by a crash resumes where it ended.
//!
//! The checkpoint is a job history (the [`Store`] of `mcp serve`, SQLite in WAL mode with
//! `synchronous = FULL`) holding the one job of the run and every result batch counted for
//! it, each committed before the coordinator takes it from the workers. A history made
//! resumable keeps the batches of a job that ends without completing, so resuming counts the
//! recorded batches again (the aggregator does not depend on the order or the run in which
//! batches arrive) and the producer publishes only the others: the run ends with the same
//! summary, to the last bit, as one that was never stopped. The checkpoint belongs to one
//! model and one spec (after `--scenarios` and `--seed`): resuming with another is refused,
//! naming what differs.

use crate::book::Book;
use crate::job::{Ended, JobState};
use crate::store::{Store, StoreError};
use mcp_protocol::{JobAnnouncement, spec_digest};
use rusqlite::params;
use std::collections::BTreeSet;
use std::path::Path;

/// What a checkpoint held for the job about to run.
#[derive(Debug)]
pub enum Resume {
    /// Nothing: the run starts from its first batch.
    Fresh,
    /// A run that stopped before its end: these batches are counted already.
    Resumed {
        /// The indices of the batches recorded.
        batches: BTreeSet<u64>,
        /// The scenarios they hold.
        scenarios: u64,
    },
    /// A run that ended: its summary, nothing left to run.
    Finished(Box<Ended>),
}

/// A checkpoint that cannot be used for this run, and why.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {path}: {message}")]
pub struct CheckpointError {
    /// The checkpoint file.
    pub path: String,
    /// What is wrong, and the fix.
    pub message: String,
}

impl From<StoreError> for CheckpointError {
    fn from(e: StoreError) -> Self {
        CheckpointError {
            path: e.path,
            message: e.message,
        }
    }
}

impl Book {
    /// Books for one embedded job whose history is the checkpoint at `path` (created when
    /// missing), and what it already holds of that job: the job is followed again from its
    /// recorded batches when it stopped before its end. `live` keeps live statistics.
    pub fn checkpoint(
        path: &Path,
        announcement: &JobAnnouncement,
        live: bool,
        now_ms: u64,
    ) -> Result<(Book, Resume), CheckpointError> {
        let shown = path.display().to_string();
        let refuse = |message: String| CheckpointError {
            path: shown.clone(),
            message,
        };
        let mut store = Store::open(path)?;
        store.resumable = true;
        let Some(record) = store.job(&announcement.job)? else {
            return Ok((Book::with_store(store, live), Resume::Fresh));
        };
        let (was, now) = (&record.announcement, announcement);
        if was.info.digest != now.info.digest {
            return Err(refuse(format!(
                "it holds a run of model {} ({}), not of this model ({}); give the same model \
                 to resume it, or another --checkpoint file to start afresh",
                was.info.name, was.info.digest, now.info.digest
            )));
        }
        let (then, spec) = (spec_digest(&was.spec), spec_digest(&now.spec));
        if then != spec {
            return Err(refuse(format!(
                "it holds a run of another spec ({then}, this one is {spec}: the variables, \
                 scenarios, seed or limits differ); give the same spec, --scenarios and --seed \
                 to resume it, or another --checkpoint file to start afresh"
            )));
        }
        let total = now.spec.simulation.scenarios;
        let finished = match record.state {
            JobState::Completed => true,
            // Every scenario ran and failed: the run is over all the same.
            JobState::Failed => record
                .summary
                .as_ref()
                .is_some_and(|s| s.scenarios == total),
            JobState::Running | JobState::Cancelled | JobState::TimedOut => false,
            state => {
                return Err(refuse(format!(
                    "its run ended {} ({}): there is nothing to resume; delete {shown} (and \
                     {shown}-wal, {shown}-shm) to run again",
                    state.as_str(),
                    record.message.as_deref().unwrap_or("no reason recorded")
                )));
            }
        };
        if let (true, Some(summary)) = (finished, record.summary) {
            let ended = Ended {
                announcement: record.announcement,
                state: record.state,
                message: record.message,
                superseded_by: None,
                summary,
                failures: record.failures.unwrap_or_default(),
                ended_at_ms: record.ended_at_ms.unwrap_or(now_ms),
                live: None,
                // The history holds them: `Book::kept` reads them there.
                kept_count: record.kept,
                kept: Vec::new(),
            };
            return Ok((
                Book::with_store(store, live),
                Resume::Finished(Box::new(ended)),
            ));
        }
        // The time-out counts from now: each run of a resumed job has `limits.timeout_s`.
        let mut again = now.clone();
        again.submitted_at_ms = now_ms;
        store.reopen(&again)?;
        let recorded = store.batches(&again.job)?;
        let mut book = Book::with_store(store, live);
        book.start(again)?;
        // Every batch recorded, the end not (stopped in between): it ends now.
        book.settle(now_ms)?;
        if let Some(ended) = book.ended(&announcement.job) {
            let ended = Box::new(ended.clone());
            return Ok((book, Resume::Finished(ended)));
        }
        let job = book
            .running(&announcement.job)
            .expect("a job just started runs");
        // A recorded batch the job did not count (unreadable, or not one of its batches) is
        // run again.
        let batches = recorded.into_iter().filter(|&b| job.counted(b)).collect();
        let scenarios = job.progress().scenarios;
        Ok((book, Resume::Resumed { batches, scenarios }))
    }
}

impl Store {
    /// Makes a job that stopped before its end running again, as `announcement` announces
    /// it, forgetting how it ended.
    fn reopen(&mut self, announcement: &JobAnnouncement) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE jobs SET announcement = ?2, state = 'running', submitted_at_ms = ?3, \
                 ended_at_ms = NULL, message = NULL, summary = NULL, failures = NULL \
                 WHERE id = ?1",
                params![
                    announcement.job,
                    crate::store::to_history(announcement),
                    announcement.submitted_at_ms as i64
                ],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// The indices of the batches recorded for `job`.
    fn batches(&self, job: &str) -> Result<BTreeSet<u64>, StoreError> {
        let mut query = self
            .db
            .prepare("SELECT batch FROM results WHERE job = ?1")
            .map_err(|e| self.fail(e))?;
        let rows = query
            .query_map([job], |r| r.get::<_, i64>(0))
            .map_err(|e| self.fail(e))?;
        rows.map(|r| r.map(|b| b as u64).map_err(|e| self.fail(e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_testkit::fixtures;

    /// Job `local` of 6 scenarios in batches of 2 (batches 0, 1, 2).
    fn announcement() -> JobAnnouncement {
        fixtures::announcement("local", 6, 2, 1)
    }

    fn batches(indices: &[u64]) -> Vec<(String, mcp_protocol::ResultBatch)> {
        let result = |i: u64| fixtures::result(i, 2, vec![i as f64, 0.25 + i as f64]);
        indices
            .iter()
            .map(|&i| ("local".into(), result(i)))
            .collect()
    }

    /// Starts the job in a fresh checkpoint at `path` and counts `indices`.
    fn run_part(path: &Path, indices: &[u64]) -> Book {
        let (mut book, resume) = Book::checkpoint(path, &announcement(), false, 1).unwrap();
        assert!(matches!(resume, Resume::Fresh), "{resume:?}");
        book.announce(announcement(), 1).unwrap();
        book.record(batches(indices), 2).unwrap();
        book
    }

    #[test]
    fn a_cancelled_run_resumes_with_its_batches_and_ends_as_an_uninterrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt");
        let mut book = run_part(&path, &[2, 0]);
        assert!(book.cancel("local", 3).unwrap());
        drop(book);

        let (mut book, resume) = Book::checkpoint(&path, &announcement(), false, 4).unwrap();
        match resume {
            Resume::Resumed { batches, scenarios } => {
                assert_eq!(batches, [0, 2].into());
                assert_eq!(scenarios, 4);
            }
            other => panic!("not resumed: {other:?}"),
        }
        book.record(self::batches(&[1]), 5).unwrap();
        let resumed = book.ended("local").expect("complete").summary.clone();

        let dir = tempfile::tempdir().unwrap();
        let whole = run_part(&dir.path().join("ckpt"), &[0, 1, 2]);
        let uninterrupted = whole.ended("local").expect("complete").summary.clone();
        assert_eq!(resumed.outputs, uninterrupted.outputs);
        assert_eq!(resumed.scenarios, 6);

        // Ended, the checkpoint gives the summary back and nothing to run.
        drop(book);
        let (_, resume) = Book::checkpoint(&path, &announcement(), false, 7).unwrap();
        match resume {
            Resume::Finished(ended) => assert_eq!(ended.summary.outputs, resumed.outputs),
            other => panic!("not finished: {other:?}"),
        }
    }

    #[test]
    fn a_run_killed_after_its_last_batch_ends_when_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt");
        // Recorded, never ended: what a kill between the two leaves.
        let mut store = Store::open(&path).unwrap();
        store.resumable = true;
        store
            .insert_job(&announcement(), JobState::Running)
            .unwrap();
        let all = batches(&[0, 1, 2]);
        store
            .insert_results(all.iter().map(|(j, r)| (j.as_str(), r)), 2)
            .unwrap();
        drop(store);
        let (_, resume) = Book::checkpoint(&path, &announcement(), false, 3).unwrap();
        match resume {
            Resume::Finished(ended) => assert_eq!(ended.summary.scenarios, 6),
            other => panic!("not finished: {other:?}"),
        }
    }

    #[test]
    fn a_checkpoint_of_another_model_or_spec_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt");
        let mut book = run_part(&path, &[0]);
        assert!(book.cancel("local", 3).unwrap());
        drop(book);
        let mut seed = announcement();
        seed.spec.simulation.seed += 1;
        let err = Book::checkpoint(&path, &seed, false, 4).unwrap_err();
        assert!(err.to_string().contains("another spec"), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let mut model = announcement();
        model.info.digest = "sha256:other".into();
        let err = Book::checkpoint(&path, &model, false, 4).unwrap_err();
        assert!(err.to_string().contains("not of this model"), "{err}");
        // Still resumable with the right ones.
        let (_, resume) = Book::checkpoint(&path, &announcement(), false, 5).unwrap();
        assert!(
            matches!(resume, Resume::Resumed { scenarios: 2, .. }),
            "{resume:?}"
        );
    }
}
