//! The coordinator's loop: takes what the link brings, records it in the [`Book`], then
//! acknowledges it. One loop for every coordinator: `mcp serve` over the installation's queues,
//! `mcp submit --wait` over one job's private queues, and an embedded run over the in-memory
//! broker.

use crate::book::{Book, Unrecorded};
use crate::job::Ended;
use crate::store::StoreError;
use mcp_broker::{BrokerError, CoordinatorLink, Incoming, Reconnect};
use mcp_protocol::{JobAnnouncement, JobId, ResultBatch, now_ms};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the loop waits for a first message before it looks at its stop condition.
const POLL: Duration = Duration::from_millis(100);
/// Most result batches recorded in one transaction.
pub const RECORD_AT_MOST: usize = 256;
/// Longest a received result batch waits to be recorded.
const RECORD_WITHIN: Duration = Duration::from_millis(50);
/// How often time-outs are checked and queue depths read.
const TICK: Duration = Duration::from_secs(1);

/// Why the loop stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The broker went away: reconnect and call again.
    #[error("{0}")]
    Broker(#[from] BrokerError),
    /// The job history failed: stop.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Runs until `until` says so (it is asked at least every ~150 ms, with the books) or the link
/// fails. Job announcements and result batches are acknowledged only once the book has recorded
/// them (results in transactions of up to [`RECORD_AT_MOST`]), so a coordinator killed at any
/// moment loses nothing: what it had not recorded is redelivered, and what it recorded twice is
/// counted once. While the history cannot be written (a full disk), what arrived is held
/// unacknowledged, no more is taken, and writing is tried again, saying why, until it works.
pub fn coordinate(
    link: &dyn CoordinatorLink,
    book: &Mutex<Book>,
    until: &mut dyn FnMut(&Book) -> bool,
) -> Result<(), ServeError> {
    let lock = || book.lock().expect("book lock");
    let mut results: Vec<(JobId, ResultBatch)> = Vec::new();
    let mut tags: Vec<u64> = Vec::new();
    let mut last_tick: Option<Instant> = None;
    while !until(&lock()) {
        let started = Instant::now();
        let mut wait = POLL;
        while let Some(message) = link.next(wait)? {
            match message {
                Incoming::Job(d) => {
                    // Results received before the announcement belong to older jobs.
                    if !record(link, book, &mut results, &mut tags, until)? {
                        return Ok(());
                    }
                    let announce = |b: &mut Book| b.announce(d.body.clone(), now_ms());
                    if patiently(book, until, announce)?.is_none() {
                        return Ok(());
                    }
                    link.ack(d.tag)?;
                }
                Incoming::Results(d) => {
                    // Each batch is recorded as if it had come alone; the message is
                    // acknowledged once all of them are.
                    results.extend(d.body.into_iter().map(|r| (d.job.clone(), r)));
                    tags.push(d.tag);
                }
                Incoming::Consumer(status) => {
                    let heard =
                        |b: &mut Book| b.consumer_status(status.clone(), Instant::now(), now_ms());
                    if patiently(book, until, heard)?.is_none() {
                        return Ok(());
                    }
                }
                Incoming::Producer(status) => lock().producer_status(status),
                Incoming::Stopped { job, cause } => {
                    let stopped = |b: &mut Book| b.stopped(&job, cause.clone(), now_ms());
                    if patiently(book, until, stopped)?.is_none() {
                        return Ok(());
                    }
                }
            }
            if results.len() >= RECORD_AT_MOST || started.elapsed() >= RECORD_WITHIN {
                break;
            }
            wait = Duration::ZERO;
        }
        if !record(link, book, &mut results, &mut tags, until)? {
            return Ok(());
        }
        if last_tick.is_none_or(|t| t.elapsed() >= TICK) {
            last_tick = Some(Instant::now());
            let depths = link.queue_depths()?;
            let mut book = lock();
            book.set_queues(depths);
            match book.tick(now_ms()) {
                Err(e) if e.transient => tracing::warn!("{e}; trying again at the next tick"),
                outcome => outcome?,
            }
        }
        stop_jobs(link, book)?;
    }
    Ok(())
}

/// Tells everyone working on the jobs that ended early why they ended (see
/// [`CoordinatorLink::stop_job`]). What the link could not send is kept for the next link.
fn stop_jobs(link: &dyn CoordinatorLink, book: &Mutex<Book>) -> Result<(), BrokerError> {
    let stops = book.lock().expect("book lock").take_stops();
    let mut stops = stops.into_iter();
    while let Some((job, cause)) = stops.next() {
        if let Err(e) = link.stop_job(&job, &cause) {
            let mut book = book.lock().expect("book lock");
            book.keep_stops(std::iter::once((job, cause)).chain(stops));
            return Err(e);
        }
        tracing::info!(job, ?cause, "told the job's producer and consumers to stop");
    }
    Ok(())
}

/// The first pause before writing the history again after it failed, and the longest.
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Records `results` and then acknowledges `tags`. While the history cannot be written, holds
/// them (unacknowledged: nothing is lost if this process dies), says why, and tries again.
/// `Ok(false)` when told to stop meanwhile.
fn record(
    link: &dyn CoordinatorLink,
    book: &Mutex<Book>,
    results: &mut Vec<(JobId, ResultBatch)>,
    tags: &mut Vec<u64>,
    until: &mut dyn FnMut(&Book) -> bool,
) -> Result<bool, ServeError> {
    if results.is_empty() {
        return Ok(true);
    }
    let mut held = std::mem::take(results);
    let mut pause = FIRST_RETRY;
    loop {
        let outcome = book.lock().expect("book lock").record(held, now_ms());
        match outcome {
            Ok(()) => break,
            Err(Unrecorded { error, results }) if error.transient => {
                tracing::warn!(
                    "{error}; {} result batches wait, unacknowledged, until it can be written \
                     again; trying again in {:.2} s",
                    results.len(),
                    pause.as_secs_f64()
                );
                held = results;
                if until(&book.lock().expect("book lock")) {
                    return Ok(false);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(LONGEST_RETRY);
            }
            Err(unrecorded) => return Err(unrecorded.error.into()),
        }
    }
    for tag in tags.drain(..) {
        link.ack(tag)?;
    }
    Ok(true)
}

/// Runs `write` on the book until the history takes it: while it fails for a reason that
/// passes, says why and tries again. `Ok(None)` when told to stop meanwhile.
fn patiently<T>(
    book: &Mutex<Book>,
    until: &mut dyn FnMut(&Book) -> bool,
    mut write: impl FnMut(&mut Book) -> Result<T, StoreError>,
) -> Result<Option<T>, ServeError> {
    let mut pause = FIRST_RETRY;
    loop {
        let mut guard = book.lock().expect("book lock");
        match write(&mut guard) {
            Ok(value) => return Ok(Some(value)),
            Err(e) if e.transient => {
                tracing::warn!("{e}; trying again in {:.2} s", pause.as_secs_f64());
                if until(&guard) {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
        drop(guard);
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_RETRY);
    }
}

/// Runs [`coordinate`] on links made by `connect`, connecting again with `reconnect` whenever
/// the broker goes away, until `until` says so or the history fails. Returns at once, without
/// an error, when the role is told to stop while the broker is away.
pub fn coordinate_reconnecting(
    connect: &mut dyn FnMut() -> Result<Box<dyn CoordinatorLink>, BrokerError>,
    reconnect: &mut Reconnect<'_>,
    book: &Mutex<Book>,
    until: &mut dyn FnMut(&Book) -> bool,
    who: &str,
) -> Result<(), ServeError> {
    loop {
        let link = match reconnect.connect(&mut *connect) {
            Ok(link) => link,
            Err(_) if reconnect.stopped() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        book.lock().expect("book lock").set_connected(true);
        let outcome = coordinate(&*link, book, until);
        book.lock().expect("book lock").set_connected(false);
        match outcome {
            Ok(()) => return Ok(()),
            Err(ServeError::Broker(_)) if reconnect.stopped() => return Ok(()),
            // A refused permission, say: a new link would meet it again.
            Err(e @ ServeError::Broker(BrokerError::Misconfigured(_))) => return Err(e),
            Err(ServeError::Broker(e)) => reconnect.wait(who, &e),
            Err(e) => return Err(e),
        }
    }
}

/// Follows one job from its announcement to its end, on links made by `connect` (with
/// `reconnect` while the broker is away), calling `on_progress` with the scenarios done so far
/// every time the loop comes round. What an `mcp submit --wait` runs.
pub fn follow(
    connect: &mut dyn FnMut() -> Result<Box<dyn CoordinatorLink>, BrokerError>,
    reconnect: &mut Reconnect<'_>,
    announcement: JobAnnouncement,
    on_progress: &mut dyn FnMut(u64),
) -> Result<Ended, ServeError> {
    let id = announcement.job.clone();
    let book = Mutex::new(Book::in_memory(false)?);
    book.lock()
        .expect("book lock")
        .announce(announcement, now_ms())?;
    let mut until = |book: &Book| {
        if let Some(job) = book.running(&id) {
            on_progress(job.progress().scenarios);
        }
        book.ended(&id).is_some()
    };
    let who = "following the job";
    coordinate_reconnecting(connect, reconnect, &book, &mut until, who)?;
    let book = book.into_inner().expect("book lock");
    Ok(book.ended(&id).cloned().expect("followed to its end"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobState;
    use mcp_broker::{ConsumerLink, InMemoryBroker, ProducerLink};
    use mcp_testkit::{eventually, fixtures};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Sets its flag when dropped.
    struct StopOnDrop<'a>(&'a AtomicBool);

    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_full_disk_holds_results_unacknowledged_until_it_has_room() {
        let dir = tempfile::tempdir().unwrap();
        let book = Mutex::new(Book::open(&dir.path().join("h.sqlite3"), now_ms()).unwrap());
        // No page more: the next write that needs one fails as on a full disk.
        book.lock().unwrap().store_mut().set_room(Some(0)).unwrap();
        let broker = InMemoryBroker::new(4);
        let stop = AtomicBool::new(false);
        let patience = Duration::from_secs(60);
        std::thread::scope(|scope| {
            let coordinator = scope.spawn(|| {
                let mut until = |_: &Book| stop.load(Ordering::Relaxed);
                coordinate(&broker, &book, &mut until)
            });
            // Should an assertion fail, the coordinator still stops, and with it the scope.
            let _stop = StopOnDrop(&stop);
            let job = fixtures::announcement("j", 6 * 1024, 1024, now_ms());
            broker.announce(&job).unwrap();
            for index in 0..6 {
                let values = (0..1024).map(|k| (index * 1024 + k) as f64).collect();
                let result = fixtures::result(index, 1024, values);
                broker.publish_results("j", vec![result]).unwrap();
            }
            // The results are held, neither recorded nor counted, and the coordinator waits
            // for room instead of stopping.
            eventually("the history to refuse the results", patience, || {
                book.lock().unwrap().write_failure().map(str::to_string)
            });
            let counted = |book: &Book| book.running("j").map(|j| j.progress().scenarios);
            assert_eq!(counted(&book.lock().unwrap()), Some(0));
            assert!(
                !coordinator.is_finished(),
                "a full disk stopped the coordinator"
            );
            book.lock().unwrap().store_mut().set_room(None).unwrap();
            eventually("the job to be recorded and complete", patience, || {
                let book = book.lock().unwrap();
                let ended = book.ended("j")?;
                (ended.state == JobState::Completed).then_some(())
            });
            assert_eq!(
                book.lock().unwrap().ended("j").unwrap().summary.scenarios,
                6 * 1024,
                "every batch counted once"
            );
            assert_eq!(book.lock().unwrap().write_failure(), None);
            stop.store(true, Ordering::Relaxed);
            coordinator.join().unwrap().unwrap();
            assert_eq!(broker.waiting(), 0);
        });
    }
}
