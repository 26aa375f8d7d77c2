//! The Student t copula's rank correlation, which has no closed form.
//!
//! A t vector is a normal one scaled by `√S`, `S = ν / W`, `W ~ χ²(ν)`. Spearman's ρ is three
//! times the difference between the probabilities of concordance and discordance of
//! `(X₁ − X₂, Y₁ − Y₃)` for three independent copies; given the three scales that pair is
//! normal with correlation `r S₁ / √((S₁ + S₂)(S₁ + S₃))`, whose concordance difference is
//! `(2/π) asin` of it. So
//!
//! `ρ_S(r) = (6/π) E[asin(r c₁₂ c₁₃)]`, `c₁ⱼ = √(S₁ / (S₁ + Sⱼ))`,
//!
//! the expectation over three independent scales. It is taken by Gauss–Legendre quadrature
//! over each scale's probability (panels halving towards both ends, where `S` runs off to 0
//! or ∞), tabulated at `r = k/64` once per group, and inverted by linear interpolation (ρ_S is
//! odd and increasing in `r`). With `S = 1` the same formula gives the Gaussian's
//! `(6/π) asin(r/2)`.

use crate::quadrature::{gauss_legendre, graded, nodes};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::f64::consts::PI;

/// Steps of the table over r in [0, 1].
const STEPS: usize = 64;

/// ρ_S of the t copula at `r = k / STEPS`, `k = 0..=STEPS`.
#[derive(Debug, Clone)]
pub(crate) struct TRank {
    table: Vec<f64>,
}

impl TRank {
    /// The table for `df` degrees of freedom (> 0).
    pub(crate) fn new(df: f64) -> TRank {
        TRank::with_rule(df, 3)
    }

    /// The table with panels halving `levels` times towards each end of the scales' range.
    fn with_rule(df: f64, levels: u32) -> TRank {
        let rule = gauss_legendre();
        let edges = graded(levels, levels, 1);
        let chi = ChiSquared::new(df).expect("df > 0 was checked");
        let scales: Vec<(f64, f64)> = nodes(&edges, &rule)
            .map(|(q, w)| (df / chi.inverse_cdf(q), w))
            .collect();
        // c[i][j] = √(S_i / (S_i + S_j)).
        let c: Vec<Vec<f64>> = scales
            .iter()
            .map(|(si, _)| {
                scales
                    .iter()
                    .map(|(sj, _)| (si / (si + sj)).sqrt())
                    .collect()
            })
            .collect();
        let table = (0..=STEPS)
            .map(|k| {
                let r = k as f64 / STEPS as f64;
                let mut total = 0.0;
                for (ci, (_, wi)) in c.iter().zip(&scales) {
                    let mut inner = 0.0;
                    for (j, (_, wj)) in scales.iter().enumerate() {
                        // Symmetric in j and k: the diagonal once, the rest twice.
                        let mut row = 0.5 * scales[j].1 * (r * ci[j] * ci[j]).asin();
                        for (l, (_, wl)) in scales.iter().enumerate().take(j) {
                            row += wl * (r * ci[j] * ci[l]).asin();
                        }
                        inner += 2.0 * wj * row;
                    }
                    total += wi * inner;
                }
                6.0 / PI * total
            })
            .collect();
        TRank { table }
    }

    /// Spearman's ρ of the copula whose correlation is `r`.
    pub(crate) fn rank(&self, r: f64) -> f64 {
        let x = r.abs().min(1.0) * STEPS as f64;
        let k = (x.floor() as usize).min(STEPS - 1);
        let t = x - k as f64;
        ((1.0 - t) * self.table[k] + t * self.table[k + 1]).copysign(r)
    }

    /// The copula correlation `r` whose Spearman's ρ is `rho` (in [-1, 1]).
    pub(crate) fn correlation(&self, rho: f64) -> f64 {
        let target = rho.abs();
        let top = self.table[STEPS];
        if target >= top {
            return 1f64.copysign(rho);
        }
        let k = self.table.partition_point(|v| *v <= target).clamp(1, STEPS) - 1;
        let (a, b) = (self.table[k], self.table[k + 1]);
        let t = if b > a { (target - a) / (b - a) } else { 0.0 };
        ((k as f64 + t) / STEPS as f64).copysign(rho)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_degrees_of_freedom_give_the_gaussian_relation() {
        // Linear interpolation between steps of 1/64 is within h²/8 · max|f''| ≈ 2·10⁻⁵.
        let t = TRank::new(1e8);
        for r in [0.0, 0.1, 0.45, 0.8, 0.99, 1.0, -0.6] {
            let gaussian = 6.0 / PI * (r / 2.0f64).asin();
            assert!(
                (t.rank(r) - gaussian).abs() < 3e-5,
                "r = {r}: {}",
                t.rank(r)
            );
        }
    }

    #[test]
    fn the_quadrature_has_converged() {
        // Two more halvings towards each end change ρ_S by less than the sampling error of
        // any test (10⁻⁴), even for the heaviest tails.
        for df in [1.0, 3.0, 10.0] {
            let (coarse, fine) = (TRank::new(df), TRank::with_rule(df, 5));
            for r in [0.3, 0.7, 0.95] {
                let d = (coarse.rank(r) - fine.rank(r)).abs();
                assert!(d < 1e-4, "df {df}, r {r}: {d}");
            }
        }
    }

    #[test]
    fn heavier_tails_need_a_larger_correlation_and_the_inverse_undoes_it() {
        let (t, gauss) = (TRank::new(4.0), TRank::new(1e8));
        for rho in [-0.9, -0.3, 0.0, 0.3, 0.8, 0.99] {
            let r = t.correlation(rho);
            assert!((t.rank(r) - rho).abs() < 1e-12, "rho {rho}");
            if rho > 0.0 {
                assert!(r > gauss.correlation(rho), "rho {rho}: t {r}");
            }
        }
    }
}
