//! JSON exports: the summary as it is, and a table as an array of one object per row, keys in
//! column order, a missing or non-finite value as `null`.

use crate::{Cells, Table};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// `value` as indented JSON, with a final newline.
pub(crate) fn pretty<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("exports serialise");
    out.push(b'\n');
    out
}

/// `table`'s rows as a JSON array of objects.
pub(crate) fn rows(table: &Table) -> Vec<u8> {
    pretty(&Rows(table))
}

struct Rows<'a>(&'a Table);
struct Row<'a>(&'a Table, usize);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0.rows();
        let mut seq = s.serialize_seq(Some(n))?;
        for i in 0..n {
            seq.serialize_element(&Row(self.0, i))?;
        }
        seq.end()
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Row(table, i) = *self;
        let mut map = s.serialize_map(Some(table.columns.len()))?;
        for c in &table.columns {
            match &c.cells {
                Cells::Real(v) => map.serialize_entry(&c.name, &v[i].filter(|x| x.is_finite()))?,
                Cells::Count(v) => map.serialize_entry(&c.name, &v[i])?,
                Cells::Text(v) => map.serialize_entry(&c.name, &v[i])?,
            }
        }
        map.end()
    }
}
