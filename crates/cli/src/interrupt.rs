//! Ctrl-C (SIGINT) and SIGTERM during an embedded `mcp submit`: the first stops the job the way
//! the dashboard's cancel does, so that the run ends with the summary of what finished; the
//! second quits at once, with [`EXIT_CANCELLED`].
//!
//! The signal handlers only record the signal (signal-hook's iterator); one thread takes them
//! in turn, so the first is always the one that cancels and the next always the one that quits,
//! even when both arrive at once on different threads.

use crate::commands::EXIT_CANCELLED;
use anyhow::Context;
use mcp_broker::ControlLink;
use mcp_coordinator::Book;
use mcp_protocol::now_ms;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::{Arc, Mutex};

/// Runs `run` (an embedded job's run) while a thread watches for SIGINT and SIGTERM: the first
/// cancels job `job` in `book` and through `controller`, as the dashboard's cancel does, and
/// `run` then ends with the summary of the batches counted so far; the second exits the
/// process at once with [`EXIT_CANCELLED`].
pub(crate) fn cancelling<T>(
    job: &str,
    book: Arc<Mutex<Book>>,
    controller: Arc<dyn ControlLink>,
    run: impl FnOnce() -> T,
) -> anyhow::Result<T> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).context("could not install the signal handler")?;
    let handle = signals.handle();
    Ok(std::thread::scope(|scope| {
        let watcher = handle.clone();
        scope.spawn(move || {
            let handle = watcher;
            let mut caught = 0;
            loop {
                // Every signal pending when the thread wakes: two at once (the second Ctrl-C
                // came before this thread could act on the first) quit without cancelling, so
                // the run cannot print its summary in between.
                let pending = signals.wait().count();
                if handle.is_closed() {
                    break;
                }
                if pending == 0 {
                    continue;
                }
                caught += pending;
                if caught >= 2 {
                    std::process::exit(i32::from(EXIT_CANCELLED));
                }
                eprintln!(
                    "mcp submit: stopping; the summary will cover the scenarios evaluated so \
                     far (Ctrl-C again quits at once)"
                );
                let cancelled = book.lock().expect("book lock").cancel(job, now_ms());
                match cancelled {
                    Ok(true) => {
                        if let Err(e) = controller.cancel(job) {
                            tracing::warn!("could not stop the workers: {e}");
                        }
                    }
                    // The job ended meanwhile: its summary is whole.
                    Ok(false) => {}
                    Err(e) => tracing::warn!("could not cancel the job: {e}"),
                }
            }
        });
        let result = run();
        handle.close();
        result
    }))
}
