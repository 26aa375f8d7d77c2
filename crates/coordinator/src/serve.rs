//! The long-running coordinator's loop: takes what the broker brings, records it, then
//! acknowledges it.

use crate::book::Book;
use crate::store::StoreError;
use mcp_broker::{BrokerError, Incoming, ServeLink};
use mcp_protocol::{JobId, ResultBatch};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the loop waits for a first message before it checks its stop flag.
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs until `stop` is set or the link fails. Job announcements and result batches are
/// acknowledged only once the book has recorded them (results in transactions of up to
/// [`RECORD_AT_MOST`]), so a coordinator killed at any moment loses nothing: what it had not
/// recorded is redelivered, and what it recorded twice is counted once.
pub fn serve(
    link: &dyn ServeLink,
    book: &Mutex<Book>,
    stop: &AtomicBool,
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
    while !stop.load(Ordering::Relaxed) {
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
