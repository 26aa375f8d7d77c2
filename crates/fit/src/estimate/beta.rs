//! Beta: the log-likelihood per value is `(α−1)·mean(ln x) + (β−1)·mean(ln(1−x)) −
//! ln B(α, β)`, a function of two sums; Nelder–Mead finds its maximum over `(ln α, ln β)`
//! from the method-of-moments estimate.

use crate::Sample;
use crate::solve::minimum;
use mcp_spec::Distribution;
use statrs::function::beta::checked_ln_beta;

/// The maximum likelihood beta of values strictly between 0 and 1.
pub(super) fn beta(s: &Sample) -> Result<Distribution, String> {
    let (mean_ln, _) = s.moments_of(f64::ln);
    let (mean_ln_1m, _) = s.moments_of(|x| (1.0 - x).ln());
    let negative_ll = |p: &[f64]| {
        let (alpha, beta) = (p[0].exp(), p[1].exp());
        match checked_ln_beta(alpha, beta) {
            Ok(ln_b) => ln_b - (alpha - 1.0) * mean_ln - (beta - 1.0) * mean_ln_1m,
            Err(_) => f64::INFINITY,
        }
    };
    // Moments: mean m and variance v give α + β = m(1 − m)/v − 1.
    let (m, v) = (s.mean(), s.variance());
    let total = (m * (1.0 - m) / v - 1.0).max(0.1);
    let start = vec![(m * total).ln(), ((1.0 - m) * total).ln()];
    let best = minimum(negative_ll, start, 0.3).ok_or("no estimate converged")?;
    Ok(Distribution::Beta {
        alpha: best[0].exp(),
        beta: best[1].exp(),
    })
}
