//! Two variables joined by an Archimedean copula (Clayton, Gumbel or Frank), scenario by
//! scenario.
//!
//! The spec gives the target Spearman rank correlation `ρ`, the unit of every copula here; the
//! family's parameter `θ` is the one whose `ρ_S(θ) = 12 ∫∫ (C(u, v) − uv) du dv` equals it,
//! found once when the generator is built. Frank's `ρ_S` has a closed form in Debye functions;
//! Clayton's and Gumbel's are integrated by Gauss–Legendre quadrature over the unit square,
//! on panels that narrow geometrically towards the diagonal (where `C` bends, more sharply as
//! `θ` grows) and the corners. Every step is a fixed sequence of floating-point operations, so
//! every consumer finds the same `θ`, bit for bit. The quadrature is monotone in `θ` (each of
//! these families grows pointwise with `θ` and the weights are positive), so the root is
//! bracketed throughout; it is found by the Illinois variant of false position, which converges
//! superlinearly where bisection gains one bit per evaluation.
//!
//! Scenario `i`: the first member's uniform `u` (from its own stream, and its stratum under
//! Latin hypercube sampling) is kept as it is; the second's, `w`, becomes `v = C⁻¹(w | u)`, the
//! `w`-quantile of `V` given `U = u`. Since `w` is uniform and independent of `u`, `(u, v)` has
//! the copula's law and `v` is exactly uniform: each margin stays exactly its distribution.
//! Clayton and Frank have closed forms; Gumbel's is the root of an increasing convex function
//! of one variable, reached by Newton's method from above (monotone, so it stops when a step
//! no longer moves it: a deterministic, bracketed iteration). The alternative for Gumbel, the
//! Marshall–Olkin frailty (a positive stable variate shared by both members), would pass the
//! first member's uniform through the frailty too and so lose its stratum; conditional
//! inversion keeps it, and needs no stream of the group's own.

use mcp_spec::quadrature::{gauss_legendre, graded, nodes};
use mcp_spec::{Copula, MAX_ARCHIMEDEAN_RHO};

/// A pair's copula with its parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pair {
    /// Rank correlation 0: every family's independence limit, `v = w`.
    Independent,
    /// Clayton, `C = (u^−θ + v^−θ − 1)^(−1/θ)`, θ > 0.
    Clayton(f64),
    /// Gumbel, `C = exp(−((−ln u)^θ + (−ln v)^θ)^(1/θ))`, θ > 1.
    Gumbel(f64),
    /// Frank, `C = −ln(1 + (e^(−θu) − 1)(e^(−θv) − 1)/(e^(−θ) − 1))/θ`, θ ≠ 0.
    Frank(f64),
}

impl Pair {
    /// The copula `copula` (an Archimedean one) with Spearman's rank correlation `rho`.
    pub(crate) fn new(copula: Copula, rho: f64) -> Result<Pair, String> {
        let family = copula
            .archimedean()
            .ok_or_else(|| format!("{copula:?} is not an Archimedean copula"))?;
        let lowest = if copula == Copula::Frank { -1.0 } else { 0.0 };
        if !(lowest..=1.0).contains(&rho) || rho.abs() > MAX_ARCHIMEDEAN_RHO {
            return Err(format!(
                "the {family} copula cannot have the rank correlation {rho}"
            ));
        }
        if rho == 0.0 {
            return Ok(Pair::Independent);
        }
        Ok(match copula {
            // Both in Kendall's τ in [0, 1): θ = 2τ/(1 − τ) and θ = 1/(1 − τ).
            Copula::Clayton => {
                let clayton = |tau: f64| match tau {
                    0.0 => Pair::Independent,
                    _ => Pair::Clayton(2.0 * tau / (1.0 - tau)),
                };
                clayton(solve_below_one(|tau| clayton(tau).spearman() - rho))
            }
            Copula::Gumbel => {
                let gumbel = |tau: f64| match tau {
                    0.0 => Pair::Independent,
                    _ => Pair::Gumbel(1.0 / (1.0 - tau)),
                };
                gumbel(solve_below_one(|tau| gumbel(tau).spearman() - rho))
            }
            _ => {
                // ρ_S(−θ) = −ρ_S(θ): solve for |ρ| on θ > 0, doubling until bracketed.
                let f = |theta: f64| frank_spearman(theta) - rho.abs();
                let mut hi = 1.0;
                while f(hi) <= 0.0 {
                    hi *= 2.0;
                }
                Pair::Frank(solve(f, 0.0, hi).copysign(rho))
            }
        })
    }

    /// `v` with `P(V ≤ v | U = u) = w`: the second member's uniform given the first's.
    pub(crate) fn conditional_inverse(&self, u: f64, w: f64) -> f64 {
        match *self {
            Pair::Independent => w,
            Pair::Clayton(theta) => {
                // v = (1 + u^−θ (w^(−θ/(1+θ)) − 1))^(−1/θ), in logarithms so that no power
                // overflows: ln v = −softplus(a + b)/θ.
                let a = (-(theta / (1.0 + theta)) * w.ln()).exp_m1().ln();
                let b = -theta * u.ln();
                (-softplus(a + b) / theta).exp()
            }
            Pair::Frank(theta) => {
                // v = −ln((w e^−θ + (1 − w) e^−θu) / (w + (1 − w) e^−θu))/θ, each sum a
                // log-sum-exp so that neither sign of θ overflows.
                let (lw, lv) = (w.ln(), (-w).ln_1p() - theta * u);
                -(log_sum_exp(lw - theta, lv) - log_sum_exp(lw, lv)) / theta
            }
            Pair::Gumbel(theta) => gumbel_conditional_inverse(theta, u, w),
        }
    }

    /// The copula's CDF `C(u, v)` on (0, 1)².
    pub(crate) fn cdf(&self, u: f64, v: f64) -> f64 {
        match *self {
            Pair::Independent => u * v,
            Pair::Clayton(theta) => {
                // ln(u^−θ + v^−θ − 1), without overflow and precise for small θ.
                let (a, b) = (-theta * u.ln(), -theta * v.ln());
                let (m, o) = (a.max(b), a.min(b));
                let l = if m < 700.0 {
                    (a.exp_m1() + b.exp_m1()).ln_1p()
                } else {
                    m + ((o - m).exp() - (-m).exp()).ln_1p()
                };
                (-l / theta).exp()
            }
            Pair::Gumbel(theta) => {
                let (x, y) = (-u.ln(), -v.ln());
                let (m, o) = (x.max(y), x.min(y));
                (-m * ((o / m).powf(theta).ln_1p() / theta).exp()).exp()
            }
            // With −θ, the copula of (U, 1 − V).
            Pair::Frank(theta) if theta < 0.0 => u - Pair::Frank(-theta).cdf(u, 1.0 - v),
            Pair::Frank(theta) => {
                // 1 + (a − 1)(b − 1)/(c − 1) with a = e^−θu, b = e^−θv, c = e^−θ is
                // (b (1 − a) + (a − c))/(1 − c): positive terms, each from an expm1.
                let sum = (-theta * v).exp() * -(-theta * u).exp_m1()
                    + (-theta).exp() * (theta * (1.0 - u)).exp_m1();
                -(sum / -(-theta).exp_m1()).ln() / theta
            }
        }
    }

    /// Spearman's rank correlation, `12 ∫∫ (C − uv)`: Frank's closed form, or quadrature.
    fn spearman(&self) -> f64 {
        match *self {
            Pair::Independent => 0.0,
            Pair::Frank(theta) => frank_spearman(theta),
            Pair::Clayton(theta) | Pair::Gumbel(theta) => self.spearman_by_quadrature(theta, 0),
        }
    }

    /// `12 ∫∫ (C − uv)` over the unit square by Gauss–Legendre panels; `finer` levels more
    /// and each panel cut in `2^finer` (the tests' reference values). By symmetry
    /// (`C(u, v) = C(v, u)`) it is `24 ∫₀¹ u ∫₀¹ (C(u, us) − u²s) ds du`, the diagonal at
    /// `s = 1`.
    fn spearman_by_quadrature(&self, theta: f64, finer: u32) -> f64 {
        let rule = gauss_legendre();
        // Panels halving towards every edge, where the integrand has logarithmic terms; and
        // towards the diagonal, whose bend is about 1/θ wide, well past that width.
        let outer = graded(LEVELS + 2 * finer, LEVELS + 2 * finer, 1 << finer);
        let bend = theta.max(1.0).log2().ceil() as u32;
        let inner = graded(LEVELS + 2 * finer, LEVELS + bend + 2 * finer, 1 << finer);
        let mut total = 0.0;
        for (u, wu) in nodes(&outer, &rule) {
            let mut line = 0.0;
            for (s, ws) in nodes(&inner, &rule) {
                line += ws * (self.cdf(u, u * s) - u * u * s);
            }
            total += wu * u * line;
        }
        24.0 * total
    }
}

/// `ln(1 + eᵗ)` without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

/// `ln(eᵃ + eᵇ)` without overflow.
fn log_sum_exp(a: f64, b: f64) -> f64 {
    let (m, o) = (a.max(b), a.min(b));
    m + (o - m).exp().ln_1p()
}

/// Gumbel's `C⁻¹(w | u)`. With `x = −ln u`, `y = −ln v` and `z = (x^θ + y^θ)^(1/θ)`,
/// `∂C/∂u = w` reads `z + (θ − 1) ln z = x + (θ − 1) ln x − ln w`. Written in
/// `s = ln(1 + (y/x)^θ)` (so `z = x e^(s/θ)`, and no difference of nearly equal numbers is
/// ever taken): `h(s) = x (e^(s/θ) − 1) + (1 − 1/θ) s = −ln w`, increasing and convex on
/// `s ≥ 0`. Newton's method from a point above the root stays above it and descends to it.
fn gumbel_conditional_inverse(theta: f64, u: f64, w: f64) -> f64 {
    let (x, l) = (-u.ln(), -w.ln());
    let slope = 1.0 - 1.0 / theta;
    // Each term alone reaches l by these: the root lies below both.
    let mut s = (l / slope).min(theta * (l / x).ln_1p());
    for _ in 0..200 {
        let h = x * (s / theta).exp_m1() + slope * s - l;
        let dh = x / theta * (s / theta).exp() + slope;
        let next = (s - h / dh).max(0.0);
        if next >= s {
            break;
        }
        s = next;
    }
    // (y/x)^θ = e^s − 1, in logarithms: ln(e^s − 1) = s + ln(1 − e^−s).
    let ln_ratio = s + (-(-s).exp_m1()).ln();
    let y = x * (ln_ratio / theta).exp();
    (-y).exp()
}

/// Frank's Spearman's rho: `1 − 12 (D₁(θ) − D₂(θ))/θ` with the Debye functions
/// `D_k(θ) = k/θᵏ ∫₀^θ tᵏ/(eᵗ − 1) dt`; odd in θ.
fn frank_spearman(theta: f64) -> f64 {
    if theta == 0.0 {
        return 0.0;
    }
    let a = theta.abs();
    (1.0 - 12.0 / a * (debye(1, a) - debye(2, a))).copysign(theta)
}

/// `D_k(x) = k/xᵏ ∫₀ˣ tᵏ/(eᵗ − 1) dt`, x > 0, by Gauss–Legendre panels of width at most 1
/// (the integrand is smooth; past t = 80 it is below 10⁻³⁰ and left out).
fn debye(k: i32, x: f64) -> f64 {
    let rule = gauss_legendre();
    let top = x.min(80.0);
    let panels = top.ceil().max(1.0) as usize;
    let edges: Vec<f64> = (0..=panels)
        .map(|i| top * i as f64 / panels as f64)
        .collect();
    let integral: f64 = nodes(&edges, &rule)
        .map(|(t, w)| w * t.powi(k) / t.exp_m1())
        .sum();
    f64::from(k) / x.powi(k) * integral
}

/// Levels of panels halving towards an edge of the unit square.
const LEVELS: u32 = 8;

/// The root of the increasing `f` on [0, 1), with `f(0) < 0`: bracketed by moving the upper end
/// halfway to 1 until `f` is positive there.
fn solve_below_one(f: impl Fn(f64) -> f64) -> f64 {
    let mut hi = 0.5;
    while f(hi) <= 0.0 {
        hi = (1.0 + hi) / 2.0;
    }
    solve(f, 0.0, hi)
}

/// The root of the increasing `f` between `a` (`f(a) < 0`) and `b` (`f(b) > 0`), by false
/// position with the Illinois modification (halving the weight of an end kept twice).
fn solve(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let (mut fa, mut fb) = (f(a), f(b));
    let mut kept = 0i8;
    for _ in 0..200 {
        let c = b - fb * (b - a) / (fb - fa);
        let fc = f(c);
        if fc.abs() <= 1e-13 || b - a <= 1e-15 * b.abs() {
            return c;
        }
        if fc < 0.0 {
            (a, fa) = (c, fc);
            if kept == -1 {
                fb /= 2.0;
            }
            kept = -1;
        } else {
            (b, fb) = (c, fc);
            if kept == 1 {
                fa /= 2.0;
            }
            kept = 1;
        }
    }
    (a + b) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quadrature_agrees_with_franks_closed_form() {
        for theta in [0.01, 0.5, 2.0, 8.0, 30.0, 100.0, 200.0] {
            let exact = frank_spearman(theta);
            let integrated = Pair::Frank(theta).spearman_by_quadrature(theta, 0);
            assert!(
                (exact - integrated).abs() < 1e-9,
                "θ = {theta}: Debye {exact}, quadrature {integrated}"
            );
        }
    }

    #[test]
    fn finer_panels_change_clayton_and_gumbel_by_nothing_that_matters() {
        for pair in [
            Pair::Clayton(0.05),
            Pair::Clayton(2.0),
            Pair::Clayton(40.0),
            Pair::Clayton(200.0),
            Pair::Gumbel(1.02),
            Pair::Gumbel(2.0),
            Pair::Gumbel(20.0),
            Pair::Gumbel(100.0),
        ] {
            let (Pair::Clayton(theta) | Pair::Gumbel(theta)) = pair else {
                unreachable!()
            };
            let (used, finer) = (
                pair.spearman_by_quadrature(theta, 0),
                pair.spearman_by_quadrature(theta, 2),
            );
            assert!(
                (used - finer).abs() < 1e-9,
                "{pair:?}: {used} vs {finer} with finer panels"
            );
        }
    }

    #[test]
    fn the_parameter_reproduces_the_rank_correlation_up_to_the_limit() {
        for copula in [Copula::Clayton, Copula::Gumbel, Copula::Frank] {
            for rho in [1e-4, 0.1, 0.5, 0.9, MAX_ARCHIMEDEAN_RHO] {
                let pair = Pair::new(copula, rho).unwrap();
                assert!(
                    (pair.spearman() - rho).abs() < 1e-10,
                    "{pair:?} has {} for {rho}",
                    pair.spearman()
                );
            }
        }
        let frank = Pair::new(Copula::Frank, -0.5).unwrap();
        assert_eq!(frank, {
            let Pair::Frank(theta) = Pair::new(Copula::Frank, 0.5).unwrap() else {
                unreachable!()
            };
            Pair::Frank(-theta)
        });
        assert_eq!(Pair::new(Copula::Gumbel, 0.0), Ok(Pair::Independent));
        assert!(Pair::new(Copula::Clayton, -0.1).is_err());
        // Kendall's τ is 2/3 of ρ_S near independence for all three (ρ_S ≈ 3τ/2).
        for copula in [Copula::Clayton, Copula::Gumbel, Copula::Frank] {
            let tau = match Pair::new(copula, 0.003).unwrap() {
                Pair::Clayton(t) => t / (t + 2.0),
                Pair::Gumbel(t) => 1.0 - 1.0 / t,
                Pair::Frank(t) => 1.0 - 4.0 / t * (1.0 - debye(1, t)),
                Pair::Independent => unreachable!(),
            };
            assert!((tau - 0.002).abs() < 1e-5, "{copula:?}: τ {tau}");
        }
    }

    #[test]
    fn the_conditional_inverse_solves_the_conditional_cdf() {
        // ∂C/∂u at (u, v) by a central difference with h = 1e-5 min(u, 1 − u): its error is
        // O(h²) plus the CDF's rounding (about 1e-16/|θ| near independence) over h, far
        // below the tolerance for u ≥ 0.001; nearer the edge only the range is checked.
        for pair in [
            Pair::Clayton(0.3),
            Pair::Clayton(80.0),
            Pair::Gumbel(1.001),
            Pair::Gumbel(3.0),
            Pair::Gumbel(60.0),
            Pair::Frank(-140.0),
            Pair::Frank(-2.0),
            Pair::Frank(0.01),
            Pair::Frank(140.0),
        ] {
            for u in [1e-6, 0.01, 0.3, 0.5, 0.9, 0.999] {
                for w in [1e-6, 0.05, 0.5, 0.95, 0.999_999] {
                    let v = pair.conditional_inverse(u, w);
                    assert!(v > 0.0 && v <= 1.0, "{pair:?} ({u}, {w}): v = {v}");
                    if u < 1e-3 || !(1e-300..1.0 - 1e-12).contains(&v) {
                        continue; // a derivative across the edge means nothing
                    }
                    let h = 1e-5 * u.min(1.0 - u);
                    let slope = (pair.cdf(u + h, v) - pair.cdf(u - h, v)) / (2.0 * h);
                    assert!(
                        (slope - w).abs() < 1e-5,
                        "{pair:?}: ∂C/∂u({u}, {v}) = {slope}, not {w}"
                    );
                }
            }
        }
    }
}
