//! CSV exports: a header row of the column names, then one record per row; a missing value is
//! an empty cell, a number is written in the shortest form that reads back to the same bits.

use crate::{Cells, ExportError, Table};

/// `table` as CSV.
pub(crate) fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(table.columns.iter().map(|c| c.name.as_str()))?;
    let mut record: Vec<String> = Vec::with_capacity(table.columns.len());
    for i in 0..table.rows() {
        record.clear();
        record.extend(table.columns.iter().map(|c| match &c.cells {
            Cells::Real(v) => v[i].map(real).unwrap_or_default(),
            Cells::Count(v) => v[i].map(|n| n.to_string()).unwrap_or_default(),
            Cells::Text(v) => v[i].clone().unwrap_or_default(),
        }));
        out.write_record(&record)?;
    }
    out.into_inner()
        .map_err(|e| ExportError(format!("csv: {}", e.error())))
}

/// `x` in the shortest decimal form that reads back to the same bits (`1e300`, `0.1`), or
/// `NaN`, `inf`, `-inf`, which Rust, Python and spreadsheets read.
pub fn real(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        serde_json::Number::from_f64(x)
            .expect("a finite number")
            .to_string()
    }
}
