//! Spearman's rank correlation within one batch: each input group and each output ranked once
//! (average ranks for ties), then one dot product per pair. This is the consumer's share of the
//! tornado; the coordinator only weighs and adds the batches' coefficients (`tornado.rs`).

use serde::{Deserialize, Serialize};

/// Fewest successful scenarios a batch needs to carry rank correlations: the within-batch
/// estimator's bias is of order `1/n` (about `−3(ρ − τ)/(n + 1)`, τ Kendall's), and ranks of
/// a handful of values say little.
pub const TORNADO_MIN_SCENARIOS: usize = 32;

/// Batches of a job that are all ranked for the tornado, from its first.
pub const TORNADO_FIRST_BATCHES: u64 = 32;

/// Past the first [`TORNADO_FIRST_BATCHES`], one batch in this many is ranked (those whose index
/// is a multiple of it): ranking costs about a quarter of a cheap model's evaluation, and a
/// tornado's interval is narrow long before a large job ends.
pub const TORNADO_EVERY: u64 = 8;

/// Whether batch `index` of a job is ranked for the tornado (when it has enough successful
/// scenarios): a function of the index alone, so every run of a spec ranks the same batches.
pub fn tornado_ranks(index: u64) -> bool {
    index < TORNADO_FIRST_BATCHES || index.is_multiple_of(TORNADO_EVERY)
}

/// One batch's Spearman rank correlations, output-major: pair `(o, i)` is at `o * inputs + i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TornadoBatch {
    /// Input groups per output (the model's inputs, a vector input being one group).
    pub inputs: u32,
    /// Spearman's ρ of each pair over the batch's successful scenarios; 0 where `n` is 0.
    pub rho: Vec<f64>,
    /// Scenarios each ρ was computed on: the batch's successful scenarios, or 0 when the
    /// input or the output took one value throughout the batch (ρ is then undefined).
    pub n: Vec<u32>,
}

impl TornadoBatch {
    /// Whether this is a consistent partial of a model with these inputs and outputs, over at
    /// most `succeeded` scenarios; if not, why.
    pub fn check(&self, inputs: usize, outputs: usize, succeeded: u64) -> Result<(), String> {
        let pairs = inputs * outputs;
        if self.inputs as usize != inputs || self.rho.len() != pairs || self.n.len() != pairs {
            return Err(format!(
                "rank correlations for {} inputs and {} and {} pairs, not {inputs} inputs and \
                 {pairs} pairs",
                self.inputs,
                self.rho.len(),
                self.n.len()
            ));
        }
        for (&rho, &n) in self.rho.iter().zip(&self.n) {
            if !(-1.0..=1.0).contains(&rho) || u64::from(n) > succeeded {
                return Err(format!(
                    "a rank correlation of {rho} over {n} of {succeeded} scenarios"
                ));
            }
        }
        Ok(())
    }
}

/// Order-preserving key of a finite value; `-0.0` and `0.0` tie.
#[inline]
fn key(v: f64) -> u64 {
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Order-preserving key of a value rounded to `f32` (rounding keeps order, not distinctness).
#[inline]
fn key32(v: f64) -> u32 {
    let bits = (v as f32 + 0.0).to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// The index packed in the low half of a sort entry.
#[inline]
fn index(entry: u64) -> usize {
    (entry & 0xffff_ffff) as usize
}

/// Sorts `entries` by their high 32 bits: least significant byte first, four stable counting
/// passes, each skipped when every entry has the same byte there (O(n), no comparisons, which
/// on a batch's random keys mispredict half the time).
fn radix_sort(entries: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    let mut counts = [[0u32; 256]; 4];
    for &e in entries.iter() {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[(e >> (32 + 8 * pass)) as usize & 0xff] += 1;
        }
    }
    scratch.clear();
    scratch.resize(entries.len(), 0);
    for (pass, c) in counts.iter().enumerate() {
        if c.iter().any(|&k| k as usize == entries.len()) {
            continue;
        }
        let mut next = [0u32; 256];
        let mut at = 0;
        for (slot, &k) in next.iter_mut().zip(c) {
            *slot = at;
            at += k;
        }
        for &e in entries.iter() {
            let byte = (e >> (32 + 8 * pass)) as usize & 0xff;
            scratch[next[byte] as usize] = e;
            next[byte] += 1;
        }
        std::mem::swap(entries, scratch);
    }
}

/// [`BatchRanker::rank`] of a column of two distinct values (an indicator, a flag), without
/// sorting: the `k` low values share rank `(k + 1)/2`, the others `k + (n − k + 1)/2`.
fn two_levels(values: &[f64], low: f64, ranks: &mut Vec<f64>) -> f64 {
    let n = values.len();
    let k = values.iter().filter(|&&v| v == low).count();
    // Doubled and centred: (k + 1) − (n + 1) and (2k + n − k + 1) − (n + 1).
    let (r_low, r_high) = (k as f64 - n as f64, k as f64);
    ranks.clear();
    ranks.extend(
        values
            .iter()
            .map(|&v| if v == low { r_low } else { r_high }),
    );
    r_low * r_low * k as f64 + r_high * r_high * (n - k) as f64
}

/// Buffers for ranking the columns of a batch, kept between batches so that a consumer thread
/// allocates nothing once warm.
#[derive(Debug, Default)]
pub struct BatchRanker {
    /// Sort entries: a value's `f32` key in the high half, its index in the low half.
    keyed: Vec<u64>,
    /// The radix sort's second buffer.
    scratch: Vec<u64>,
    /// Per input group, its doubled centred ranks (empty when the group is constant).
    inputs: Vec<Vec<f64>>,
    input_squares: Vec<f64>,
    output: Vec<f64>,
}

impl BatchRanker {
    /// Doubled centred average ranks of `values` into `ranks` (`2 · rank − (n + 1)`: whole
    /// numbers, so sums of their products are exact up to 2⁵³), and their sum of squares;
    /// `None` when every value is the same.
    ///
    /// Values are sorted as one `u64` each (their `f32` key and their index: a plain integer
    /// sort, several times faster than sorting pairs by an `f64` key); values that the `f32`
    /// rounding made equal are then put in their exact order, and only exactly equal values
    /// share a rank.
    fn rank(
        keyed: &mut Vec<u64>,
        scratch: &mut Vec<u64>,
        values: &[f64],
        ranks: &mut Vec<f64>,
    ) -> Option<f64> {
        let first = *values.first()?;
        let second = values.iter().copied().find(|&v| v != first)?;
        let n = values.len();
        if values.iter().all(|&v| v == first || v == second) {
            return Some(two_levels(values, first.min(second), ranks));
        }
        keyed.clear();
        keyed.extend(
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| u64::from(key32(v)) << 32 | i as u64),
        );
        radix_sort(keyed, scratch);
        ranks.clear();
        ranks.resize(n, 0.0);
        let mut squares = 0.0;
        let mut i = 0;
        while i < n {
            let rounded = keyed[i] >> 32;
            let mut j = i + 1;
            while j < n && keyed[j] >> 32 == rounded {
                j += 1;
            }
            let run = &mut keyed[i..j];
            let value = |entry: u64| values[index(entry)];
            if run.len() > 1 && run.iter().any(|&e| value(e) != value(run[0])) {
                run.sort_unstable_by_key(|&e| key(value(e)));
            }
            // Within the run, positions a..b hold equal values: they share the average of
            // ranks a+1..=b, doubled and centred, (a + 1 + b) − (n + 1).
            let mut a = i;
            while a < j {
                let v = value(keyed[a]);
                let mut b = a + 1;
                while b < j && value(keyed[b]) == v {
                    b += 1;
                }
                let r = (a + b) as f64 - n as f64;
                for &e in &keyed[a..b] {
                    ranks[index(e)] = r;
                }
                squares += r * r * (b - a) as f64;
                a = b;
            }
            i = j;
        }
        Some(squares)
    }

    /// Spearman's ρ of every (output, input group) pair over one batch's successful scenarios,
    /// each column in scenario order; `None` below [`TORNADO_MIN_SCENARIOS`] scenarios.
    pub fn partial<I: AsRef<[f64]>, O: AsRef<[f64]>>(
        &mut self,
        inputs: &[I],
        outputs: &[O],
    ) -> Option<TornadoBatch> {
        let n = outputs.first()?.as_ref().len();
        if n < TORNADO_MIN_SCENARIOS || n > u32::MAX as usize {
            return None;
        }
        self.inputs.resize_with(inputs.len(), Vec::new);
        self.input_squares.clear();
        for (column, ranks) in inputs.iter().zip(&mut self.inputs) {
            debug_assert_eq!(column.as_ref().len(), n, "an input column per scenario");
            let squares = Self::rank(&mut self.keyed, &mut self.scratch, column.as_ref(), ranks);
            if squares.is_none() {
                ranks.clear();
            }
            self.input_squares.push(squares.unwrap_or(0.0));
        }
        let pairs = inputs.len() * outputs.len();
        let mut rho = Vec::with_capacity(pairs);
        let mut counts = Vec::with_capacity(pairs);
        for column in outputs {
            let out_squares = Self::rank(
                &mut self.keyed,
                &mut self.scratch,
                column.as_ref(),
                &mut self.output,
            );
            for (ranks, &in_squares) in self.inputs.iter().zip(&self.input_squares) {
                match out_squares {
                    Some(out_squares) if !ranks.is_empty() => {
                        let products = dot(ranks, &self.output);
                        let r = products / (in_squares * out_squares).sqrt();
                        rho.push(r.clamp(-1.0, 1.0));
                        counts.push(n as u32);
                    }
                    _ => {
                        rho.push(0.0);
                        counts.push(0);
                    }
                }
            }
        }
        Some(TornadoBatch {
            inputs: inputs.len() as u32,
            rho,
            n: counts,
        })
    }
}

/// `Σ aᵢ bᵢ` in four interleaved lanes (vectorisable; a fixed function of the slices).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (qa, qb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (qa.remainder(), qb.remainder());
    for (x, y) in qa.zip(qb) {
        for l in 0..4 {
            lanes[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        lanes[l] += x * y;
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spearman's ρ by the textbook: Pearson's r of the average ranks.
    fn textbook(x: &[f64], y: &[f64]) -> f64 {
        let ranks = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .map(|a| {
                    let below = v.iter().filter(|b| *b < a).count() as f64;
                    let equal = v.iter().filter(|b| *b == a).count() as f64;
                    below + (equal + 1.0) / 2.0
                })
                .collect()
        };
        let (rx, ry) = (ranks(x), ranks(y));
        let m = (x.len() as f64 + 1.0) / 2.0;
        let sxy: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - m) * (b - m)).sum();
        let sxx: f64 = rx.iter().map(|a| (a - m) * (a - m)).sum();
        let syy: f64 = ry.iter().map(|b| (b - m) * (b - m)).sum();
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn ranks_with_ties_give_the_textbook_coefficient() {
        // Ties in both columns, a zero of each sign, a negative and a decreasing relation.
        let x: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 13) - 6.0).collect();
        let y: Vec<f64> = (0..40)
            .map(|i| match i % 5 {
                0 => 0.0,
                1 => -0.0,
                _ => f64::from((i * 11) % 17) * 0.5 - f64::from(i % 3),
            })
            .collect();
        let neg: Vec<f64> = x.iter().map(|v| -v * v * v).collect();
        // An indicator, ranked without sorting, with -0.0 as its low value.
        let flag: Vec<f64> = y
            .iter()
            .map(|&v| if v > 1.0 { 1.0 } else { -0.0 })
            .collect();
        let mut ranker = BatchRanker::default();
        let p = ranker.partial(&[&x, &y], &[&y, &neg, &flag]).unwrap();
        assert_eq!(p.inputs, 2);
        assert_eq!(p.n, vec![40; 6]);
        let want = [
            textbook(&x, &y),
            1.0,
            textbook(&x, &neg),
            textbook(&y, &neg),
            textbook(&x, &flag),
            textbook(&y, &flag),
        ];
        for (got, want) in p.rho.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // An increasing transform does not change ranks: −x³ is x reversed.
        assert!((p.rho[2] + 1.0).abs() < 1e-12, "{}", p.rho[2]);
    }

    #[test]
    fn the_radix_sort_orders_by_the_high_half() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut entries: Vec<u64> = (0..3000u64)
            .map(|i| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                // Every byte varies in some entries; the top byte is one of four.
                (x >> 32 & 0x03ff_ffff) << 32 | i
            })
            .collect();
        let mut want = entries.clone();
        want.sort_unstable_by_key(|e| e >> 32);
        radix_sort(&mut entries, &mut Vec::new());
        let high = |v: &[u64]| v.iter().map(|e| e >> 32).collect::<Vec<_>>();
        assert_eq!(high(&entries), high(&want));
        let mut sorted = entries.clone();
        sorted.sort_unstable();
        want.sort_unstable();
        assert_eq!(sorted, want, "the same entries");
    }

    #[test]
    fn values_that_round_to_one_f32_keep_their_exact_order() {
        // 1 + k·10⁻¹² are one `f32` and 40 distinct `f64`s; x falls as y rises, with a tie.
        let y: Vec<f64> = (0..40).map(f64::from).collect();
        let mut x: Vec<f64> = (0..40).map(|k| 1.0 - f64::from(k) * 1e-12).collect();
        x[39] = x[38];
        let mut ranker = BatchRanker::default();
        let p = ranker.partial(&[&x], &[&y]).unwrap();
        assert!((p.rho[0] - textbook(&x, &y)).abs() < 1e-12, "{p:?}");
        assert!(p.rho[0] < -0.999, "{p:?}");
    }

    #[test]
    fn constant_columns_and_small_batches_carry_nothing() {
        let x: Vec<f64> = (0..32).map(f64::from).collect();
        let one = vec![3.0; 32];
        let mut ranker = BatchRanker::default();
        let p = ranker.partial(&[&x, &one], &[&x, &one]).unwrap();
        assert_eq!(p.n, vec![32, 0, 0, 0]);
        assert_eq!(p.rho, vec![1.0, 0.0, 0.0, 0.0]);
        assert!(ranker.partial(&[&x[..31]], &[&x[..31]]).is_none());
    }

    #[test]
    fn inconsistent_partials_are_refused_with_why() {
        let p = TornadoBatch {
            inputs: 2,
            rho: vec![0.5, 1.5],
            n: vec![40, 40],
        };
        assert!(p.check(2, 1, 40).unwrap_err().contains("1.5 over 40"));
        assert!(p.check(3, 1, 40).unwrap_err().contains("not 3 inputs"));
        let fine = TornadoBatch {
            rho: vec![0.5, -1.0],
            ..p
        };
        assert_eq!(fine.check(2, 1, 40), Ok(()));
        assert!(fine.check(2, 1, 39).is_err());
    }
}
