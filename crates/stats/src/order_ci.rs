//! Distribution-free confidence intervals of quantiles, from order statistics.
//!
//! Among `n` independent values, the number `K` of them at or below the true `p`-quantile `q` is
//! binomial(n, p). The `l`-th smallest value (1-based) is at or below `q` exactly when `K ≥ l`,
//! and the `u`-th is above it exactly when `K < u`, so `[x₍ₗ₎, x₍ᵤ₎]` covers `q` with probability
//! `P(l ≤ K ≤ u − 1)`, whatever the distribution (continuous at `q`). Taking `l` the 2.5%
//! quantile of binomial(n, p) (statrs: the smallest `k` with `F(k) ≥ 0.025`, so `F(l − 1) <
//! 0.025`) and `u − 1` its 97.5% quantile (`F(u − 1) ≥ 0.975`) makes that probability at least
//! 95%.
//!
//! statrs' binomial quantiles search its CDF, a regularised incomplete beta function whose
//! continued fraction stops after 140 terms: past about 2²⁴ values it no longer converges
//! near the centre (and the search panics at 2²⁵). Up to [`EXACT_BINOMIAL`] values the ranks are
//! statrs'; beyond, they are the normal approximation with its continuity and skewness
//! (Cornish–Fisher) corrections, `k ≈ np + z·σ + (z² − 1)(1 − 2p)/6 − ½`, `σ = √(np(1 − p))`,
//! whose error is under a rank when `np(1 − p)` is large, as it is for every percentile at that
//! size (over 10⁴ for p1), and a few ranks for levels within 10⁻⁴ of 0 or 1.

use crate::Z_975;
use statrs::distribution::{Binomial, DiscreteCDF};

/// Largest sample whose ranks come from statrs' binomial quantiles.
pub const EXACT_BINOMIAL: u64 = 1 << 20;

/// The 0-based ranks `(lo, hi)` of the order statistics bounding the 95% interval of the
/// `p`-quantile of `n` values (`n ≥ 1`, `0 < p < 1`), clamped to the sample (`0..n`): when the
/// sample is too small for the interval to exist (ranks past its ends), the interval is the
/// sample's range and covers with less than 95%.
pub fn order_ci_ranks(n: u64, p: f64) -> (u64, u64) {
    assert!(n >= 1, "no interval of an empty sample");
    let (k_lo, k_hi) = if n <= EXACT_BINOMIAL {
        let k = Binomial::new(p, n).expect("0 < p < 1 and n ≥ 1");
        (k.inverse_cdf(0.025), k.inverse_cdf(0.975))
    } else {
        (
            approximate_quantile(n, p, -Z_975),
            approximate_quantile(n, p, Z_975),
        )
    };
    // 1-based l = k_lo is 0-based rank k_lo − 1; 1-based u = k_hi + 1 is 0-based rank k_hi.
    (k_lo.saturating_sub(1), k_hi.min(n - 1))
}

/// The smallest `k` with `P(binomial(n, p) ≤ k) ≥ Φ(z)`, by the corrected normal
/// approximation (see the module's notes).
fn approximate_quantile(n: u64, p: f64, z: f64) -> u64 {
    let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
    let k = mean + z * sd + (z * z - 1.0) * (1.0 - 2.0 * p) / 6.0 - 0.5;
    (k.ceil().max(0.0) as u64).min(n)
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

    /// Past the exact limit (2²⁵ values) and far beyond, statrs' binomial quantiles still give
    /// the normal approximation's width, centred on `n p`: within 1% plus 3 ranks.
    #[test]
    fn large_samples_give_the_normal_approximation() {
        for (n, p) in [
            (1u64 << 25, 0.5),
            (1 << 30, 0.99),
            (1 << 40, 0.05),
            (1 << 50, 0.999),
        ] {
            let (lo, hi) = order_ci_ranks(n, p);
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let expected = 2.0 * crate::Z_975 * sd;
            let width = (hi - lo) as f64;
            assert!(
                (width - expected).abs() <= 3.0 + 0.01 * expected,
                "n {n} p {p}: width {width} vs {expected}"
            );
            let centre = (hi + lo) as f64 / 2.0;
            assert!(
                (centre - n as f64 * p).abs() <= 3.0 + 0.05 * sd,
                "n {n} p {p}: {centre}"
            );
        }
    }

    /// Where both apply, the approximation agrees with statrs' quantiles within a rank.
    #[test]
    fn the_approximation_agrees_with_statrs_where_both_apply() {
        for (n, p) in [
            (EXACT_BINOMIAL, 0.5),
            (EXACT_BINOMIAL, 0.01),
            (EXACT_BINOMIAL, 0.999),
        ] {
            let b = Binomial::new(p, n).unwrap();
            for (q, z) in [(0.025, -Z_975), (0.975, Z_975)] {
                let (exact, approx) = (b.inverse_cdf(q), approximate_quantile(n, p, z));
                assert!(
                    exact.abs_diff(approx) <= 1,
                    "n {n} p {p} q {q}: {exact} vs {approx}"
                );
            }
        }
    }

    #[test]
    fn tiny_samples_give_the_sample_range() {
        assert_eq!(order_ci_ranks(1, 0.5), (0, 0));
        assert_eq!(order_ci_ranks(3, 0.99), (1, 2));
    }
}
