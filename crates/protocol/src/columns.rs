//! Value columns on the wire: each output's values of a batch as one byte string, in the
//! cheapest of three lossless encodings.
//!
//! Result batches carry every output value (the coordinator needs them all for exact
//! percentiles), so their bytes are most of what crosses the broker. Many risk models have
//! outputs that take a handful of values (an indicator, a default flag, a count of failures) or
//! are mostly zero (a payoff out of the money, an insurance loss in a year without a claim).
//! Each column is encoded as whichever is smallest of:
//!
//! | tag | name   | layout after the tag                                                         |
//! |-----|--------|------------------------------------------------------------------------------|
//! | 0   | raw    | the values, 8 bytes little-endian each                                       |
//! | 1   | zeros  | `n: u32`, a bitmap of `ceil(n/8)` bytes (bit set: the value is not `+0.0`), then those values, raw |
//! | 2   | levels | `n: u32`, `k: u8` (1–16), the `k` distinct values, raw, then one `b`-bit index per value (`b` = 1, 2 or 4), lowest bits first |
//!
//! Integers are little-endian. Values are compared by bit pattern, so `-0.0`, NaNs and every
//! other value travel bit for bit. Deciding costs one pass that stops at the seventeenth
//! distinct value and one count of zeros: a column of all-different values is sent raw at
//! about the cost of a copy, which is why a general-purpose compressor was not used (LZ4 was
//! measured: on a machine whose cores are busy evaluating, its CPU costs more than the bytes it
//! saves; see BENCHMARKS.md).

use mcp_spec::MAX_BATCH;
use serde::de::{Error, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserializer, Serializer};
use std::cell::RefCell;

const RAW: u8 = 0;
const ZEROS: u8 = 1;
const LEVELS: u8 = 2;
/// Most values (all outputs together) one result batch may carry: 512 MiB of them. A spec
/// whose batch times the model's outputs exceeds it is refused before anything runs.
pub const MAX_RESULT_VALUES: usize = 1 << 26;
/// Most distinct values the `levels` encoding takes.
const MAX_LEVELS: usize = 16;

thread_local! {
    /// One column's bytes before they are copied into the message: reused, since a batch's
    /// columns can be megabytes and a fresh buffer each time costs page faults.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serialises columns as a sequence of byte strings (`#[serde(with = "columns")]`).
pub(crate) fn serialize<S: Serializer>(columns: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(columns.len()))?;
    for column in columns {
        SCRATCH.with_borrow_mut(|bytes| {
            bytes.clear();
            encode(column, bytes);
            seq.serialize_element(serde_bytes::Bytes::new(bytes))
        })?;
    }
    seq.end()
}

/// Deserialises what [`serialize`] wrote, decoding each column straight from the message's
/// bytes into its values.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    deserialize_at_most(d, MAX_RESULT_VALUES)
}

/// [`deserialize`], refusing more than `cap` values in all: the columns of a result are equally
/// long (one value per successful scenario), and each column's length is checked against that
/// and the cap before it is decoded, so a forged message of many highly compressed columns
/// cannot make the receiver allocate more than the cap.
fn deserialize_at_most<'de, D: Deserializer<'de>>(
    d: D,
    cap: usize,
) -> Result<Vec<Vec<f64>>, D::Error> {
    struct Columns(usize);
    impl<'de> Visitor<'de> for Columns {
        type Value = Vec<Vec<f64>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence of value columns")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            // No capacity from the peer's length prefix: a forged one must not allocate.
            let mut columns: Vec<Vec<f64>> = Vec::new();
            let mut left = self.0;
            loop {
                let seed = Column {
                    len: columns.first().map(Vec::len),
                    left,
                };
                let Some(values) = seq.next_element_seed(seed)? else {
                    return Ok(columns);
                };
                left -= values.len();
                columns.push(values);
            }
        }
    }
    d.deserialize_seq(Columns(cap))
}

/// One column, decoded from a byte string: `len` values when the first column had that many,
/// and at most `left`.
struct Column {
    len: Option<usize>,
    left: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Column {
    type Value = Vec<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<f64>, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl Visitor<'_> for Column {
    type Value = Vec<f64>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a value column as a byte string")
    }
    fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<f64>, E> {
        let n = declared_len(bytes).map_err(E::custom)?;
        if let Some(len) = self.len
            && len != n
        {
            return Err(E::custom(format!(
                "value columns of different lengths ({len} and {n})"
            )));
        }
        if n > self.left {
            return Err(E::custom(
                "a result batch with more values than a result may have (MAX_RESULT_VALUES)",
            ));
        }
        decode(bytes).map_err(E::custom)
    }
}

/// How many values an encoded column says it holds (checked in full by [`decode`]).
fn declared_len(bytes: &[u8]) -> Result<usize, String> {
    match bytes.split_first() {
        Some((&RAW, body)) => Ok(body.len() / 8),
        Some((_, body)) => count(body).map(|(n, _)| n),
        None => Err("an empty value column (no encoding tag)".into()),
    }
}

/// Encoded sizes, tag included, of `n` values raw; with `zeros` of them `+0.0` as a bitmap
/// and the others; and as `k` levels with their indices.
fn raw_size(n: usize) -> usize {
    1 + 8 * n
}

fn zeros_size(n: usize, zeros: usize) -> usize {
    5 + n.div_ceil(8) + 8 * (n - zeros)
}

fn levels_size(n: usize, k: usize) -> usize {
    6 + 8 * k + (n * index_bits(k)).div_ceil(8)
}

/// Appends `values`, encoded, to `out`.
pub(crate) fn encode(values: &[f64], out: &mut Vec<u8>) {
    let n = values.len();
    let zeros = values.iter().filter(|v| v.to_bits() == 0).count();
    let smallest_other = raw_size(n).min(zeros_size(n, zeros));
    if encode_two_levels(values, smallest_other, out) {
        return;
    }
    match distinct_values(values) {
        Some(levels) if levels_size(n, levels.len()) <= smallest_other => {
            encode_levels(values, &levels, out)
        }
        _ if zeros_size(n, zeros) < raw_size(n) => encode_zeros(values, zeros, out),
        _ => encode_raw(values, out),
    }
}

/// Encodes a column of one or two distinct values (an indicator, a flag: the commonest
/// few-valued outputs) as levels, one bit a value, in one branch-free pass; `false`, with `out`
/// unchanged, when the column has more values or that would not be smaller than `other` bytes.
fn encode_two_levels(values: &[f64], other: usize, out: &mut Vec<u8>) -> bool {
    let Some(first) = values.first() else {
        return false;
    };
    let a = first.to_bits();
    let b = values
        .iter()
        .map(|v| v.to_bits())
        .find(|&x| x != a)
        .unwrap_or(a);
    let differ = a != b;
    let levels: &[u64] = if differ { &[a, b] } else { &[a] };
    if levels_size(values.len(), levels.len()) > other {
        return false;
    }
    let start = out.len();
    levels_header(values.len(), levels, out);
    for chunk in values.chunks(8) {
        let (mut byte, mut known) = (0u8, true);
        for (j, v) in chunk.iter().enumerate() {
            let x = v.to_bits();
            known &= (x == a) | (x == b);
            byte |= u8::from((x == b) & differ) << j;
        }
        if !known {
            out.truncate(start);
            return false;
        }
        out.push(byte);
    }
    true
}

/// The `levels` encoding's tag, count and levels, with room reserved for the indices.
fn levels_header(n: usize, levels: &[u64], out: &mut Vec<u8>) {
    out.reserve(levels_size(n, levels.len()));
    out.push(LEVELS);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.push(levels.len() as u8);
    for level in levels {
        out.extend_from_slice(&level.to_le_bytes());
    }
}

/// The distinct bit patterns of `values` in order of first appearance, or `None` past
/// [`MAX_LEVELS`] (found within the first few values of most columns that have many).
fn distinct_values(values: &[f64]) -> Option<Vec<u64>> {
    let mut levels: Vec<u64> = Vec::with_capacity(MAX_LEVELS);
    let mut last = None;
    for v in values {
        let bits = v.to_bits();
        if last == Some(bits) || levels.contains(&bits) {
            last = Some(bits);
            continue;
        }
        if levels.len() == MAX_LEVELS {
            return None;
        }
        levels.push(bits);
        last = Some(bits);
    }
    // An empty column is smaller raw.
    (!levels.is_empty()).then_some(levels)
}

/// Bits per index for `k` levels.
fn index_bits(k: usize) -> usize {
    match k {
        0..=2 => 1,
        3..=4 => 2,
        _ => 4,
    }
}

fn encode_raw(values: &[f64], out: &mut Vec<u8>) {
    out.reserve(raw_size(values.len()));
    out.push(RAW);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn encode_zeros(values: &[f64], zeros: usize, out: &mut Vec<u8>) {
    let n = values.len();
    let bitmap = out.len() + 5;
    out.push(ZEROS);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    // Branch-free, as in decoding: every value is written, and the position moves on only past
    // the non-zero ones (8 bytes of slack for the last write).
    let mut at = bitmap + n.div_ceil(8);
    let end = at + 8 * (n - zeros);
    out.resize(end + 8, 0);
    for (i, chunk) in values.chunks(8).enumerate() {
        let mut byte = 0u8;
        for (j, v) in chunk.iter().enumerate() {
            let set = u8::from(v.to_bits() != 0);
            byte |= set << j;
            out[at..at + 8].copy_from_slice(&v.to_le_bytes());
            at += 8 * usize::from(set);
        }
        out[bitmap + i] = byte;
    }
    out.truncate(end);
}

fn encode_levels(values: &[f64], levels: &[u64], out: &mut Vec<u8>) {
    let bits = index_bits(levels.len());
    let per_byte = 8 / bits;
    levels_header(values.len(), levels, out);
    let mut last: Option<(u64, u8)> = None;
    for chunk in values.chunks(per_byte) {
        let mut byte = 0u8;
        for (j, v) in chunk.iter().enumerate() {
            let pattern = v.to_bits();
            let index = match last {
                Some((p, index)) if p == pattern => index,
                _ => {
                    let index = levels
                        .iter()
                        .position(|&l| l == pattern)
                        .expect("every value is one of the levels")
                        as u8;
                    last = Some((pattern, index));
                    index
                }
            };
            byte |= index << (j * bits);
        }
        out.push(byte);
    }
}

/// Decodes one column encoded by [`encode`]; the error says what is wrong with the bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<f64>, String> {
    let Some((&tag, body)) = bytes.split_first() else {
        return Err("an empty value column (no encoding tag)".into());
    };
    match tag {
        RAW => decode_raw(body),
        ZEROS => decode_zeros(body),
        LEVELS => decode_levels(body),
        other => Err(format!(
            "a value column has encoding {other}, which this mcp does not know"
        )),
    }
}

fn raw_values(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn decode_raw(body: &[u8]) -> Result<Vec<f64>, String> {
    if !body.len().is_multiple_of(8) {
        return Err(format!(
            "a raw value column of {} bytes is not a whole number of f64 values",
            body.len()
        ));
    }
    Ok(raw_values(body).collect())
}

/// The value count at the start of `body`, checked against the largest batch.
fn count(body: &[u8]) -> Result<(usize, &[u8]), String> {
    let Some((n, rest)) = body.split_first_chunk::<4>() else {
        return Err("a value column is cut short in its header".into());
    };
    let n = u32::from_le_bytes(*n);
    if n > MAX_BATCH {
        return Err(format!(
            "a value column claims {n} values, more than a batch may have ({MAX_BATCH})"
        ));
    }
    Ok((n as usize, rest))
}

fn decode_zeros(body: &[u8]) -> Result<Vec<f64>, String> {
    let (n, rest) = count(body)?;
    let bitmap_len = n.div_ceil(8);
    if rest.len() < bitmap_len {
        return Err("a sparse value column is cut short in its bitmap".into());
    }
    let (bitmap, values) = rest.split_at(bitmap_len);
    let padding = (bitmap_len * 8 - n) as u32;
    if padding > 0 && bitmap[bitmap_len - 1].leading_zeros() < padding {
        return Err("a sparse value column marks values past its end".into());
    }
    let set: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
    if values.len() != 8 * set {
        return Err(format!(
            "a sparse value column marks {set} non-zero values but carries {} bytes of them",
            values.len()
        ));
    }
    // Branch-free: the bitmap of a zero-inflated column is as good as random, and a branch per
    // value would be mispredicted half the time.
    let mut out = Vec::with_capacity(n);
    let mut at = 0;
    for (i, byte) in bitmap.iter().enumerate() {
        for j in 0..(n - 8 * i).min(8) {
            let set = u64::from((byte >> j) & 1);
            let bits = values
                .get(at..at + 8)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
            out.push(f64::from_bits(bits & set.wrapping_neg()));
            at += 8 * set as usize;
        }
    }
    Ok(out)
}

fn decode_levels(body: &[u8]) -> Result<Vec<f64>, String> {
    let (n, rest) = count(body)?;
    let Some((&k, rest)) = rest.split_first() else {
        return Err("a levels value column is cut short in its header".into());
    };
    let k = usize::from(k);
    if !(1..=MAX_LEVELS).contains(&k) {
        return Err(format!(
            "a levels value column has {k} levels; it may have 1 to {MAX_LEVELS}"
        ));
    }
    if rest.len() < 8 * k {
        return Err("a levels value column is cut short in its levels".into());
    }
    let (levels, indices) = rest.split_at(8 * k);
    let levels: Vec<f64> = raw_values(levels).collect();
    let bits = index_bits(k);
    if indices.len() != (n * bits).div_ceil(8) {
        return Err(format!(
            "a levels value column of {n} values carries {} bytes of indices instead of {}",
            indices.len(),
            (n * bits).div_ceil(8)
        ));
    }
    let per_byte = 8 / bits;
    let mask = (1u8 << bits) - 1;
    let mut out = Vec::with_capacity(n);
    for (i, byte) in indices.iter().enumerate() {
        for j in 0..(n - per_byte * i).min(per_byte) {
            let index = usize::from((byte >> (j * bits)) & mask);
            let Some(&v) = levels.get(index) else {
                return Err(format!(
                    "a levels value column refers to level index {index}, but has only {k} levels"
                ));
            };
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[f64]) -> (u8, usize) {
        let mut bytes = Vec::new();
        encode(values, &mut bytes);
        let back = decode(&bytes).unwrap();
        let bits = |c: &[f64]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(values));
        (bytes[0], bytes.len())
    }

    #[test]
    fn each_column_takes_its_smallest_encoding_and_comes_back_bit_for_bit() {
        // All different: raw.
        let spread: Vec<f64> = (0..1000).map(|i| (i as f64).sqrt() - 7.5).collect();
        assert_eq!(round_trip(&spread), (RAW, 1 + 8 * 1000));
        // An indicator: one bit a value.
        let flags: Vec<f64> = (0..1001).map(|i| f64::from(i % 3 == 0)).collect();
        assert_eq!(round_trip(&flags), (LEVELS, 6 + 16 + 126));
        // A constant, and sixteen levels including -0.0 and NaN: four bits a value.
        assert_eq!(round_trip(&[2.5; 9]), (LEVELS, 6 + 8 + 2));
        let mut sixteen: Vec<f64> = (0..14).map(f64::from).collect();
        sixteen.extend([-0.0, f64::NAN]);
        let many: Vec<f64> = (0..100).map(|i| sixteen[(i * 7) % 16]).collect();
        assert_eq!(round_trip(&many), (LEVELS, 6 + 128 + 50));
        // Mostly zeros and otherwise all different: a bitmap and the others.
        let payoff: Vec<f64> = (0..1003)
            .map(|i| if i % 4 == 0 { 0.0 } else { i as f64 * 0.37 })
            .collect();
        let others = payoff.iter().filter(|v| **v != 0.0).count();
        assert_eq!(round_trip(&payoff), (ZEROS, 5 + 126 + 8 * others));
        // Empty, and too short to gain anything.
        assert_eq!(round_trip(&[]), (RAW, 1));
        assert_eq!(round_trip(&[0.0, 1.5]), (ZEROS, 14));
        assert_eq!(round_trip(&[0.0, 1.5, 0.0, 1.5]), (ZEROS, 22));
        assert_eq!(round_trip(&[0.0, 1.5, 0.0, 1.5, 1.5, 1.5]), (LEVELS, 23));
        assert_eq!(round_trip(&[0.0; 100]), (ZEROS, 5 + 13));
        assert_eq!(round_trip(&[7.0; 100]), (LEVELS, 6 + 8 + 13));
        assert_eq!(round_trip(&[0.1, 0.2]), (RAW, 17));
    }

    #[test]
    fn forged_columns_are_refused_with_what_is_wrong() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "no encoding tag"),
            (b"\x07", "encoding 7"),
            (&[RAW, 1, 2, 3], "not a whole number"),
            (&[ZEROS, 1, 0], "cut short in its header"),
            (&[ZEROS, 0, 0, 0, 0x40], "more than a batch may have"),
            (&[ZEROS, 3, 0, 0, 0, 0b1000], "past its end"),
            (
                &[ZEROS, 3, 0, 0, 0, 0b0001],
                "marks 1 non-zero values but carries 0 bytes",
            ),
            (&[LEVELS, 1, 0, 0, 0, 17], "17 levels"),
        ];
        for (bytes, expected) in cases {
            let err = decode(bytes).unwrap_err();
            assert!(err.contains(expected), "{bytes:?}: {err}");
        }
        let mut two_levels = vec![LEVELS, 2, 0, 0, 0, 3];
        two_levels.extend([0u8; 24]);
        two_levels.push(0b11);
        let err = decode(&two_levels).unwrap_err();
        assert!(
            err.contains("level index 3, but has only 3 levels"),
            "{err}"
        );
        two_levels.push(0);
        let err = decode(&two_levels).unwrap_err();
        assert!(
            err.contains("carries 2 bytes of indices instead of 1"),
            "{err}"
        );
    }

    #[test]
    fn columns_of_different_lengths_or_too_many_values_are_refused_before_decoding() {
        let column = |values: &[f64]| {
            let mut bytes = Vec::new();
            encode(values, &mut bytes);
            serde_bytes::ByteBuf::from(bytes)
        };
        let read = |columns: &[serde_bytes::ByteBuf], cap: usize| {
            let bytes = rmp_serde::to_vec(columns).unwrap();
            deserialize_at_most(&mut rmp_serde::Deserializer::new(&bytes[..]), cap)
                .map_err(|e| e.to_string())
        };
        let flags = column(&[0.0, 1.0, 1.0, 0.0, 1.0]);
        let two = read(&[flags.clone(), flags.clone()], 10).unwrap();
        assert_eq!(two.len(), 2);
        let err = read(&[flags.clone(), flags.clone(), flags.clone()], 10).unwrap_err();
        assert!(err.contains("more values than a result may have"), "{err}");
        let err = read(&[flags, column(&[1.5])], 10).unwrap_err();
        assert!(err.contains("different lengths (5 and 1)"), "{err}");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_column_round_trips_bit_for_bit(
                pool in proptest::collection::vec(any::<f64>(), 1..24),
                zero_share in 0usize..4,
                picks in proptest::collection::vec(any::<usize>(), 0..300),
            ) {
                // Values from a pool of any size, some of them zeros: every encoding is hit.
                let values: Vec<f64> = picks
                    .iter()
                    .map(|&p| if p % 4 < zero_share { 0.0 } else { pool[p % pool.len()] })
                    .collect();
                round_trip(&values);
            }

            #[test]
            fn any_bytes_decode_to_values_or_an_error(
                bytes in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                let _ = decode(&bytes);
            }

            #[test]
            fn any_body_behind_a_plausible_header_decodes_to_values_or_an_error(
                tag in 0u8..3,
                n in 0u32..300,
                k in 0u8..20,
                body in proptest::collection::vec(any::<u8>(), 0..400),
            ) {
                // Random bytes rarely get past the count; these reach the bitmap, levels and
                // index checks.
                let mut bytes = vec![tag];
                if tag != RAW {
                    bytes.extend_from_slice(&n.to_le_bytes());
                }
                if tag == LEVELS {
                    bytes.push(k);
                }
                bytes.extend(body);
                if let Ok(values) = decode(&bytes) {
                    prop_assert!(tag == RAW || values.len() == n as usize);
                }
            }
        }
    }
}
