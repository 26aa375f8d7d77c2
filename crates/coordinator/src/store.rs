//! The job history on disk: an embedded SQLite database with a schema of its own.
//!
//! Tables: `jobs` (one row per job: its announcement, state, times and, once it ended, its
//! summary), `results` (the result batches of running jobs, keyed by job and batch index, so
//! a batch delivered twice is stored once, with when it arrived) and `kept` (the scenarios an
//! ended job's spec keeps whole, keyed by job and scenario, see `store/kept.rs`). The history's format is its
//! own, versioned by `user_version` ([`SCHEMA_VERSION`]) and independent of the wire protocol's
//! version: announcements and result batches are stored as plain MessagePack of their fields,
//! summaries and failures as JSON. A history of an earlier schema is migrated when opened (see
//! `migrate`), in one transaction. A running job's batches are deleted when it ends:
//! the summary keeps what they said, and incremental auto-vacuum gives their pages back to the
//! file system. The database runs in WAL mode with `synchronous = FULL`, so a committed batch
//! survives a crash of the process and of the machine.

mod kept;

use crate::job::JobState;
use mcp_protocol::{FailureTally, JobAnnouncement, JobSummary, KeptScenario, ResultBatch};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the schema below. Older versions are migrated when opened; a newer one (from a
/// newer mcp) is refused with the fix.
///
/// 1. The first: announcements and result batches in the wire protocol's versioned envelope.
/// 2. Announcements and result batches in the history's own encoding (plain MessagePack);
///    `results.received_at_ms`, so that results of a job nobody announced can expire.
/// 3. `kept`: the scenarios a job keeps whole (`simulation.keep`); a new table, so a history
///    of schema 2 only gains it.
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    announcement BLOB NOT NULL,
    state TEXT NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    message TEXT,
    summary TEXT,
    failures TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (submitted_at_ms);
CREATE TABLE IF NOT EXISTS results (
    job TEXT NOT NULL,
    batch INTEGER NOT NULL,
    body BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, batch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kept (
    job TEXT NOT NULL,
    scenario INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (job, scenario)
) WITHOUT ROWID;
";

/// How the history names `state`.
fn state_name(state: JobState) -> &'static str {
    state.as_str()
}

/// The state the history names `s`.
fn parse_state(s: &str) -> rusqlite::Result<JobState> {
    Ok(match s {
        "running" => JobState::Running,
        "completed" => JobState::Completed,
        "superseded" => JobState::Superseded,
        "timed_out" => JobState::TimedOut,
        "failed" => JobState::Failed,
        "cancelled" => JobState::Cancelled,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown job state `{other}`").into(),
            ));
        }
    })
}

/// A job as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// What the producer announced.
    pub announcement: JobAnnouncement,
    /// Where it stands.
    pub state: JobState,
    /// When it ended, in milliseconds since the Unix epoch.
    pub ended_at_ms: Option<u64>,
    /// Why it failed, when it did.
    pub message: Option<String>,
    /// Its summary, once it ended.
    pub summary: Option<JobSummary>,
    /// Its failures per kind, once it ended.
    pub failures: Option<FailureTally>,
    /// How many scenarios it keeps whole (`simulation.keep`), once it ended.
    pub kept: u64,
}

/// The SQLite job history.
#[derive(Debug)]
pub struct Store {
    pub(crate) db: Connection,
    pub(crate) path: String,
    /// Whether running jobs' result batches are stored, to be counted again after a restart.
    keep_results: bool,
    /// Whether a job that ends before completing keeps its result batches, so that it can be
    /// resumed (an embedded run's `--checkpoint`, see `checkpoint.rs`).
    pub(crate) resumable: bool,
}

/// Turns a database error into a [`StoreError`] naming the file.
fn on(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError {
        path: path.to_string(),
        transient: is_transient(&e),
        message: e.to_string(),
    }
}

/// Whether SQLite failed for a reason that passes: a full disk, an I/O error, a lock held by
/// another process. Anything else (a damaged file, a schema of another mcp) does not.
fn is_transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::OutOfMemory
        )
    )
}

/// A failure of the job history, with the database's path.
pub type StoreResult<T> = Result<T, StoreError>;

/// A failure of the job history.
#[derive(Debug, thiserror::Error)]
#[error("job history {path}: {message}")]
pub struct StoreError {
    /// The database file.
    pub path: String,
    /// What went wrong.
    pub message: String,
    /// Whether it may pass (a full disk, say), so that writing again later can succeed.
    pub transient: bool,
}

/// `PRAGMA auto_vacuum` value of incremental mode.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

impl Store {
    /// Opens (creating when missing) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let err = |message: String| StoreError {
            path: path.display().to_string(),
            message,
            transient: false,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("could not create {}: {e}", dir.display())))?;
        }
        let db = Connection::open(path).map_err(|e| {
            err(format!(
                "could not open it ({e}); choose another file with --db"
            ))
        })?;
        let store = Store {
            db,
            path: path.display().to_string(),
            keep_results: true,
            resumable: false,
        };
        store.init().map_err(|e| err(e.to_string()))?;
        Ok(store)
    }

    /// A history in memory, for a coordinator that follows jobs of its own process or one job
    /// to its end: nothing survives the process, so no result batch is stored (a restart has
    /// nothing to pick up).
    pub fn in_memory() -> StoreResult<Store> {
        let err = |e: rusqlite::Error| StoreError {
            path: ":memory:".to_string(),
            message: e.to_string(),
            transient: false,
        };
        let store = Store {
            db: Connection::open_in_memory().map_err(err)?,
            path: ":memory:".to_string(),
            keep_results: false,
            resumable: false,
        };
        store.init().map_err(err)?;
        Ok(store)
    }

    fn init(&self) -> rusqlite::Result<()> {
        // Incremental auto-vacuum, so that the pages of an ended job's result batches go back
        // to the file system (see `end_job`). A database made without it is converted once,
        // which rewrites it: quick, since between jobs it holds little but the history.
        // The version first: a file of another version is refused before anything rewrites it.
        let version: i64 = self
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "the database has schema version {version}, made by a newer mcp than this one \
                 (version {SCHEMA_VERSION}); run that mcp, or give --db a new file"
            )));
        }
        if self.auto_vacuum()? != AUTO_VACUUM_INCREMENTAL {
            self.db
                .pragma_update(None, "auto_vacuum", AUTO_VACUUM_INCREMENTAL)?;
            self.db.execute_batch("VACUUM")?;
        }
        self.db.pragma_update(None, "journal_mode", "WAL")?;
        self.db.pragma_update(None, "synchronous", "FULL")?;
        if version == 1 {
            migrate_from_1(&self.db, &self.path)?;
        }
        self.db.execute_batch(SCHEMA)?;
        self.db
            .pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(())
    }

    fn auto_vacuum(&self) -> rusqlite::Result<i64> {
        self.db
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
    }

    /// Lets the database grow by at most `pages` more pages, as a disk with that much room
    /// would (`None`: no cap): how the tests make the disk fill up and free again.
    pub fn set_room(&mut self, pages: Option<u64>) -> StoreResult<()> {
        let now: i64 = self
            .db
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .map_err(|e| self.fail(e))?;
        let most = pages.map_or(4_294_967_294, |p| now + p as i64);
        self.db
            .pragma_update(None, "max_page_count", most)
            .map_err(|e| self.fail(e))
    }

    pub(crate) fn fail(&self, e: rusqlite::Error) -> StoreError {
        on(&self.path)(e)
    }

    /// Records a new job as running; a job recorded before is left as it is.
    pub fn insert_job(&mut self, job: &JobAnnouncement, state: JobState) -> StoreResult<()> {
        self.db
            .execute(
                "INSERT OR IGNORE INTO jobs (id, announcement, state, submitted_at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    job.job,
                    to_history(job),
                    state_name(state),
                    job.submitted_at_ms as i64
                ],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Stores result batches in one transaction; a batch stored before is not stored again.
    pub fn insert_results<'a>(
        &mut self,
        results: impl IntoIterator<Item = (&'a str, &'a ResultBatch)>,
        now_ms: u64,
    ) -> StoreResult<()> {
        if !self.keep_results {
            return Ok(());
        }
        let fail = on(&self.path);
        let tx = self.db.transaction().map_err(&fail)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO results (job, batch, body, received_at_ms) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&fail)?;
            for (job, result) in results {
                let row = params![
                    job,
                    result.batch.index as i64,
                    to_history(result),
                    now_ms as i64
                ];
                insert.execute(row).map_err(&fail)?;
            }
        }
        tx.commit().map_err(&fail)
    }

    /// The stored result batches of `job`, in batch order.
    pub fn results(&self, job: &str) -> StoreResult<Vec<ResultBatch>> {
        let mut query = self
            .db
            .prepare("SELECT body FROM results WHERE job = ?1 ORDER BY batch")
            .map_err(|e| self.fail(e))?;
        let rows = query
            .query_map([job], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        let mut unreadable = 0;
        for body in rows {
            let body = body.map_err(|e| self.fail(e))?;
            match from_history::<ResultBatch>(&body) {
                Ok(result) => out.push(result),
                Err(e) => {
                    unreadable += 1;
                    tracing::error!(job, "a recorded result batch cannot be read: {e}");
                }
            }
        }
        if unreadable > 0 {
            // Acknowledged long ago: the broker will not send them again. Said loudly, once.
            tracing::error!(
                job,
                "{unreadable} recorded result batches cannot be read; the job's summary will \
                 lack them ({})",
                self.path
            );
        }
        Ok(out)
    }

    /// The jobs with recorded results but no announcement, and when the first of their results
    /// arrived (read once, at start; the book keeps track afterwards).
    pub fn unannounced(&self) -> StoreResult<Vec<(String, u64)>> {
        let mut query = self
            .db
            .prepare(
                "SELECT job, MIN(received_at_ms) FROM results \
                 WHERE job NOT IN (SELECT id FROM jobs) GROUP BY job",
            )
            .map_err(|e| self.fail(e))?;
        let rows = query
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Deletes the recorded results of `job`; how many there were.
    pub fn delete_results(&mut self, job: &str) -> StoreResult<usize> {
        self.db
            .execute("DELETE FROM results WHERE job = ?1", [job])
            .map_err(|e| self.fail(e))
    }

    /// Ends a job: its state, summary, failures and kept scenarios replace its stored batches
    /// (which a resumable history keeps for a job that did not complete).
    #[allow(clippy::too_many_arguments)]
    pub fn end_job(
        &mut self,
        job: &str,
        state: JobState,
        ended_at_ms: u64,
        message: Option<&str>,
        summary: &JobSummary,
        failures: &FailureTally,
        kept: &[KeptScenario],
    ) -> StoreResult<()> {
        let summary = serde_json::to_string(summary).expect("summaries serialise");
        let failures = serde_json::to_string(failures).expect("tallies serialise");
        let fail = on(&self.path);
        let tx = self.db.transaction().map_err(&fail)?;
        tx.execute(
            "UPDATE jobs SET state = ?2, ended_at_ms = ?3, message = ?4, summary = ?5, \
             failures = ?6 WHERE id = ?1",
            params![
                job,
                state_name(state),
                ended_at_ms as i64,
                message,
                summary,
                failures
            ],
        )
        .and_then(|_| {
            if self.resumable && state != JobState::Completed {
                Ok(0)
            } else {
                tx.execute("DELETE FROM results WHERE job = ?1", [job])
            }
        })
        .and_then(|_| kept::insert(&tx, job, kept))
        .map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        // Give the batches' pages back, and empty the write-ahead log that saw them go: a
        // 100M-scenario job leaves hundreds of megabytes otherwise. The job has ended either
        // way, so a failure here is only worth a warning.
        if let Err(e) = self.reclaim() {
            tracing::warn!(path = %self.path, "could not give an ended job's space back: {e}");
        }
        Ok(())
    }

    fn reclaim(&self) -> rusqlite::Result<()> {
        // The vacuum frees a page per step, so it is stepped to the end.
        let mut vacuum = self.db.prepare("PRAGMA incremental_vacuum")?;
        let mut steps = vacuum.query([])?;
        while steps.next()?.is_some() {}
        self.db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// One job.
    pub fn job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        read_job(&self.db, &self.path, id)
    }

    /// The `limit` most recently submitted jobs, newest first.
    pub fn jobs(&self, limit: usize) -> StoreResult<Vec<JobRecord>> {
        read_jobs(&self.db, &self.path, limit)
    }

    /// How many jobs are in each state.
    pub fn jobs_by_state(&self) -> StoreResult<BTreeMap<JobState, u64>> {
        count_by_state(&self.db, &self.path)
    }

    /// The jobs still running (after a restart: those to pick up again).
    pub fn running(&self) -> StoreResult<Vec<JobRecord>> {
        let sql = format!("{COLUMNS} WHERE state = 'running' ORDER BY submitted_at_ms");
        query(&self.db, &self.path, &sql, [])
    }

    /// A reader of the history on a connection of its own, which reads while this store
    /// writes (the database is in WAL mode): what the API lists jobs with, so that its reads
    /// never hold up the recording of results. `None` for a history in memory.
    pub fn reader(&self) -> StoreResult<Option<HistoryReader>> {
        if !self.keep_results {
            return Ok(None);
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Connection::open_with_flags(&self.path, flags).map_err(|e| self.fail(e))?;
        Ok(Some(HistoryReader {
            db: std::sync::Mutex::new(db),
            path: self.path.clone(),
        }))
    }
}

/// Reads the history on a connection of its own (see [`Store::reader`]).
#[derive(Debug)]
pub struct HistoryReader {
    db: std::sync::Mutex<Connection>,
    path: String,
}

impl HistoryReader {
    /// One job, as the history records it.
    pub fn job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        read_job(&self.db.lock().expect("reader lock"), &self.path, id)
    }

    /// The `limit` most recently submitted jobs, newest first.
    pub fn jobs(&self, limit: usize) -> StoreResult<Vec<JobRecord>> {
        read_jobs(&self.db.lock().expect("reader lock"), &self.path, limit)
    }

    /// How many jobs are in each state.
    pub fn jobs_by_state(&self) -> StoreResult<BTreeMap<JobState, u64>> {
        count_by_state(&self.db.lock().expect("reader lock"), &self.path)
    }
}

/// How many jobs are in each state; a state this release does not know is skipped.
fn count_by_state(db: &Connection, path: &str) -> StoreResult<BTreeMap<JobState, u64>> {
    let fail = on(path);
    let mut statement = db
        .prepare_cached("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        .map_err(&fail)?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })
        .map_err(&fail)?;
    let mut counts = BTreeMap::new();
    for row in rows {
        let (state, n) = row.map_err(&fail)?;
        if let Ok(state) = parse_state(&state) {
            counts.insert(state, n);
        }
    }
    Ok(counts)
}

const COLUMNS: &str = "SELECT id, announcement, state, ended_at_ms, message, summary, failures, \
     (SELECT COUNT(*) FROM kept WHERE kept.job = jobs.id) FROM jobs";

fn read_job(db: &Connection, path: &str, id: &str) -> StoreResult<Option<JobRecord>> {
    let sql = format!("{COLUMNS} WHERE id = ?1");
    Ok(query(db, path, &sql, [id])?.pop())
}

fn read_jobs(db: &Connection, path: &str, limit: usize) -> StoreResult<Vec<JobRecord>> {
    let sql = format!("{COLUMNS} ORDER BY submitted_at_ms DESC, id DESC LIMIT {limit}");
    query(db, path, &sql, [])
}

/// The job records `sql` selects. A row that cannot be read (written by another program, or
/// damaged) is reported and skipped: it does not hide the rest of the history.
fn query<P: rusqlite::Params>(
    db: &Connection,
    path: &str,
    sql: &str,
    params: P,
) -> StoreResult<Vec<JobRecord>> {
    let fail = on(path);
    let mut statement = db.prepare_cached(sql).map_err(&fail)?;
    let rows = statement.query_map(params, |row| {
        let id: String = row.get(0).unwrap_or_else(|_| "?".to_string());
        Ok((id, record(row)))
    });
    let mut out = Vec::new();
    for row in rows.map_err(&fail)? {
        match row.map_err(&fail)? {
            (_, Ok(record)) => out.push(record),
            (id, Err(e)) => {
                tracing::warn!(job = %id, "{path}: skipped a job the history cannot read: {e}")
            }
        }
    }
    Ok(out)
}

/// A value in the history's own encoding: MessagePack of its fields by name, without the wire
/// protocol's envelope (whose version is the protocol's, not the history's).
pub(crate) fn to_history<T: serde::Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("history values serialise")
}

fn from_history<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes)
        .map_err(|e| format!("not a value of history schema {SCHEMA_VERSION}: {e}"))
}

/// Schema 1 → 2: announcements and result batches from the wire protocol's envelope to the
/// history's own encoding; `received_at_ms` on results. A row that cannot be converted (made by
/// an mcp of another protocol version, or damaged) is reported and left as it is; reading it
/// later reports it again and skips it.
/// The protocol version whose encoding a schema-1 history holds (its announcements and result
/// batches have kept that encoding since: later versions changed only the messages around them).
const SCHEMA_1_PROTOCOL: u16 = 3;

fn migrate_from_1(db: &Connection, path: &str) -> rusqlite::Result<()> {
    let tx = db.unchecked_transaction()?;
    let columns: Vec<String> = tx
        .prepare("SELECT name FROM pragma_table_info('results')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !columns.iter().any(|c| c == "received_at_ms") {
        tx.execute_batch(
            "ALTER TABLE results ADD COLUMN received_at_ms INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    let now = mcp_protocol::now_ms() as i64;
    tx.execute("UPDATE results SET received_at_ms = ?1", [now])?;
    let mut skipped = 0usize;
    let jobs: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, announcement FROM jobs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, body) in jobs {
        match mcp_protocol::decode_since::<JobAnnouncement>(&body, SCHEMA_1_PROTOCOL) {
            Ok(a) => {
                tx.execute(
                    "UPDATE jobs SET announcement = ?2 WHERE id = ?1",
                    params![id, to_history(&a)],
                )?;
            }
            Err(e) => {
                skipped += 1;
                tracing::warn!(job = %id, "{path}: a job's announcement cannot be converted: {e}");
            }
        }
    }
    let results: Vec<(String, i64, Vec<u8>)> = tx
        .prepare("SELECT job, batch, body FROM results")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (job, batch, body) in results {
        match mcp_protocol::decode_since::<ResultBatch>(&body, SCHEMA_1_PROTOCOL) {
            Ok(r) => {
                tx.execute(
                    "UPDATE results SET body = ?3 WHERE job = ?1 AND batch = ?2",
                    params![job, batch, to_history(&r)],
                )?;
            }
            Err(e) => {
                skipped += 1;
                tracing::error!(job = %job, batch, "{path}: a recorded result batch cannot be converted: {e}");
            }
        }
    }
    tx.pragma_update(None, "user_version", 2)?;
    tx.commit()?;
    tracing::info!(path, skipped, "history converted from schema 1 to 2");
    Ok(())
}

/// Reads one row of `COLUMNS`.
fn record(row: &rusqlite::Row<'_>) -> Result<JobRecord, String> {
    let announcement: Vec<u8> = row.get(1).map_err(|e| e.to_string())?;
    let announcement = from_history::<JobAnnouncement>(&announcement)
        .map_err(|e| format!("its announcement: {e}"))?;
    let state = parse_state(&row.get::<_, String>(2).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let text =
        |i: usize| -> Result<Option<String>, String> { row.get(i).map_err(|e| e.to_string()) };
    Ok(JobRecord {
        announcement,
        state,
        ended_at_ms: row
            .get::<_, Option<i64>>(3)
            .map_err(|e| e.to_string())?
            .map(|v| v as u64),
        message: text(4)?,
        summary: text(5)?.and_then(|s| serde_json::from_str(&s).ok()),
        failures: text(6)?.and_then(|s| serde_json::from_str(&s).ok()),
        kept: row.get::<_, i64>(7).map_err(|e| e.to_string())? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_made_without_auto_vacuum_is_converted_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            // As mcp made it before: no auto-vacuum, in WAL mode, with a job in it.
            let db = Connection::open(&path).unwrap();
            db.pragma_update(None, "journal_mode", "WAL").unwrap();
            db.execute_batch(SCHEMA).unwrap();
            db.pragma_update(None, "user_version", SCHEMA_VERSION)
                .unwrap();
            db.execute(
                "INSERT INTO jobs (id, announcement, state, submitted_at_ms) \
                 VALUES ('j', x'00', 'completed', 1)",
                [],
            )
            .unwrap();
            assert_eq!(
                db.pragma_query_value(None, "auto_vacuum", |r| r.get::<_, i64>(0))
                    .unwrap(),
                0
            );
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.auto_vacuum().unwrap(), AUTO_VACUUM_INCREMENTAL);
        let jobs: i64 = store
            .db
            .query_row("SELECT count(*) FROM jobs WHERE id = 'j'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(jobs, 1);
    }
}
