//! The coordinator's loop: takes what the link brings, records it in the [`Book`], then
//! acknowledges it. One loop for every coordinator: `mcp serve` over the installation's queues,
//! `mcp submit --wait` over one job's private queues, and an embedded run over the in-memory
//! broker.

use crate::book::Book;
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
/// counted once.
pub fn coordinate(
    link: &dyn CoordinatorLink,
    book: &Mutex<Book>,
    until: &mut dyn FnMut(&Book) -> bool,
) -> Result<(), ServeError> {
    let lock = || book.lock().expect("book lock");
    let mut results: Vec<(JobId, ResultBatch)> = Vec::new();
    let mut tags: Vec<u64> = Vec::new();
    let record = |results: &mut Vec<(JobId, ResultBatch)>, tags: &mut Vec<u64>| {
        if results.is_empty() {
            return Ok::<_, ServeError>(());
        }
        lock().record(std::mem::take(results), now_ms())?;
        for tag in tags.drain(..) {
            link.ack(tag)?;
        }
        Ok(())
    };
    let mut last_tick: Option<Instant> = None;
    while !until(&lock()) {
        let started = Instant::now();
        let mut wait = POLL;
        while let Some(message) = link.next(wait)? {
            match message {
                Incoming::Job(d) => {
                    // Results received before the announcement belong to older jobs.
                    record(&mut results, &mut tags)?;
                    lock().announce(d.body, now_ms())?;
                    link.ack(d.tag)?;
                }
                Incoming::Result(d) => {
                    results.push((d.job, d.body));
                    tags.push(d.tag);
                }
                Incoming::Consumer(status) => {
                    lock().consumer_status(status, Instant::now(), now_ms())?;
                }
                Incoming::Producer(status) => lock().producer_status(status),
            }
            if results.len() >= RECORD_AT_MOST || started.elapsed() >= RECORD_WITHIN {
                break;
            }
            wait = Duration::ZERO;
        }
        record(&mut results, &mut tags)?;
        if last_tick.is_none_or(|t| t.elapsed() >= TICK) {
            last_tick = Some(Instant::now());
            let depths = link.queue_depths()?;
            let mut book = lock();
            book.set_queues(depths);
            book.tick(now_ms())?;
        }
    }
    Ok(())
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
        match coordinate(&*link, book, until) {
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
