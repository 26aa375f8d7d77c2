//! Distribution-free confidence intervals of quantiles, from order statistics.
//!
//! Among `n` independent values, the number `K` of them at or below the true `p`-quantile `q` is
//! binomial(n, p). The `l`-th smallest value (1-based) is at or below `q` exactly when `K ≥ l`,
//! and the `u`-th is above it exactly when `K < u`, so `[x₍ₗ₎, x₍ᵤ₎]` covers `q` with probability
//! `P(l ≤ K ≤ u − 1)`, whatever the distribution (continuous at `q`). Taking `l` the 2.5%
//! quantile of binomial(n, p) (statrs: the smallest `k` with `F(k) ≥ 0.025`, so `F(l − 1) <
//! 0.025`) and `u − 1` its 97.5% quantile (`F(u − 1) ≥ 0.975`) makes that probability at least
//! 95%.

use statrs::distribution::{Binomial, DiscreteCDF};

/// The 0-based ranks `(lo, hi)` of the order statistics bounding the 95% interval of the
/// `p`-quantile of `n` values (`n ≥ 1`, `0 < p < 1`), clamped to the sample (`0..n`): when the
/// sample is too small for the interval to exist (ranks past its ends), the interval is the
/// sample's range and covers with less than 95%.
pub fn order_ci_ranks(n: u64, p: f64) -> (u64, u64) {
    assert!(n >= 1, "no interval of an empty sample");
    let k = Binomial::new(p, n).expect("0 < p < 1 and n ≥ 1");
    // 1-based l = k_lo is 0-based rank k_lo − 1; 1-based u = k_hi + 1 is 0-based rank k_hi.
    let k_lo = k.inverse_cdf(0.025);
    let k_hi = k.inverse_cdf(0.975);
    (k_lo.saturating_sub(1), k_hi.min(n - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Coverage of the ranks, computed exactly from the binomial: at least 95%, and each tail
    /// as tight as the equal-tailed rule allows (moving either end one rank inwards would leave
    /// more than 2.5% on that side).
    #[test]
    fn ranks_cover_at_least_95_percent_and_no_more_than_needed() {
        for (n, p) in [
            (100, 0.5),
            (1000, 0.05),
            (1000, 0.99),
            (100_000, 0.95),
            (1_000_000, 0.01),
        ] {
            let (lo, hi) = order_ci_ranks(n, p);
            let b = Binomial::new(p, n).unwrap();
            // Coverage = P(lo + 1 ≤ K ≤ hi) with 1-based l = lo + 1, u = hi + 1.
            let cover = |lo: u64, hi: u64| b.cdf(hi) - if lo == 0 { 0.0 } else { b.cdf(lo) };
            assert!(cover(lo, hi) >= 0.95, "n {n} p {p}: {}", cover(lo, hi));
            assert!(
                b.cdf(lo + 1) >= 0.025 && b.cdf(hi - 1) < 0.975,
                "n {n} p {p}"
            );
            // The width is about 2 · 1.96 · √(n p (1 − p)) ranks (the normal approximation of
            // the binomial); within 3 ranks of it plus 1% for the discreteness and skew.
            let expected = 2.0 * crate::Z_975 * (n as f64 * p * (1.0 - p)).sqrt();
            let width = (hi - lo) as f64;
            assert!(
                (width - expected).abs() <= 3.0 + 0.01 * expected,
                "n {n} p {p}: width {width} vs {expected}"
            );
        }
    }

    #[test]
    fn tiny_samples_give_the_sample_range() {
        assert_eq!(order_ci_ranks(1, 0.5), (0, 0));
        assert_eq!(order_ci_ranks(3, 0.99), (1, 2));
    }
}
