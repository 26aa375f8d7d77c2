//! One column of numbers out of CSV text (with a header row), read with the `csv` crate.
//! Blank cells are skipped; anything else that is not a finite number is an error naming the
//! file, the line and the column, and the fix.

use crate::FitError;
use csv::{ReaderBuilder, StringRecord, Trim};

/// A column's name and its numbers, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header of the column.
    pub name: String,
    /// Its non-blank cells.
    pub values: Vec<f64>,
}

/// Reads column `wanted` of the CSV `text` (from the file named `origin`, for messages); with
/// no `wanted`, the one column whose cells are all numbers or blank.
pub fn read_column(text: &[u8], origin: &str, wanted: Option<&str>) -> Result<Column, FitError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        .trim(Trim::All)
        .from_reader(text);
    let headers = reader.headers().map_err(|e| csv_error(origin, &e))?.clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(FitError(format!(
            "{origin}: no header row; the first line must name the columns, e.g. `loss`"
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(record.map_err(|e| csv_error(origin, &e))?);
    }
    let index = match wanted {
        Some(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
            FitError(format!(
                "{origin}: no column `{name}`; the columns are: {}",
                list(&headers)
            ))
        })?,
        None => only_numeric(&headers, &rows, origin)?,
    };
    let name = &headers[index];
    let mut values = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(v) = cell(row, index).map_err(|bad| {
            let line = row.position().map_or(0, |p| p.line());
            FitError(format!(
                "{origin}:{line}: column `{name}` (column {}): {bad}; write a number such as \
                 1234.5 (no units, thousands separators or decimal comma), or leave the cell \
                 empty to skip it",
                index + 1
            ))
        })? {
            values.push(v);
        }
    }
    Ok(Column {
        name: name.to_string(),
        values,
    })
}

/// The number in cell `index` of `row`: `None` when blank (or missing), the reason when it is
/// not a finite number.
fn cell(row: &StringRecord, index: usize) -> Result<Option<f64>, String> {
    let text = row.get(index).unwrap_or("");
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

/// The index of the one column holding numbers only (and at least one); the error lists the
/// columns and says to pick one.
fn only_numeric(
    headers: &StringRecord,
    rows: &[StringRecord],
    origin: &str,
) -> Result<usize, FitError> {
    let numeric: Vec<usize> = (0..headers.len())
        .filter(|&i| {
            let cells: Vec<_> = rows.iter().map(|row| cell(row, i)).collect();
            cells.iter().all(Result::is_ok) && cells.iter().any(|c| matches!(c, Ok(Some(_))))
        })
        .collect();
    match numeric[..] {
        [one] => Ok(one),
        [] => Err(FitError(format!(
            "{origin}: no column holds only numbers (the columns are: {}); name the one to fit \
             with --column NAME, and the error will show the cell that is not a number",
            list(headers)
        ))),
        _ => {
            let names: Vec<String> = numeric
                .iter()
                .map(|&i| format!("`{}`", &headers[i]))
                .collect();
            Err(FitError(format!(
                "{origin}: {} columns hold numbers ({}); pick one with --column NAME",
                names.len(),
                names.join(", ")
            )))
        }
    }
}

/// The headers as `` `a`, `b` ``.
fn list(headers: &StringRecord) -> String {
    let names: Vec<String> = headers.iter().map(|h| format!("`{h}`")).collect();
    names.join(", ")
}

/// A CSV syntax error with its line.
fn csv_error(origin: &str, e: &csv::Error) -> FitError {
    let line = e
        .position()
        .map_or(String::new(), |p| format!(":{}", p.line()));
    let fix = match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } => {
            "; every row needs as many cells as the header (use empty cells for missing values)"
        }
        csv::ErrorKind::Utf8 { .. } => "; save the file as UTF-8",
        _ => "",
    };
    FitError(format!("{origin}{line}: not valid CSV: {e}{fix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, wanted: Option<&str>) -> Result<Column, String> {
        read_column(text.as_bytes(), "data.csv", wanted).map_err(|e| e.0)
    }

    #[test]
    fn the_named_or_the_only_numeric_column_is_read_and_blanks_skipped() {
        let text = "year,loss,region\n2020,1.5,north\n2021,,south\n2022, 3e2 ,east\n";
        let c = read(text, Some("loss")).unwrap();
        assert_eq!((c.name.as_str(), c.values), ("loss", vec![1.5, 300.0]));
        let text = "region,loss\nnorth,1\nsouth,2.5\n";
        assert_eq!(read(text, None).unwrap().values, vec![1.0, 2.5]);
    }

    #[test]
    fn a_cell_that_is_not_a_number_is_named_by_line_and_column() {
        let text = "year,loss\n2020,1.5\n2021,12 EUR\n";
        assert_eq!(
            read(text, Some("loss")).unwrap_err(),
            "data.csv:3: column `loss` (column 2): `12 EUR` is not a number; write a number \
             such as 1234.5 (no units, thousands separators or decimal comma), or leave the \
             cell empty to skip it"
        );
        let text = "loss\n1\nNaN\n";
        assert!(
            read(text, Some("loss"))
                .unwrap_err()
                .starts_with("data.csv:3: column `loss` (column 1): `NaN` is not a finite number;")
        );
    }

    #[test]
    fn a_missing_or_ambiguous_column_lists_the_columns() {
        let text = "year,loss,region\n2020,1.5,north\n";
        assert_eq!(
            read(text, Some("Loss")).unwrap_err(),
            "data.csv: no column `Loss`; the columns are: `year`, `loss`, `region`"
        );
        assert_eq!(
            read(text, None).unwrap_err(),
            "data.csv: 2 columns hold numbers (`year`, `loss`); pick one with --column NAME"
        );
        assert!(
            read("region\nnorth\n", None)
                .unwrap_err()
                .starts_with("data.csv: no column holds only numbers (the columns are: `region`)")
        );
    }

    #[test]
    fn a_ragged_row_is_a_csv_error_with_its_line() {
        let err = read("a,b\n1,2\n3\n", Some("a")).unwrap_err();
        assert!(err.starts_with("data.csv:3: not valid CSV:"), "{err}");
        assert!(
            err.ends_with("use empty cells for missing values)"),
            "{err}"
        );
    }
}
