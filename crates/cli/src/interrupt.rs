//! Ctrl-C (SIGINT) and SIGTERM during an embedded `mcp submit`: the first stops the job the way
//! the dashboard's cancel does, so that the run ends with the summary of what finished; the
//! second quits at once, with [`EXIT_CANCELLED`].

use crate::commands::EXIT_CANCELLED;
use anyhow::Context;
use mcp_broker::ControlLink;
use mcp_coordinator::Book;
use mcp_protocol::now_ms;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the watcher looks at the flag the signal handler sets.
const POLL: Duration = Duration::from_millis(20);

/// The signals that stop a run, once caught.
pub(crate) struct Interrupt {
    caught: Arc<AtomicBool>,
}

impl Interrupt {
    /// Catches SIGINT and SIGTERM from now on, for the rest of the process: the first sets a
    /// flag, the next (of either) exits the process at once with [`EXIT_CANCELLED`].
    pub(crate) fn catch() -> anyhow::Result<Interrupt> {
        let caught = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // Registered first, so that it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                i32::from(EXIT_CANCELLED),
                caught.clone(),
            )
            .context("could not install the signal handler")?;
            signal_hook::flag::register(signal, caught.clone())
                .context("could not install the signal handler")?;
        }
        Ok(Interrupt { caught })
    }

    /// Runs `run` while a watcher thread cancels job `job` in `book` and through `controller`
    /// when a signal comes (what the dashboard's cancel does); `run` then ends with the
    /// summary of the batches counted so far.
    pub(crate) fn cancelling<T>(
        &self,
        job: &str,
        book: Arc<Mutex<Book>>,
        controller: Arc<dyn ControlLink>,
        run: impl FnOnce() -> T,
    ) -> T {
        let finished = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    if self.caught.load(Ordering::Relaxed) {
                        eprintln!(
                            "mcp submit: stopping; the summary will cover the scenarios \
                             evaluated so far (Ctrl-C again quits at once)"
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
                        return;
                    }
                    std::thread::sleep(POLL);
                }
            });
            let result = run();
            finished.store(true, Ordering::Relaxed);
            result
        })
    }
}
