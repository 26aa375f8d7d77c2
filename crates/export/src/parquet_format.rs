//! Parquet exports, written with the `parquet` crate's column writers: one row group, every
//! column optional (a missing value is a null), DOUBLE for reals, INT64 (unsigned) for counts,
//! BYTE_ARRAY (UTF-8) for text, uncompressed; the table's metadata as the file's key-value
//! metadata. [`read_parquet`] reads such a file back into the same [`Table`].

use crate::{Cells, Column, ExportError, Table};
use parquet::basic::{IntType, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::types::Type;
use std::sync::Arc;

/// `table` as a Parquet file.
pub(crate) fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let fields = table
        .columns
        .iter()
        .map(|c| {
            let (physical, logical) = match c.cells {
                Cells::Real(_) => (Physical::DOUBLE, None),
                Cells::Count(_) => (
                    Physical::INT64,
                    Some(LogicalType::Integer(IntType {
                        bit_width: 64,
                        is_signed: false,
                    })),
                ),
                Cells::Text(_) => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            };
            Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = Type::group_type_builder("mcp_export")
        .with_fields(fields)
        .build()?;
    let metadata = table
        .metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let properties = WriterProperties::builder()
        .set_key_value_metadata(Some(metadata))
        .set_created_by(format!("mcp {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = SerializedFileWriter::new(Vec::new(), Arc::new(schema), Arc::new(properties))?;
    let mut group = writer.next_row_group()?;
    for column in &table.columns {
        let mut out = group
            .next_column()?
            .ok_or_else(|| ExportError("parquet: the schema lost a column".into()))?;
        match &column.cells {
            Cells::Real(v) => {
                let (values, levels) = present(v, |&x| x);
                out.typed::<DoubleType>()
                    .write_batch(&values, Some(&levels), None)?;
            }
            Cells::Count(v) => {
                // Written as the bits of an unsigned 64-bit integer, as its logical type says.
                let (values, levels) = present(v, |&n| n as i64);
                out.typed::<Int64Type>()
                    .write_batch(&values, Some(&levels), None)?;
            }
            Cells::Text(v) => {
                let (values, levels) = present(v, |s| ByteArray::from(s.as_str()));
                out.typed::<ByteArrayType>()
                    .write_batch(&values, Some(&levels), None)?;
            }
        }
        out.close()?;
    }
    group.close()?;
    Ok(writer.into_inner()?)
}

/// The values present in `cells`, converted, and each cell's definition level (1 present, 0
/// null).
fn present<T, V>(cells: &[Option<T>], convert: impl Fn(&T) -> V) -> (Vec<V>, Vec<i16>) {
    let values = cells.iter().flatten().map(convert).collect();
    let levels = cells.iter().map(|c| i16::from(c.is_some())).collect();
    (values, levels)
}

/// Reads a Parquet file of flat columns of reals, integers or text (what [`write`] makes) into
/// a table, with its key-value metadata.
pub fn read_parquet(bytes: &[u8]) -> Result<Table, ExportError> {
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes))?;
    let file = reader.metadata().file_metadata();
    let metadata = file
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let mut columns: Vec<Column> = file
        .schema_descr()
        .columns()
        .iter()
        .map(|c| {
            let cells = match c.physical_type() {
                Physical::DOUBLE => Ok(Cells::Real(Vec::new())),
                Physical::INT64 => Ok(Cells::Count(Vec::new())),
                Physical::BYTE_ARRAY => Ok(Cells::Text(Vec::new())),
                other => Err(ExportError(format!(
                    "parquet: column `{}` is of type {other}, not one an export writes",
                    c.name()
                ))),
            };
            cells.map(|cells| Column {
                name: c.name().to_string(),
                cells,
            })
        })
        .collect::<Result<_, _>>()?;
    for row in reader.get_row_iter(None)? {
        let row = row?;
        for (column, (_, field)) in columns.iter_mut().zip(row.get_column_iter()) {
            let bad = || {
                ExportError(format!(
                    "parquet: column `{}` holds {field:?}, unlike its type",
                    column.name
                ))
            };
            match (&mut column.cells, field) {
                (Cells::Real(v), Field::Double(x)) => v.push(Some(*x)),
                (Cells::Real(v), Field::Null) => v.push(None),
                (Cells::Count(v), Field::ULong(n)) => v.push(Some(*n)),
                (Cells::Count(v), Field::Long(n)) => v.push(Some(*n as u64)),
                (Cells::Count(v), Field::Null) => v.push(None),
                (Cells::Text(v), Field::Str(s)) => v.push(Some(s.clone())),
                (Cells::Text(v), Field::Null) => v.push(None),
                _ => return Err(bad()),
            }
        }
    }
    Ok(Table { columns, metadata })
}
