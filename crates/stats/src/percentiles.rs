//! Exact percentiles of sorted values.

use serde::{Deserialize, Serialize};

/// The percentiles every summary reports.
pub const PERCENTILES: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

/// Percentiles of one output, in the order of [`PERCENTILES`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p1: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Percentiles {
    /// Percentiles of ascending `sorted` values (all NaN when empty).
    pub fn of_sorted(sorted: &[f64]) -> Percentiles {
        Percentiles::from_fn(|q| percentile_sorted(sorted, q))
    }

    /// Percentiles whose value at `q` (0–100) is `p(q)`.
    pub fn from_fn(p: impl Fn(f64) -> f64) -> Percentiles {
        Percentiles {
            p1: p(1.0),
            p5: p(5.0),
            p25: p(25.0),
            p50: p(50.0),
            p75: p(75.0),
            p95: p(95.0),
            p99: p(99.0),
        }
    }

    /// Percentiles of unsorted `values`. Equal, bit for bit, to
    /// `of_sorted` on the sorted values, without sorting: one pass counts the values per
    /// bucket of their 16 highest order-preserving bits, a second pass gathers only the
    /// buckets that hold a wanted rank, and selection finishes inside those.
    pub fn of_unsorted(values: &[f64]) -> Percentiles {
        Percentiles::of_chunks(&[values])
    }

    /// Percentiles of the values in all `chunks` together (see [`Percentiles::of_unsorted`]).
    pub fn of_chunks<C: AsRef<[f64]>>(chunks: &[C]) -> Percentiles {
        let mut counts = BucketCounts::default();
        for c in chunks {
            counts.add(c.as_ref());
        }
        Percentiles::of_counted_chunks(chunks, &counts)
    }

    /// Percentiles of the values in all `chunks`, whose [`BucketCounts`] were kept as the
    /// chunks arrived: only the gathering pass remains.
    pub fn of_counted_chunks<C: AsRef<[f64]>>(chunks: &[C], counts: &BucketCounts) -> Percentiles {
        let n: usize = chunks.iter().map(|c| c.as_ref().len()).sum();
        if n < 2 {
            let one: Vec<f64> = chunks
                .iter()
                .flat_map(|c| c.as_ref().iter().copied())
                .collect();
            return Percentiles::of_sorted(&one);
        }
        let ranks = wanted_ranks(n);
        let found = select_by_buckets(chunks, counts, &ranks);
        let at = |r: usize| found[ranks.binary_search(&r).expect("rank was selected")];
        Percentiles::from_fn(|q| interpolated(n, q, at))
    }

    /// The values with their labels, e.g. `("p50", 6.0)`.
    pub fn labelled(&self) -> [(&'static str, f64); 7] {
        [
            ("p1", self.p1),
            ("p5", self.p5),
            ("p25", self.p25),
            ("p50", self.p50),
            ("p75", self.p75),
            ("p95", self.p95),
            ("p99", self.p99),
        ]
    }
}

/// The two closest ranks of percentile `q` among `n` values and the weight of the upper one.
pub(crate) fn rank_of(n: usize, q: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

/// The ranks, ascending and distinct, whose values the [`PERCENTILES`] of `n` values need.
pub(crate) fn wanted_ranks(n: usize) -> Vec<usize> {
    let mut ranks: Vec<usize> = PERCENTILES
        .iter()
        .flat_map(|&q| {
            let (lo, hi, _) = rank_of(n, q);
            [lo, hi]
        })
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    ranks
}

/// Percentile `q` of `n` (at least 1) values, interpolating linearly between the closest ranks;
/// `at` gives the value of a rank.
pub(crate) fn interpolated(n: usize, q: f64, at: impl Fn(usize) -> f64) -> f64 {
    let (lo, hi, frac) = rank_of(n, q);
    if frac == 0.0 {
        at(lo)
    } else {
        let (a, b) = (at(lo), at(hi));
        a + frac * (b - a)
    }
}

/// Maps an f64 to a u64 whose unsigned order is `f64::total_cmp`'s order.
#[inline]
pub(crate) fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

const BUCKET_BITS: u32 = 16;

#[inline]
fn bucket(x: f64) -> usize {
    (order_key(x) >> (64 - BUCKET_BITS)) as usize
}

/// How many values fall in each bucket of the 16 highest bits of their order key, and whether a
/// bucket holds only copies of one value: the first pass of percentile selection, which can be
/// kept up to date while values arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCounts {
    counts: Vec<u64>,
    /// Bits of the first value seen in each bucket.
    first: Vec<u64>,
    /// Whether a bucket holds more than one distinct value.
    mixed: Vec<bool>,
}

impl Default for BucketCounts {
    fn default() -> Self {
        BucketCounts {
            counts: vec![0; 1 << BUCKET_BITS],
            first: vec![0; 1 << BUCKET_BITS],
            mixed: vec![false; 1 << BUCKET_BITS],
        }
    }
}

impl BucketCounts {
    /// Counts `values`.
    pub fn add(&mut self, values: &[f64]) {
        for &x in values {
            let b = bucket(x);
            let bits = x.to_bits();
            if self.counts[b] == 0 {
                self.first[b] = bits;
            } else if self.first[b] != bits {
                self.mixed[b] = true;
            }
            self.counts[b] += 1;
        }
    }
}

/// The values of the given ascending ranks, as if the chunks' values were sorted by
/// `f64::total_cmp`; `counts` are their bucket counts. Only buckets that hold a wanted rank and
/// more than one distinct value are gathered (ties, such as a payoff of exactly 0, cost nothing).
pub(crate) fn select_by_buckets<C: AsRef<[f64]>>(
    chunks: &[C],
    counts: &BucketCounts,
    ranks: &[usize],
) -> Vec<f64> {
    // For each wanted rank: its bucket, and its rank within that bucket.
    let mut wanted: Vec<(usize, usize)> = Vec::with_capacity(ranks.len());
    let (mut b, mut before) = (0, 0);
    for &r in ranks {
        while before + counts.counts[b] as usize <= r {
            before += counts.counts[b] as usize;
            b += 1;
        }
        wanted.push((b, r - before));
    }
    let mut found = vec![0.0; ranks.len()];
    let mut slot = vec![u8::MAX; 1 << BUCKET_BITS];
    let mut gathered: Vec<Vec<f64>> = Vec::new();
    for (i, &(b, _)) in wanted.iter().enumerate() {
        if !counts.mixed[b] {
            found[i] = f64::from_bits(counts.first[b]);
        } else if slot[b] == u8::MAX {
            slot[b] = gathered.len() as u8;
            gathered.push(Vec::with_capacity(counts.counts[b] as usize));
        }
    }
    if gathered.is_empty() {
        return found;
    }
    for &x in chunks.iter().flat_map(|c| c.as_ref()) {
        let s = slot[bucket(x)];
        if s != u8::MAX {
            gathered[s as usize].push(x);
        }
    }
    for (s, group) in gathered.iter_mut().enumerate() {
        let members: Vec<usize> = (0..wanted.len())
            .filter(|&i| slot[wanted[i].0] as usize == s)
            .collect();
        let local: Vec<usize> = members.iter().map(|&i| wanted[i].1).collect();
        let mut out = vec![0.0; local.len()];
        select_ranks(group, 0, &local, &mut out);
        for (i, v) in members.into_iter().zip(out) {
            found[i] = v;
        }
    }
    found
}

/// Writes the values of rank `ranks[i]` (ascending, relative to the whole array, of which
/// `slice` starts at `offset`) into `found[i]`, partitioning around the middle rank first.
fn select_ranks(slice: &mut [f64], offset: usize, ranks: &[usize], found: &mut [f64]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let k = ranks[mid] - offset;
    let (left, nth, right) = slice.select_nth_unstable_by(k, f64::total_cmp);
    found[mid] = *nth;
    let (found_left, found_right) = found.split_at_mut(mid);
    select_ranks(left, offset, &ranks[..mid], found_left);
    select_ranks(
        right,
        offset + k + 1,
        &ranks[mid + 1..],
        &mut found_right[1..],
    );
}

/// Percentile `q` (0–100) of ascending values, interpolating linearly between closest ranks
/// (Hyndman and Fan's type 7, numpy's and R's default); NaN when empty.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => interpolated(n, q, |r| sorted[r]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [1, 25, 50, 99]) == [1.04, 2.0, 3.0, 9.76]
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(percentile_sorted(&v, 1.0), 1.04));
        assert!(close(percentile_sorted(&v, 25.0), 2.0));
        assert!(close(percentile_sorted(&v, 50.0), 3.0));
        assert!(close(percentile_sorted(&v, 99.0), 9.76));
        assert_eq!(percentile_sorted(&v, 100.0), 10.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
    }

    #[test]
    fn selection_equals_sorting() {
        for n in [1usize, 2, 3, 10, 101, 1000, 4099, 100_000] {
            // Negative, zero, tied and widely spread values, and a cluster that shares a bucket.
            let values: Vec<f64> = (0..n)
                .map(|i| match i % 4 {
                    0 => ((i * 7919 % 1009) as f64 - 500.0) * 0.25,
                    1 => 0.0,
                    2 => 1.0 + (i as f64) * 1e-12,
                    _ => (i as f64).powi(3) * -1e-3,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            assert_eq!(
                Percentiles::of_unsorted(&values),
                Percentiles::of_sorted(&sorted),
                "n = {n}"
            );
            let chunks: Vec<&[f64]> = values.chunks(7).collect();
            assert_eq!(
                Percentiles::of_chunks(&chunks),
                Percentiles::of_sorted(&sorted),
                "n = {n}"
            );
        }
    }

    #[test]
    fn order_keys_follow_total_order() {
        let xs = [
            f64::NEG_INFINITY,
            -2.0,
            -0.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn edge_cases() {
        assert!(percentile_sorted(&[], 50.0).is_nan());
        assert_eq!(percentile_sorted(&[4.0], 99.0), 4.0);
    }
}
