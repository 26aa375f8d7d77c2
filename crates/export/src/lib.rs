//! A job's results as files people open elsewhere: the summary (one row per output) and the
//! scenarios a spec keeps whole (one row per scenario: its inputs, its outputs or failure), as
//! CSV, JSON or Parquet, and Parquet read back.
//!
//! Both become a [`Table`] of named, typed, nullable columns first ([`summary_table`],
//! [`scenario_table`]); each format then writes the same table, so CSV and Parquet carry the
//! same columns under the same names. The summary's JSON is the summary itself (what `mcp
//! submit --json` prints), which also carries what has no column (histograms, sensitivity).
//! Parquet is written with the `parquet` crate's own column writers, without Arrow (one
//! dependency tree less to build for a few columns of numbers), uncompressed, one row group, every
//! column optional; job-level facts (model, seed, provenance) go in its key-value metadata.
//!
//! This crate does no I/O (bytes out, bytes in) and is the only one that knows the CSV and
//! Parquet formats of exports.

mod csv_format;
mod json_format;
mod parquet_format;
mod table;

pub use parquet_format::read_parquet;
pub use table::{Cells, Column, Table, job_metadata, scenario_table, summary_table};

use mcp_protocol::{JobSummary, KeptScenario, ModelInfo};

/// A file format of exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON: the summary as it is, or an array of one object per scenario.
    Json,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// Every format, in the order messages list them.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Json, Format::Parquet];

    /// The format named `name` (`csv`, `json`, `parquet`); the error lists the names.
    pub fn named(name: &str) -> Result<Format, ExportError> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == name.to_ascii_lowercase())
            .ok_or_else(|| {
                ExportError(format!("unknown format `{name}`; use csv, json or parquet"))
            })
    }

    /// The format a file name's extension names, if it names one.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::named(ext).ok()
    }

    /// Its name, which is also its files' extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }

    /// The media type an HTTP answer gives it.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// Whether it is binary (not for a terminal).
    pub fn is_binary(self) -> bool {
        self == Format::Parquet
    }
}

/// An export that could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

impl From<parquet::errors::ParquetError> for ExportError {
    fn from(e: parquet::errors::ParquetError) -> ExportError {
        ExportError(format!("parquet: {e}"))
    }
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> ExportError {
        ExportError(format!("csv: {e}"))
    }
}

/// The summary of a job in `format`.
pub fn summary(summary: &JobSummary, format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Json => Ok(json_format::pretty(summary)),
        _ => write(&summary_table(summary), format),
    }
}

/// A job's kept scenarios in `format`: `info` names their columns, `metadata` (see
/// [`job_metadata`]) goes with them in Parquet.
pub fn scenarios(
    info: &ModelInfo,
    kept: &[KeptScenario],
    metadata: Vec<(String, String)>,
    format: Format,
) -> Result<Vec<u8>, ExportError> {
    let mut table = scenario_table(info, kept);
    table.metadata = metadata;
    write(&table, format)
}

/// `table` in `format`.
pub fn write(table: &Table, format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Csv => csv_format::write(table),
        Format::Json => Ok(json_format::rows(table)),
        Format::Parquet => parquet_format::write(table),
    }
}
