//! Triangular and PERT: families whose support ends are parameters. The data are mapped onto
//! `[0, 1]` (0 the smallest value, 1 the largest); the ends `a < 0` and `b > 1` and the mode
//! `c` in `(a, b)` are written `a = −e^u₀`, `b = 1 + e^u₁`, `c = a + (b − a)·σ(u₂)` (σ the
//! logistic function), so every point of `u` is a valid distribution holding every value,
//! and Nelder–Mead minimises the negative log-likelihood over `u`. A density that reaches 0
//! at an end puts that end beyond the data, about `1/√n` of the range for these families
//! (their CDFs start as `t²`), which is where the search starts.
//!
//! The likelihood can be largest in the limit where the mode meets an end, which is then the
//! smallest or the largest value (the density starts above 0 there): no point of `u` reaches
//! it, the search only comes close, so that limit is taken when it scores as well.

use crate::Sample;
use crate::solve::minimum;
use mcp_spec::Distribution;
use statrs::function::beta::checked_ln_beta;

/// The maximum likelihood triangular distribution.
pub(super) fn triangular(s: &Sample) -> Result<Distribution, String> {
    let scaled = Scaled::of(s);
    let negative_ll = |Shape { a, c, b }: Shape| {
        let total: f64 = scaled
            .z
            .iter()
            .map(|&z| {
                if z < c {
                    ((z - a) / (c - a)).ln()
                } else if z > c {
                    ((b - z) / (b - c)).ln()
                } else {
                    0.0
                }
            })
            .sum();
        -(total / scaled.z.len() as f64 + std::f64::consts::LN_2 - (b - a).ln())
    };
    // The mean of a triangular distribution is (a + c + b)/3.
    let start = scaled.start(|mean, a, b| 3.0 * mean - a - b);
    let (min, mode, max) = scaled.unscale(search(negative_ll, start)?);
    Ok(Distribution::Triangular { min, mode, max })
}

/// The maximum likelihood PERT distribution: a beta on `[a, b]` with shapes
/// `1 + 4(c − a)/(b − a)` and `1 + 4(b − c)/(b − a)`.
pub(super) fn pert(s: &Sample) -> Result<Distribution, String> {
    let scaled = Scaled::of(s);
    let negative_ll = |Shape { a, c, b }: Shape| {
        let (alpha, beta) = mcp_sampling::pert_shape(a, c, b);
        let Ok(ln_b) = checked_ln_beta(alpha, beta) else {
            return f64::INFINITY;
        };
        let total: f64 = scaled
            .z
            .iter()
            .map(|&z| x_ln_y(alpha - 1.0, z - a) + x_ln_y(beta - 1.0, b - z))
            .sum();
        -(total / scaled.z.len() as f64 - (alpha + beta - 1.0) * (b - a).ln() - ln_b)
    };
    // The mean of a PERT distribution is (a + 4c + b)/6.
    let start = scaled.start(|mean, a, b| (6.0 * mean - a - b) / 4.0);
    let (min, mode, max) = scaled.unscale(search(negative_ll, start)?);
    Ok(Distribution::Pert { min, mode, max })
}

/// The shape minimising `negative_ll` (per value): the search's, or a limit with the mode at
/// an end when that is no worse than `1e-9` per value (a difference no table shows).
fn search(negative_ll: impl Fn(Shape) -> f64, start: Vec<f64>) -> Result<Shape, String> {
    let best = minimum(|u| negative_ll(Shape::of(u)), start, 1.0).ok_or("no estimate converged")?;
    let found = Shape::of(&best);
    let low = Shape {
        a: 0.0,
        c: 0.0,
        b: found.b,
    };
    let high = Shape {
        a: found.a,
        c: 1.0,
        b: 1.0,
    };
    let limit = if negative_ll(low) <= negative_ll(high) {
        low
    } else {
        high
    };
    Ok(if negative_ll(limit) <= negative_ll(found) + 1e-9 {
        limit
    } else {
        found
    })
}

/// `x ln y`, 0 when `x` is 0 (as in the limit), whatever `y`.
fn x_ln_y(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * y.ln() }
}

/// The ends and the mode on the `[0, 1]` scale.
#[derive(Debug, Clone, Copy)]
struct Shape {
    a: f64,
    c: f64,
    b: f64,
}

impl Shape {
    /// The shape at `u`; the mode is clamped to `[a, b]`, which rounding could leave.
    fn of(u: &[f64]) -> Shape {
        let (a, b) = (-u[0].exp(), 1.0 + u[1].exp());
        Shape {
            a,
            c: (a + (b - a) / (1.0 + (-u[2]).exp())).clamp(a, b),
            b,
        }
    }

    /// The `u` of ends `a`, `b` and a mode at `c`, kept off the ends.
    fn point(a: f64, c: f64, b: f64) -> Vec<f64> {
        let t = ((c - a) / (b - a)).clamp(0.02, 0.98);
        vec![(-a).ln(), (b - 1.0).ln(), (t / (1.0 - t)).ln()]
    }
}

/// The values mapped onto `[0, 1]`, and back.
struct Scaled {
    z: Vec<f64>,
    low: f64,
    high: f64,
}

impl Scaled {
    fn of(s: &Sample) -> Scaled {
        let (low, high) = (s.min(), s.max());
        Scaled {
            z: s.sorted()
                .iter()
                .map(|x| (x - low) / (high - low))
                .collect(),
            low,
            high,
        }
    }

    fn mean(&self) -> f64 {
        self.z.iter().sum::<f64>() / self.z.len() as f64
    }

    /// Where the search starts: ends `1/√n` beyond the data, the mode from the family's mean.
    fn start(&self, mode_from_mean: impl Fn(f64, f64, f64) -> f64) -> Vec<f64> {
        let gap = 1.0 / (self.z.len() as f64).sqrt();
        let (a, b) = (-gap, 1.0 + gap);
        Shape::point(a, mode_from_mean(self.mean(), a, b), b)
    }

    /// `(min, mode, max)` in the data's units: 0 and 1 are the smallest and largest values
    /// exactly, so that a limit's end holds the value it stands for.
    fn unscale(&self, shape: Shape) -> (f64, f64, f64) {
        let x = |t: f64| {
            if t == 0.0 {
                self.low
            } else if t == 1.0 {
                self.high
            } else {
                self.low + (self.high - self.low) * t
            }
        };
        (x(shape.a), x(shape.c), x(shape.b))
    }
}
