//! The `kept` table: the scenarios an ended job keeps whole (`simulation.keep`), one row per
//! scenario in the history's own encoding, written with the job's end in one transaction and
//! read back in scenario order for export.

use super::{HistoryReader, Store, StoreResult, from_history, on, to_history};
use mcp_protocol::KeptScenario;
use rusqlite::{Connection, params};

/// Stores `kept` as job `job`'s, inside the caller's transaction.
pub(super) fn insert(db: &Connection, job: &str, kept: &[KeptScenario]) -> rusqlite::Result<()> {
    let mut insert =
        db.prepare_cached("INSERT OR REPLACE INTO kept (job, scenario, body) VALUES (?1, ?2, ?3)")?;
    for k in kept {
        insert.execute(params![job, k.scenario as i64, to_history(k)])?;
    }
    Ok(())
}

/// The kept scenarios of `job`, in scenario order; a row that cannot be read is reported and
/// skipped.
fn read(db: &Connection, path: &str, job: &str) -> StoreResult<Vec<KeptScenario>> {
    let fail = on(path);
    let mut query = db
        .prepare_cached("SELECT body FROM kept WHERE job = ?1 ORDER BY scenario")
        .map_err(&fail)?;
    let rows = query
        .query_map([job], |r| r.get::<_, Vec<u8>>(0))
        .map_err(&fail)?;
    let mut out = Vec::new();
    for body in rows {
        match from_history::<KeptScenario>(&body.map_err(&fail)?) {
            Ok(k) => out.push(k),
            Err(e) => tracing::error!(job, "{path}: a kept scenario cannot be read: {e}"),
        }
    }
    Ok(out)
}

impl Store {
    /// The scenarios `job` kept whole, in scenario order (none for a job that kept none, or
    /// that is unknown).
    pub fn kept(&self, job: &str) -> StoreResult<Vec<KeptScenario>> {
        read(&self.db, &self.path, job)
    }
}

impl HistoryReader {
    /// The scenarios `job` kept whole, in scenario order.
    pub fn kept(&self, job: &str) -> StoreResult<Vec<KeptScenario>> {
        read(&self.db.lock().expect("reader lock"), &self.path, job)
    }
}
