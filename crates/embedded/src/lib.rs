//! Runs a whole job in one process, with no broker: the same producer, consumer process and
//! coordinator as a distributed run, wired over an [`InMemoryBroker`].
//!
//! A producer thread announces the job and publishes its batches; a [`ConsumerProcess`] named
//! `local` evaluates them on one thread per worker; the calling thread is the coordinator: it
//! runs the one [`coordinate`] loop, over a [`Book`] whose history lives in memory, until the job
//! ends (every batch counted, its time-out passed, or cancelled). A live dashboard reads the
//! same book ([`Embedded::book`]) and steers the workers through [`Embedded::controller`], so
//! every batch is aggregated once, whether a page watches or not.
//!
//! [`compare`](compare::compare) runs a paired comparison (`mcp compare`): every batch in two
//! runs, paired scenario by scenario by the consumer's [`PairedEvaluator`](mcp_consumer::PairedEvaluator)
//! on worker threads, merged in batch order.

pub mod compare;

use anyhow::anyhow;
use mcp_broker::{ControlLink, InMemoryBroker, ProducerLink};
use mcp_consumer::{ConsumerProcess, SessionEnd};
use mcp_coordinator::{Book, Ended, Resume, coordinate};
use mcp_producer::{ProducerProgress, produce};
use mcp_protocol::{JobAnnouncement, JobModel, now_ms};
use mcp_sandbox::Sandbox;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The id the local workers report under.
pub const LOCAL: &str = "local";

/// Batches queued per worker: enough to keep every worker busy, few enough to bound memory.
const QUEUED_PER_WORKER: usize = 4;

/// One embedded job, ready to run.
#[derive(Debug)]
pub struct Embedded {
    job: Arc<JobModel>,
    workers: usize,
    broker: InMemoryBroker,
    book: Arc<Mutex<Book>>,
    /// Batches counted before this run (resumed from a checkpoint): not published again.
    counted: BTreeSet<u64>,
}

impl Embedded {
    /// An embedded run of `job` on `workers` threads; `live` keeps live statistics, for a
    /// dashboard.
    pub fn new(job: Arc<JobModel>, workers: usize, live: bool) -> anyhow::Result<Embedded> {
        let workers = workers.max(1);
        Ok(Embedded {
            job,
            workers,
            broker: InMemoryBroker::new(workers * QUEUED_PER_WORKER),
            book: Arc::new(Mutex::new(Book::in_memory(live)?)),
            counted: BTreeSet::new(),
        })
    }

    /// An embedded run of `job` whose books are kept in the checkpoint at `path` (see
    /// [`Book::checkpoint`]): a run that stopped before its end resumes from the batches it
    /// recorded, and one that ended gives its summary without running ([`Resume::Finished`]).
    pub fn with_checkpoint(
        job: Arc<JobModel>,
        workers: usize,
        live: bool,
        path: &Path,
    ) -> anyhow::Result<(Embedded, Resume)> {
        let workers = workers.max(1);
        let announcement = JobAnnouncement::of(&job, now_ms());
        let (book, resume) = Book::checkpoint(path, &announcement, live, now_ms())?;
        let counted = match &resume {
            Resume::Resumed { batches, .. } => batches.clone(),
            Resume::Fresh | Resume::Finished(_) => BTreeSet::new(),
        };
        let run = Embedded {
            job,
            workers,
            broker: InMemoryBroker::new(workers * QUEUED_PER_WORKER),
            book: Arc::new(Mutex::new(book)),
            counted,
        };
        Ok((run, resume))
    }

    /// The coordinator's books, which a dashboard reads.
    pub fn book(&self) -> Arc<Mutex<Book>> {
        self.book.clone()
    }

    /// What a dashboard's buttons go through: pause, resume and drain the local workers,
    /// cancel the job.
    pub fn controller(&self) -> Arc<dyn ControlLink> {
        Arc::new(self.broker.clone())
    }

    /// Runs the job to its end, calling `on_progress` with the scenarios done so far every
    /// time the coordinator's loop comes round (a few times a second). A job stopped early
    /// (timed out, cancelled, its workers drained) ends with the summary of what finished.
    pub fn run(self, sandbox: &Sandbox, on_progress: &mut dyn FnMut(u64)) -> anyhow::Result<Ended> {
        let started = Instant::now();
        let id = self.job.job.clone();
        let broker = &self.broker;
        let announcement = JobAnnouncement::of(&self.job, now_ms());
        let progress = ProducerProgress::skipping(self.counted.clone());
        let mut consumer = ConsumerProcess::new(LOCAL, self.workers);
        let stopper = consumer.stopper();
        let drain = AtomicBool::new(false);
        let ended = std::thread::scope(|scope| -> anyhow::Result<Ended> {
            let producer = std::thread::Builder::new()
                .name("mcp-producer".into())
                .spawn_scoped(scope, || {
                    broker.announce(&announcement)?;
                    produce(broker, self.job.clone(), &progress)
                })?;
            let consumers = std::thread::Builder::new()
                .name("mcp-consumer".into())
                .spawn_scoped(scope, || consumer.run_session(broker, sandbox, &drain))?;
            let mut until = |book: &Book| {
                if let Some(job) = book.running(&id) {
                    on_progress(job.progress().scenarios);
                }
                // Once the workers stopped and all they sent is counted, nothing more comes.
                book.ended(&id).is_some() || (consumers.is_finished() && broker.is_idle())
            };
            let coordinated = coordinate(broker, &self.book, &mut until);
            progress.stop.store(true, Ordering::Relaxed);
            broker.discard_batches();
            broker.shut_down();
            stopper.abort();
            let produced = producer.join().expect("producer thread");
            let consumed = consumers.join().expect("consumer thread");
            coordinated?;
            produced.map_err(|e| anyhow!("the producer failed: {e}"))?;
            let mut book = self.book.lock().expect("book lock");
            if book.ended(&id).is_none() {
                let done = book.running(&id).map_or(0, |j| j.progress().scenarios);
                match consumed {
                    // Drained from the dashboard: the job cannot complete, so it ends here.
                    Ok(SessionEnd::Drained) => {
                        book.cancel(&id, now_ms())?;
                    }
                    Ok(SessionEnd::Finished) => {
                        return Err(anyhow!(
                            "every worker stopped before the job completed ({done} of {} \
                             scenarios done)",
                            self.job.spec.simulation.scenarios
                        ));
                    }
                    Err(e) => return Err(e.context("a worker failed")),
                }
            }
            Ok(book.ended(&id).cloned().expect("the job ended"))
        })?;
        on_progress(ended.summary.scenarios);
        let mut ended = ended;
        ended.summary.elapsed_s = started.elapsed().as_secs_f64();
        Ok(ended)
    }
}

/// Runs `job` embedded on `workers` threads, without live statistics.
pub fn run(
    sandbox: &Sandbox,
    job: Arc<JobModel>,
    workers: usize,
    on_progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Ended> {
    Embedded::new(job, workers, false)?.run(sandbox, on_progress)
}
