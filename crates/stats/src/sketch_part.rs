//! One batch's values in the buckets of a [`Sketch`]: what a consumer sends in sketch mode
//! instead of the values, so that the coordinator merges a bucket where it would add a value.
//! Bucket counts are integers and each bucket's smallest and largest value are exact, so the
//! coordinator's sketch is the same, bit for bit, whether it adds values or merges parts, in
//! any order.

use crate::sketch::{Sketch, bucket_of};

/// One non-empty bucket of a [`SketchPart`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartBucket {
    /// Values in the bucket.
    pub count: u64,
    /// The smallest of them.
    pub min: f64,
    /// The largest of them.
    pub max: f64,
}

/// The non-empty buckets of a batch's values, ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SketchPart {
    buckets: Vec<PartBucket>,
}

impl SketchPart {
    /// The buckets, ascending.
    pub fn buckets(&self) -> &[PartBucket] {
        &self.buckets
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum()
    }

    /// Bytes [`to_bytes`](SketchPart::to_bytes) takes.
    pub fn wire_len(&self) -> usize {
        self.buckets
            .iter()
            .map(|b| {
                let distinct = b.max != b.min;
                let flagged = (b.count << 1) | u64::from(distinct);
                let varint = (64 - flagged.leading_zeros() as usize).div_ceil(7).max(1);
                8 + varint + if distinct { 8 } else { 0 }
            })
            .sum()
    }

    /// The wire form: per bucket, ascending, its smallest value (8 bytes, little-endian, which
    /// also names the bucket), then `count << 1 | 1 if the largest differs` as a LEB128 varint,
    /// then the largest value when it differs. At most 9 bytes a value when every value has a
    /// bucket of its own, fewer the more values share one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * 10);
        for b in &self.buckets {
            out.extend_from_slice(&b.min.to_le_bytes());
            let distinct = b.max != b.min;
            let mut v = (b.count << 1) | u64::from(distinct);
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            if distinct {
                out.extend_from_slice(&b.max.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`to_bytes`](SketchPart::to_bytes)'s form, checking what a sketch relies on:
    /// finite values, buckets strictly ascending, each bucket's values within it and in order,
    /// and counts of at least one (one when the largest differs from the smallest is not).
    pub fn from_bytes(bytes: &[u8]) -> Result<SketchPart, String> {
        let mut buckets = Vec::new();
        let mut at = 0;
        let mut last: Option<(usize, usize)> = None;
        let value = |at: &mut usize| -> Result<f64, String> {
            let end = *at + 8;
            let raw = bytes
                .get(*at..end)
                .ok_or("a sketch's bucket is cut short")?;
            *at = end;
            let x = f64::from_le_bytes(raw.try_into().expect("8 bytes"));
            if x.is_finite() {
                Ok(x)
            } else {
                Err(format!("a sketch holds {x}, not a finite value"))
            }
        };
        while at < bytes.len() {
            let min = value(&mut at)?;
            let mut v: u64 = 0;
            let mut shift = 0;
            loop {
                let byte = *bytes.get(at).ok_or("a sketch's bucket is cut short")?;
                at += 1;
                if shift == 63 && byte > 1 {
                    return Err("a sketch's count overflows".into());
                }
                v |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
                shift += 7;
                if shift > 63 {
                    return Err("a sketch's count overflows".into());
                }
            }
            let (count, distinct) = (v >> 1, v & 1 == 1);
            let max = if distinct { value(&mut at)? } else { min };
            let bucket = bucket_of(min);
            if count == 0 || (distinct && count < 2) {
                return Err(format!("a sketch's bucket at {min} counts {count} values"));
            }
            if distinct && (max <= min || bucket_of(max) != bucket) {
                return Err(format!(
                    "a sketch's bucket from {min} to {max} is not one bucket in order"
                ));
            }
            if last.is_some_and(|l| l >= bucket) {
                return Err(format!("a sketch's buckets are not ascending at {min}"));
            }
            last = Some(bucket);
            buckets.push(PartBucket { count, min, max });
        }
        let part = SketchPart { buckets };
        part.buckets
            .iter()
            .try_fold(0u64, |n, b| n.checked_add(b.count))
            .ok_or("a sketch's counts overflow")?;
        Ok(part)
    }
}

/// Sketches batch after batch into [`SketchPart`]s, reusing one dense [`Sketch`] so that a
/// batch costs what adding its values costs, plus a walk over the buckets it filled: each
/// power of two it touched keeps a bitmap of its filled buckets, so that empty ones are skipped
/// 64 at a time.
#[derive(Debug, Default)]
pub struct SketchParts {
    scratch: Sketch,
    /// Per binade (indexed as the sketch's), the buckets filled by the batch so far.
    filled: Vec<[u64; 16]>,
    /// Per binade, whether the batch touched it.
    is_touched: Vec<bool>,
    /// The binades the batch touched.
    touched: Vec<usize>,
}

impl SketchParts {
    /// The buckets of `values` (finite, as model outputs are).
    pub fn of(&mut self, values: &[f64]) -> SketchPart {
        if self.filled.is_empty() {
            self.filled = vec![[0; 16]; 1 << 12];
            self.is_touched = vec![false; 1 << 12];
        }
        for &x in values {
            let (b, s) = self.scratch.insert(x, x, 1);
            if !self.is_touched[b] {
                self.is_touched[b] = true;
                self.touched.push(b);
            }
            self.filled[b][s / 64] |= 1 << (s % 64);
        }
        self.touched.sort_unstable();
        let mut buckets = Vec::new();
        for &b in &self.touched {
            self.is_touched[b] = false;
            let binade = self.scratch.binades[b]
                .as_mut()
                .expect("a touched binade exists");
            for (w, word) in self.filled[b].iter_mut().enumerate() {
                while *word != 0 {
                    let s = w * 64 + word.trailing_zeros() as usize;
                    *word &= *word - 1;
                    buckets.push(PartBucket {
                        count: binade.counts[s],
                        min: binade.min[s],
                        max: binade.max[s],
                    });
                    binade.counts[s] = 0;
                }
            }
        }
        self.touched.clear();
        self.scratch.count = 0;
        SketchPart { buckets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Percentiles;
    use crate::sketch::tests::lcg;

    /// Payoff-like values: exact zeros, losses, a long right tail, repeats.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut u = lcg(seed);
        (0..n)
            .map(|i| match i % 7 {
                0 | 3 => 0.0,
                1 => -(1.0 + 50.0 * u()),
                2 => -0.0,
                4 => 1.0,
                _ => (6.0 * u() - 3.0).exp() * 100.0,
            })
            .collect()
    }

    fn same(a: &Sketch, b: &Sketch) {
        assert_eq!(a.count(), b.count());
        let (x, y): (Vec<_>, Vec<_>) = (a.buckets().collect(), b.buckets().collect());
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(&y) {
            assert_eq!(
                (p.0, p.1.to_bits(), p.2.to_bits()),
                (q.0, q.1.to_bits(), q.2.to_bits())
            );
        }
    }

    #[test]
    fn merging_parts_in_any_order_is_adding_the_values() {
        let all = values(100_000, 5);
        let mut added = Sketch::default();
        added.add(&all);
        let mut parts = SketchParts::default();
        let cut: Vec<SketchPart> = all.chunks(1000).map(|c| parts.of(c)).collect();
        let mut merged = Sketch::default();
        for part in cut.iter().rev() {
            merged.merge(part);
        }
        same(&added, &merged);
        assert_eq!(merged.percentiles(), added.percentiles());
        // The builder is left empty: the next part holds only its own values.
        assert_eq!(
            parts.of(&[2.5, 2.5]).buckets(),
            &[PartBucket {
                count: 2,
                min: 2.5,
                max: 2.5
            }]
        );
        assert_eq!(cut.iter().map(SketchPart::count).sum::<u64>(), 100_000);
    }

    #[test]
    fn the_wire_form_round_trips_and_is_no_larger_than_nine_bytes_a_value() {
        let mut parts = SketchParts::default();
        for (n, seed) in [(0, 1), (1, 2), (1024, 3), (65_536, 4)] {
            let v = values(n, seed);
            let part = parts.of(&v);
            let bytes = part.to_bytes();
            assert_eq!(bytes.len(), part.wire_len());
            assert!(bytes.len() <= 9 * n, "{} bytes for {n} values", bytes.len());
            assert_eq!(SketchPart::from_bytes(&bytes).unwrap(), part);
        }
        // Distinct values, each in a bucket of its own: 9 bytes each.
        let spread: Vec<f64> = (0..100).map(|i| 2f64.powi(i)).collect();
        assert_eq!(parts.of(&spread).to_bytes().len(), 900);
        let p = parts.of(&[7.0; 300]);
        assert_eq!(p.to_bytes().len(), 10);
        assert_eq!(Percentiles::from_fn(|_| 7.0), {
            let mut s = Sketch::default();
            s.merge(&p);
            s.percentiles()
        });
    }

    #[test]
    fn a_forged_part_is_refused_with_its_fault() {
        let bytes = |buckets: &[(f64, u64, Option<f64>)]| {
            let mut out = Vec::new();
            for &(min, count, max) in buckets {
                out.extend_from_slice(&min.to_le_bytes());
                out.push(((count << 1) | u64::from(max.is_some())) as u8);
                if let Some(max) = max {
                    out.extend_from_slice(&max.to_le_bytes());
                }
            }
            out
        };
        let fault = |b: &[u8]| SketchPart::from_bytes(b).unwrap_err();
        assert!(fault(&bytes(&[(2.0, 1, None), (1.0, 1, None)])).contains("not ascending"));
        assert!(fault(&bytes(&[(1.0, 1, None), (1.0, 1, None)])).contains("not ascending"));
        assert!(fault(&bytes(&[(1.0, 0, None)])).contains("counts 0"));
        assert!(fault(&bytes(&[(1.0, 1, Some(1.0001))])).contains("counts 1"));
        assert!(fault(&bytes(&[(1.0, 2, Some(1.5))])).contains("not one bucket"));
        assert!(fault(&bytes(&[(1.0, 2, Some(0.9999))])).contains("not one bucket"));
        assert!(fault(&bytes(&[(f64::NAN, 1, None)])).contains("not a finite"));
        let mut cut = bytes(&[(1.0, 2, Some(1.0001))]);
        cut.pop();
        assert!(fault(&cut).contains("cut short"));
        let mut long = 1.0f64.to_le_bytes().to_vec();
        long.extend([0xff; 10]);
        long.push(0x01);
        assert!(fault(&long).contains("overflows"));
        assert_eq!(SketchPart::from_bytes(&[]).unwrap(), SketchPart::default());
    }
}
