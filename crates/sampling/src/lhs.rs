//! Latin hypercube sampling, defined per index.
//!
//! With `n` scenarios, each variable's range is cut into `n` equally likely strata, and scenario
//! `i` draws within stratum `π(i)`, where `π` is a pseudo-random permutation of `0..n` of its own
//! per variable: `u = (π(i) + v) / n` with `v` uniform in (0, 1) from the variable's stream for
//! `i`, then the value is the distribution's quantile of `u`. `π` is computed for one index at a
//! time (a Feistel network on the smallest even number of bits that holds `n`, walking the cycle
//! until it lands below `n`), so a batch is generated anywhere without the rest of the design,
//! and every stratum is hit exactly once over the job's scenarios.

use crate::mix;

/// A pseudo-random permutation of `0..n`, keyed.
#[derive(Debug, Clone)]
pub(crate) struct Strata {
    n: u64,
    half: u32,
    key: u64,
}

const ROUNDS: u64 = 4;

impl Strata {
    /// The permutation of `0..n` (n ≥ 1) keyed by `key`.
    pub(crate) fn new(n: u64, key: u64) -> Strata {
        let bits = (64 - (n.max(2) - 1).leading_zeros()).max(2);
        Strata {
            n,
            half: bits.div_ceil(2),
            key,
        }
    }

    /// One Feistel pass over `0 .. 4^half`: a bijection there.
    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut l, mut r) = (x >> self.half, x & mask);
        for round in 0..ROUNDS {
            let f = mix(self.key ^ mix(r ^ (round << 56))) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }

    /// The stratum of index `i` (< n).
    pub(crate) fn of(&self, i: u64) -> u64 {
        // Walking the cycle: the first value below n. It ends because the pass is a bijection
        // of a set holding 0..n, and takes fewer than four steps on average (4^half < 4 n).
        let mut x = self.feistel(i);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }

    /// The uniform of index `i` given `v` in (0, 1): inside its stratum.
    pub(crate) fn uniform(&self, i: u64, v: f64) -> f64 {
        (self.of(i) as f64 + v) / self.n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stratum_is_hit_exactly_once() {
        for n in [1, 2, 3, 7, 64, 1000, 4097] {
            let strata = Strata::new(n, 0x5eed ^ n);
            let mut hit = vec![false; n as usize];
            for i in 0..n {
                let s = strata.of(i) as usize;
                assert!(!hit[s], "n = {n}: stratum {s} twice");
                hit[s] = true;
            }
        }
    }

    #[test]
    fn different_keys_give_different_orders() {
        let (a, b) = (Strata::new(1000, 1), Strata::new(1000, 2));
        let same = (0..1000).filter(|&i| a.of(i) == b.of(i)).count();
        assert!(same < 10, "{same} indices in the same stratum");
    }
}
