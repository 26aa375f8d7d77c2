//! Gamma and Weibull: the scale has a closed form given the shape, and the shape is the one
//! root of a monotone equation, found by Brent's method (`crate::solve`).

use crate::Sample;
use crate::solve::positive_root;
use mcp_spec::Distribution;
use statrs::function::gamma::digamma;

/// Gamma: with `s = ln(mean) − mean(ln x)` (above 0 by Jensen's inequality unless all
/// values are equal), the shape `k` solves `ln k − ψ(k) = s`, whose left side falls from ∞
/// to 0; the scale is `mean / k`. Minka's approximation starts the search.
pub(super) fn gamma(s: &Sample) -> Result<Distribution, String> {
    let (mean_ln, _) = s.moments_of(f64::ln);
    let gap = s.mean().ln() - mean_ln;
    if !(gap > 0.0 && gap.is_finite()) {
        return Err("the values are too close together to estimate a shape".into());
    }
    let guess = (3.0 - gap + ((gap - 3.0).powi(2) + 24.0 * gap).sqrt()) / (12.0 * gap);
    let shape = positive_root(|k| k.ln() - digamma(k) - gap, guess)
        .ok_or("the shape equation has no solution the solver could find")?;
    Ok(Distribution::Gamma {
        shape,
        scale: s.mean() / shape,
    })
}

/// Weibull: the shape `k` solves `Σ xᵏ ln x / Σ xᵏ − 1/k − mean(ln x) = 0`, whose left side
/// rises with `k` (its derivative is a weighted variance of `ln x` plus `1/k²`); the scale is
/// `(mean xᵏ)^(1/k)`. Values are divided by the largest first, so `xᵏ` cannot overflow. The
/// search starts from `π / (√6 · sd(ln x))`, the shape whose log has that spread.
pub(super) fn weibull(s: &Sample) -> Result<Distribution, String> {
    let top = s.max();
    let logs: Vec<f64> = s.sorted().iter().map(|x| (x / top).ln()).collect();
    let (mean_ln, variance_ln) = s.moments_of(|x| (x / top).ln());
    let weighted = |k: f64| {
        let (mut total, mut with_log) = (0.0, 0.0);
        for &l in &logs {
            let w = (k * l).exp();
            total += w;
            with_log += w * l;
        }
        (total, with_log)
    };
    let guess = std::f64::consts::PI / (6f64.sqrt() * variance_ln.sqrt());
    let shape = positive_root(
        |k| {
            let (total, with_log) = weighted(k);
            with_log / total - 1.0 / k - mean_ln
        },
        guess,
    )
    .ok_or("the shape equation has no solution the solver could find")?;
    let (total, _) = weighted(shape);
    Ok(Distribution::Weibull {
        shape,
        scale: top * (total / logs.len() as f64).powf(1.0 / shape),
    })
}
