//! The tornado: how strongly each input drives each output, as Spearman's rank correlation and
//! its share of the output's variance (ρ²/Σρ², Crystal Ball's "contribution to variance").
//!
//! Each batch brings its own coefficients ([`TornadoBatch`], computed by the consumer that ran
//! it); [`TornadoSums`] keeps, per pair, the batches' weight `Σ n_b`, `Σ n_b ρ_b` and
//! `Σ n_b ρ_b²`. The estimate is the `n_b`-weighted mean of the batch coefficients, and its 95%
//! interval comes from their spread (batch means: `Var ρ̄ = Σ n_b (ρ_b − ρ̄)² / ((k − 1) Σ n_b)`
//! over the `k` batches, since a batch's ρ varies as `1/n_b`). Sums of floating-point values
//! depend on their order, so the aggregator adds batches in batch order and the summary is the
//! same bits for any consumer count.

use crate::Z_975;
use crate::ranks::TornadoBatch;
use serde::{Deserialize, Serialize};

/// One input's row of an output's tornado.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TornadoRow {
    /// The input (a vector input stands for the sum of its elements).
    pub input: String,
    /// Spearman's rank correlation with the output, in [−1, 1].
    pub spearman: f64,
    /// Its 95% interval by batch means; `[−1, 1]` when one batch alone measured it.
    pub ci95: [f64; 2],
    /// Its share of the output's variance, `ρ²/Σρ²` over the output's rows, in [0, 1].
    pub contribution: f64,
}

/// The tornado of a job: per output (model order), its inputs by decreasing |ρ|.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    /// Batches whose coefficients it averages (those of at least
    /// [`TORNADO_MIN_SCENARIOS`](crate::TORNADO_MIN_SCENARIOS) successful scenarios).
    pub blocks: u64,
    /// Per output, its rows; an output no input moved in any batch has none.
    #[serde(with = "crate::named")]
    pub outputs: Vec<(String, Vec<TornadoRow>)>,
}

impl Tornado {
    /// The rows of `output`, if it has any.
    pub fn rows(&self, output: &str) -> Option<&[TornadoRow]> {
        self.outputs
            .iter()
            .find(|(name, _)| name == output)
            .map(|(_, rows)| rows.as_slice())
    }
}

/// One pair's sums over the batches that measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PairSums {
    /// `Σ n_b`.
    weight: u64,
    /// Batches with `n_b > 0`.
    batches: u64,
    /// `Σ n_b ρ_b`.
    rho: f64,
    /// `Σ n_b ρ_b²`.
    rho_sq: f64,
}

/// The batches' coefficients added up, per (output, input) pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TornadoSums {
    inputs: usize,
    pairs: Vec<PairSums>,
    blocks: u64,
}

impl TornadoSums {
    /// Adds one batch's coefficients (checked with [`TornadoBatch::check`] beforehand).
    pub fn add(&mut self, batch: &TornadoBatch) {
        if self.pairs.is_empty() {
            self.inputs = batch.inputs as usize;
            self.pairs = vec![PairSums::default(); batch.rho.len()];
        }
        if batch.rho.len() != self.pairs.len() {
            return;
        }
        self.blocks += 1;
        for ((sums, &rho), &n) in self.pairs.iter_mut().zip(&batch.rho).zip(&batch.n) {
            if n == 0 {
                continue;
            }
            let w = f64::from(n);
            sums.weight += u64::from(n);
            sums.batches += 1;
            sums.rho += w * rho;
            sums.rho_sq += w * rho * rho;
        }
    }

    /// Adds another set of sums (batches after this one's, for the same bits as adding them
    /// one by one in that order up to rounding; counts exactly).
    pub fn merge(&mut self, other: &TornadoSums) {
        if self.pairs.is_empty() {
            *self = other.clone();
            return;
        }
        if other.pairs.len() != self.pairs.len() {
            return;
        }
        self.blocks += other.blocks;
        for (a, b) in self.pairs.iter_mut().zip(&other.pairs) {
            a.weight += b.weight;
            a.batches += b.batches;
            a.rho += b.rho;
            a.rho_sq += b.rho_sq;
        }
    }

    /// Batches added.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// The tornado, with the model's input and output names; `None` before any batch, or when
    /// no input moved with any output in any batch.
    pub fn finish(&self, inputs: &[String], outputs: &[String]) -> Option<Tornado> {
        if self.blocks == 0 || self.inputs != inputs.len() {
            return None;
        }
        let per_output = self.pairs.chunks(self.inputs.max(1));
        let outputs = outputs
            .iter()
            .zip(per_output)
            .filter_map(|(output, pairs)| {
                let mut rows: Vec<TornadoRow> = inputs
                    .iter()
                    .zip(pairs)
                    .filter(|(_, s)| s.weight > 0)
                    .map(|(input, s)| row(input, s))
                    .collect();
                let total: f64 = rows.iter().map(|r| r.spearman * r.spearman).sum();
                for r in &mut rows {
                    r.contribution = if total > 0.0 {
                        r.spearman * r.spearman / total
                    } else {
                        0.0
                    };
                }
                // Stable: equal |ρ| keep the model's input order.
                rows.sort_by(|a, b| b.spearman.abs().total_cmp(&a.spearman.abs()));
                (!rows.is_empty()).then(|| (output.clone(), rows))
            })
            .collect::<Vec<_>>();
        (!outputs.is_empty()).then_some(Tornado {
            blocks: self.blocks,
            outputs,
        })
    }
}

/// One pair's row, its contribution still to be shared out.
fn row(input: &str, s: &PairSums) -> TornadoRow {
    let w = s.weight as f64;
    let mean = s.rho / w;
    let ci95 = if s.batches < 2 {
        [-1.0, 1.0]
    } else {
        // Σ n_b (ρ_b − ρ̄)² = Σ n_b ρ_b² − ρ̄ Σ n_b ρ_b, never negative but for rounding.
        let spread = (s.rho_sq - mean * s.rho).max(0.0);
        let variance = spread / ((s.batches - 1) as f64 * w);
        let half = Z_975 * variance.sqrt();
        [(mean - half).max(-1.0), (mean + half).min(1.0)]
    };
    TornadoRow {
        input: input.to_string(),
        spearman: mean,
        ci95,
        contribution: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn batch(rho: [f64; 3], n: [u32; 3]) -> TornadoBatch {
        TornadoBatch {
            inputs: 3,
            rho: rho.to_vec(),
            n: n.to_vec(),
        }
    }

    #[test]
    fn rows_are_weighted_means_ranked_by_size_with_their_shares() {
        let mut sums = TornadoSums::default();
        assert_eq!(sums.finish(&names(&["a", "b", "c"]), &names(&["y"])), None);
        sums.add(&batch([0.1, -0.8, 0.0], [100, 100, 0]));
        sums.add(&batch([0.3, -0.6, 0.0], [300, 300, 0]));
        let t = sums
            .finish(&names(&["a", "b", "c"]), &names(&["y"]))
            .unwrap();
        assert_eq!(t.blocks, 2);
        let rows = t.rows("y").unwrap();
        // `c` was constant in every batch: no row.
        let order: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
        assert_eq!(order, ["b", "a"]);
        // (100 · −0.8 + 300 · −0.6) / 400 and (100 · 0.1 + 300 · 0.3) / 400.
        assert!((rows[0].spearman + 0.65).abs() < 1e-15);
        assert!((rows[1].spearman - 0.25).abs() < 1e-15);
        let share = 0.65f64.powi(2) / (0.65f64.powi(2) + 0.25f64.powi(2));
        assert!((rows[0].contribution - share).abs() < 1e-15);
        assert!((rows[0].contribution + rows[1].contribution - 1.0).abs() < 1e-15);
        // Σ n (ρ − ρ̄)² = 100 · 0.15² + 300 · 0.05² = 3, over (k − 1) Σ n = 400.
        let half = Z_975 * (3.0f64 / 400.0).sqrt();
        assert!((rows[0].ci95[0] - (-0.65 - half)).abs() < 1e-12);
        assert!((rows[0].ci95[1] - (-0.65 + half)).abs() < 1e-12);
        let json = serde_json::to_string(&t).unwrap();
        assert!(
            json.starts_with(r#"{"blocks":2,"outputs":{"y":[{"input":"b","#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Tornado>(&json).unwrap(), t);
    }

    #[test]
    fn one_batch_gives_the_whole_interval() {
        let mut sums = TornadoSums::default();
        sums.add(&batch([0.5, 0.0, 0.0], [40, 0, 0]));
        let t = sums
            .finish(&names(&["a", "b", "c"]), &names(&["y"]))
            .unwrap();
        assert_eq!(t.rows("y").unwrap()[0].ci95, [-1.0, 1.0]);
        assert_eq!(t.rows("y").unwrap()[0].contribution, 1.0);
    }

    #[test]
    fn merging_halves_counts_the_same_and_sums_within_rounding() {
        let batches: Vec<TornadoBatch> = (0..20u32)
            .map(|i| {
                let x = f64::from(i);
                batch(
                    [(x * 0.37).sin(), -(x * 0.11).cos(), 0.5],
                    [64 + i, 64, i % 2],
                )
            })
            .collect();
        let mut one = TornadoSums::default();
        for b in &batches {
            one.add(b);
        }
        let (mut first, mut second) = (TornadoSums::default(), TornadoSums::default());
        for b in &batches[..7] {
            first.add(b);
        }
        for b in &batches[7..] {
            second.add(b);
        }
        first.merge(&second);
        assert_eq!(first.blocks, one.blocks);
        for (a, b) in first.pairs.iter().zip(&one.pairs) {
            assert_eq!((a.weight, a.batches), (b.weight, b.batches));
            assert!((a.rho - b.rho).abs() <= 1e-12 * b.rho_sq.max(1.0));
            assert!((a.rho_sq - b.rho_sq).abs() <= 1e-12 * b.rho_sq.max(1.0));
        }
    }
}
