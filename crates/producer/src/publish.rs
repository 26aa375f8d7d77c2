//! Publishing a job through a transport that may fail: the producer waits for it, connects
//! again, and resumes where it was, publishing again what may not have been stored.

use crate::{ProducerEnd, ProducerProgress, produce};
use mcp_broker::{BrokerError, ProducerLink, Reconnect};
use mcp_protocol::{JobAnnouncement, JobModel, now_ms};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A job id unique across submissions: milliseconds since the epoch, the process id and the
/// model digest's first hex digits.
pub fn new_job_id(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!(
        "{}-{}-{}",
        now_ms(),
        std::process::id(),
        &hex[..hex.len().min(8)]
    )
}

/// Announces `announcement`'s job, then publishes its model and batches, on links made by
/// `connect`. When a link fails, it waits with `reconnect`, connects again and resumes:
/// the batches the failed link had not confirmed are published again (the coordinator counts
/// each batch once). Returns only when the job is published or stopped, or the broker is
/// misconfigured.
pub fn publish(
    connect: &mut dyn FnMut() -> Result<Box<dyn ProducerLink>, BrokerError>,
    reconnect: &mut Reconnect<'_>,
    job: Arc<JobModel>,
    announcement: &JobAnnouncement,
    progress: &ProducerProgress,
) -> Result<ProducerEnd, BrokerError> {
    let mut link = reconnect.connect(&mut *connect)?;
    let mut announced = false;
    loop {
        let mut attempt = || {
            if !announced {
                // The coordinator learns of the job before its first result can reach it.
                link.announce(announcement)?;
                announced = true;
            }
            produce(&*link, job.clone(), progress)
        };
        match attempt() {
            Ok(end) => return Ok(end),
            Err(e @ BrokerError::Misconfigured(_)) => return Err(e),
            Err(e) => {
                let doing = if announced {
                    "publishing"
                } else {
                    "announcing the job"
                };
                reconnect.wait(doing, &e);
                // Runs may not have been stored, of up to `per_message` batches each.
                let back = link.unconfirmed_limit() * u64::from(progress.per_message());
                let next = progress.next_batch.load(Ordering::Relaxed);
                progress
                    .next_batch
                    .store(next.saturating_sub(back), Ordering::Relaxed);
                link = reconnect.connect(&mut *connect)?;
            }
        }
    }
}
