//! The coordinator role: follows jobs from their announcement to their summary, counting every
//! result batch exactly once, and keeps the job history.
//!
//! One [`coordinate`] loop, written against [`CoordinatorLink`](mcp_broker::CoordinatorLink),
//! serves every coordinator: `mcp serve` over the installation's queues, `mcp submit --wait`
//! ([`follow`]) over one job's private queues, and an embedded run over the in-memory broker.
//! It records each message in the [`Book`] before it acknowledges it. The book holds every
//! running [`Job`] (whose [`Aggregator`] merges moments in batch order and keeps values for exact
//! percentiles, so the summary is bit-identical for any number of consumers and any arrival
//! order, and judges a spec's `[stop]` rule on the contiguous prefix of batches, so a job
//! stops after the same batch in every run), the fleet's heartbeats ([`Roster`]) and the history ([`Store`], SQLite). It knows no
//! particular transport, no Wasm and no HTTP: what the API answers is built from these reads by
//! `mcp-server`.

mod aggregator;
mod book;
mod checkpoint;
pub mod consumers;
pub mod job;
mod kept;
mod live;
mod serve;
mod stopping;
mod store;

pub use aggregator::{Added, Aggregator, Progress};
pub use book::{Book, Current, JobEntry, Totals, Unrecorded};
pub use checkpoint::{CheckpointError, Resume};
pub use consumers::{LOST_AFTER, Roster, SeenConsumer, SeenState};
pub use job::{EndCause, Ended, Job, JobState};
pub use live::{Live, LiveOutputView, LiveView, TimeHistogram};
pub use serve::{RECORD_AT_MOST, ServeError, coordinate, coordinate_reconnecting, follow};
pub use store::{HistoryReader, JobRecord, Store, StoreError, StoreResult};
