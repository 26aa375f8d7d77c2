//! Scrambled Sobol points, defined per index.
//!
//! Each variable is one dimension of an Owen-scrambled Sobol sequence (the `sobol_burley`
//! crate: Burley's hash-based Owen scrambling, with Joe–Kuo direction numbers). That crate
//! gives 2^16 points of 256 dimensions, as `f32`; three choices extend it to any job:
//!
//! - **Blocks.** Scenario `i` is point `i mod 2^16` of block `i / 2^16`, and each block has a
//!   scramble of its own (a seed hashed from the job's seed and the block). A job of more than
//!   65,536 scenarios is then a set of independent randomized quasi-Monte Carlo replicates: the
//!   mean stays unbiased and its variance falls as the blocks add up.
//! - **Dimensions past 256** use dimension `d mod 256` under a seed that also hashes `d / 256`:
//!   independently scrambled copies, as Burley's paper pads its dimensions.
//! - **Precision.** A point's `f32` has 24 bits; the variable's own uniform `v` (from its random
//!   stream) fills the rest: `u = (⌊2^24 s⌋ + v) / 2^24`. This is a uniform inside the point's
//!   cell of width 2^-24, far finer than the 2^-16 strata a block of 2^16 points fills, so every
//!   stratum stays hit exactly as often as before, and `u` is never 0 or 1 (a normal's quantile
//!   reaches past ±5.3σ as it should, instead of stopping at the last `f32` step).

use crate::mix;

/// Points in one independently scrambled block: the crate's longest sequence.
const BLOCK_BITS: u32 = 16;
/// Dimensions the crate has direction numbers for.
const DIMENSIONS: u64 = sobol_burley::NUM_DIMENSIONS as u64;
/// Tells the Sobol scrambles' seeds from every other hash of the job seed.
const SOBOL: u64 = 0x534f_424f_4c5f_6f77;

/// One variable's dimension of the job's Sobol design.
#[derive(Debug, Clone)]
pub(crate) struct Dimension {
    /// The dimension within a scrambled copy of the crate's 256.
    dimension: u32,
    /// Hash of the job seed and the copy, to be mixed with each block.
    key: u64,
}

impl Dimension {
    /// Dimension `d` (0, 1, 2, ... over the spec's variables) of job seed `seed`.
    pub(crate) fn new(seed: u64, d: u64) -> Dimension {
        Dimension {
            dimension: (d % DIMENSIONS) as u32,
            key: mix(mix(seed ^ SOBOL).wrapping_add(d / DIMENSIONS)),
        }
    }

    /// The uniform of scenario `index`, given `v` uniform in (0, 1) from the variable's stream.
    pub(crate) fn uniform(&self, index: u64, v: f64) -> f64 {
        let block = index >> BLOCK_BITS;
        let point = (index & ((1 << BLOCK_BITS) - 1)) as u32;
        let seed = mix(self.key ^ block) as u32;
        let s = sobol_burley::sample(point, self.dimension, seed);
        const CELLS: f64 = (1u32 << 24) as f64;
        ((f64::from(s) * CELLS).floor() + v) / CELLS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block's 2^16 points fill each of the 2^16 equal strata of a dimension exactly once:
    /// the one-dimensional projection of a (0, m, s)-net.
    #[test]
    fn each_block_fills_every_stratum_once_in_every_dimension() {
        for (block, d) in [(0u64, 0u64), (3, 7), (1, 300)] {
            let dim = Dimension::new(42, d);
            let mut hit = vec![false; 1 << BLOCK_BITS];
            for p in 0..(1u64 << BLOCK_BITS) {
                let u = dim.uniform((block << BLOCK_BITS) + p, 0.5);
                let stratum = (u * (1u64 << BLOCK_BITS) as f64) as usize;
                assert!(
                    !hit[stratum],
                    "block {block}, dimension {d}: stratum {stratum} twice"
                );
                hit[stratum] = true;
            }
        }
    }

    #[test]
    fn blocks_and_padded_dimensions_are_scrambled_apart() {
        let same = |a: &Dimension, b: &Dimension, shift: u64| {
            (0..1000u64)
                .filter(|&i| a.uniform(i, 0.5) == b.uniform(i + shift, 0.5))
                .count()
        };
        let (d0, d256) = (Dimension::new(1, 0), Dimension::new(1, 256));
        assert!(same(&d0, &d256, 0) < 5, "dimension 256 repeats dimension 0");
        assert!(
            same(&d0, &d0, 1 << BLOCK_BITS) < 5,
            "block 1 repeats block 0"
        );
    }

    #[test]
    fn the_uniform_is_open_and_keeps_the_streams_bits() {
        let dim = Dimension::new(7, 3);
        for i in 0..4096 {
            for v in [f64::EPSILON, 0.5, 1.0 - f64::EPSILON] {
                let u = dim.uniform(i, v);
                assert!(u > 0.0 && u < 1.0, "u = {u} at {i}");
            }
            assert_ne!(dim.uniform(i, 0.25), dim.uniform(i, 0.75));
        }
    }
}
