//! What `GET /api/events` sends: a `snapshot` event (the whole live state as JSON) whenever a
//! new one was built, every [`SNAPSHOT_EVERY`]. Snapshots are built once per interval whatever
//! the number of browsers, and each stream sends only the latest: a slow browser skips
//! snapshots, it never slows the job.

use crate::Api;
use crate::handlers::ApiError;
use crate::views::{ConsumerView, JobBrief, JobView, QueueView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use mcp_coordinator::{Book, Current, JobRecord, Live, LiveView, StoreResult};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How often live snapshots are built.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// Jobs a snapshot lists.
pub(crate) const SNAPSHOT_JOBS: usize = 20;

/// The job a live view follows, with its live statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentJob {
    /// The job (its summary once it ended).
    #[serde(flatten)]
    pub job: JobView,
    /// Running statistics per output, and time per scenario.
    pub live: LiveView,
}

/// Everything a live view shows, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The running job, else the one that ended last.
    pub job: Option<CurrentJob>,
    /// The consumers.
    pub consumers: Vec<ConsumerView>,
    /// The queues' depths.
    pub queues: Vec<QueueView>,
    /// The latest jobs, newest first.
    pub jobs: Vec<JobBrief>,
    /// Why the job history cannot be written, while it cannot (a full disk, say).
    pub history_failure: Option<String>,
}

impl Snapshot {
    /// What a live view shows now, reading the job list through the book; adds a point to the
    /// current job's convergence series.
    pub fn of(book: &mut Book, now: Instant, now_ms: u64) -> StoreResult<Snapshot> {
        let jobs = book
            .jobs(SNAPSHOT_JOBS)?
            .into_iter()
            .map(|entry| JobBrief::from(&JobView::of(entry, now_ms)))
            .collect();
        Snapshot::with_jobs(book, jobs, now, now_ms)
    }

    /// What a live view shows now, with the job list read elsewhere.
    pub fn with_jobs(
        book: &mut Book,
        jobs: Vec<JobBrief>,
        now: Instant,
        now_ms: u64,
    ) -> StoreResult<Snapshot> {
        let job = book.current().map(|current| match current {
            Current::Running(job) => CurrentJob {
                job: JobView::running(job, now_ms),
                live: live_view(job.live(), &job.announcement().info.outputs, None),
            },
            Current::Ended(ended) => CurrentJob {
                job: JobView::recorded(JobRecord::from(ended)),
                live: live_view(
                    ended.live.as_ref(),
                    &ended.announcement.info.outputs,
                    Some(&ended.summary),
                ),
            },
        });
        Ok(Snapshot {
            at_ms: now_ms,
            job,
            consumers: book.consumers(now).into_iter().map(Into::into).collect(),
            queues: book.queues().iter().map(Into::into).collect(),
            jobs,
            history_failure: book.write_failure().map(str::to_string),
        })
    }
}

/// The live statistics' view; empty ones for a job whose books keep none.
fn live_view(
    live: Option<&Live>,
    outputs: &[String],
    summary: Option<&mcp_protocol::JobSummary>,
) -> LiveView {
    match live {
        Some(live) => live.view(summary),
        None => Live::new(outputs).view(summary),
    }
}

/// `GET /api/events`: the latest snapshot at once, then each new one; 503 when the server
/// already keeps its most streams open.
pub(crate) async fn events(
    State(api): State<Api>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError>
{
    let Ok(permit) = api.streams.clone().try_acquire_owned() else {
        let message = format!(
            "this server keeps {} event streams open already; close a dashboard or ask the \
             operator to raise --max-streams",
            api.max_streams
        );
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message));
    };
    let receiver = api.snapshots.subscribe();
    let state = (receiver, true, permit);
    let stream = futures_util::stream::unfold(state, |(mut rx, first, permit)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let (seq, json) = rx.borrow_and_update().clone();
        let mut event = Event::default()
            .event("snapshot")
            .id(seq.to_string())
            .data(&*json);
        if first {
            // A dropped stream is reopened by the browser after a second.
            event = event.retry(Duration::from_secs(1));
        }
        // The permit goes with the stream: it is given back when the browser goes.
        Some((Ok(event), (rx, false, permit)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
