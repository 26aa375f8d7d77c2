//! Gauss–Legendre quadrature on panels: the integrals behind the copulas' rank correlations
//! (the t copula's here, the Archimedean ones' in `mcp-sampling`). Deterministic: the same
//! nodes and weights on every machine, so every role derives the same copula parameters.

/// Panel edges of [0, 1] halving towards 0 over `low` levels and towards 1 over `high`, each
/// panel then cut into `parts`: 0, …, ¼, ½, ¾, …, 1.
pub fn graded(low: u32, high: u32, parts: usize) -> Vec<f64> {
    let mut edges = vec![0.0];
    edges.extend((1..low).rev().map(|k| 0.5f64.powi(k as i32 + 1)));
    edges.extend((0..high).map(|k| 1.0 - 0.5f64.powi(k as i32 + 1)));
    edges.push(1.0);
    edges
        .windows(2)
        .flat_map(|w| (0..parts).map(move |i| w[0] + (w[1] - w[0]) * i as f64 / parts as f64))
        .chain([1.0])
        .collect()
}

/// The nodes and weights of `rule` on each panel between consecutive `edges`.
pub fn nodes<'a>(
    edges: &'a [f64],
    rule: &'a [(f64, f64)],
) -> impl Iterator<Item = (f64, f64)> + 'a {
    edges.windows(2).flat_map(move |panel| {
        let (mid, half) = ((panel[0] + panel[1]) / 2.0, (panel[1] - panel[0]) / 2.0);
        rule.iter().map(move |(x, w)| (mid + half * x, half * w))
    })
}

/// Points of the Gauss–Legendre rule on each panel.
pub const POINTS: usize = 8;

/// The Gauss–Legendre rule of [`POINTS`] points on [−1, 1]: the roots of the Legendre
/// polynomial `P_n` by Newton's method from Tricomi's first guess, and their weights
/// `2 / ((1 − x²) P_n'(x)²)`.
pub fn gauss_legendre() -> Vec<(f64, f64)> {
    let n = POINTS;
    (0..n)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut derivative = 0.0;
            for _ in 0..100 {
                // P_n(x) and P_(n−1)(x) by the three-term recurrence.
                let (mut previous, mut p) = (1.0, x);
                for k in 2..=n {
                    let k = k as f64;
                    (previous, p) = (p, ((2.0 * k - 1.0) * x * p - (k - 1.0) * previous) / k);
                }
                derivative = n as f64 * (x * p - previous) / (x * x - 1.0);
                let step = p / derivative;
                x -= step;
                if step.abs() <= 1e-15 {
                    break;
                }
            }
            (x, 2.0 / ((1.0 - x * x) * derivative * derivative))
        })
        .collect()
}
