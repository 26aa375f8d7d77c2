//! Exceedance, VaR, CVaR and the percentiles' intervals on normal and lognormal samples, against
//! their closed forms. Every tolerance is five standard errors of the estimate, derived in the
//! comments; the samples come from a fixed-seed generator, so each test gives the same verdict
//! every time.

use mcp_stats::{
    BucketCounts, ExceedanceCounts, Moments, PERCENTILES, RiskAsk, SKETCH_RELATIVE_ERROR, Sketch,
    summarize, summarize_sketch, tails_of_sketch, tails_of_values,
};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// Uniforms in (0, 1) from a 64-bit LCG (the top 53 bits, shifted off 0).
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).unwrap()
}

/// `n` standard normal values, by inversion.
pub(crate) fn normals(seed: u64, n: usize) -> Vec<f64> {
    let (phi, mut u) = (std_normal(), uniforms(seed));
    (0..n).map(|_| phi.inverse_cdf(u())).collect()
}

fn counts_of(values: &[f64]) -> BucketCounts {
    let mut c = BucketCounts::default();
    c.add(values);
    c
}

/// A distribution's quantile, density, conditional tail mean and the second moment of its tail
/// at level `a`, to check VaR and CVaR against.
struct Truth {
    q: f64,
    density: f64,
    cvar: f64,
    tail_second_moment: f64,
}

impl Truth {
    /// Standard normal: `q = Φ⁻¹(a)`, `E[X | X > q] = φ(q)/(1 − a)`,
    /// `E[X² | X > q] = 1 + q φ(q)/(1 − a)`.
    fn normal(a: f64) -> Truth {
        let n = std_normal();
        let q = n.inverse_cdf(a);
        Truth {
            q,
            density: n.pdf(q),
            cvar: n.pdf(q) / (1.0 - a),
            tail_second_moment: 1.0 + q * n.pdf(q) / (1.0 - a),
        }
    }

    /// Lognormal exp(N(0, 1)): `q = exp(z)`, `z = Φ⁻¹(a)`, density `φ(z)/q`,
    /// `E[X | X > q] = e^{1/2} Φ(1 − z)/(1 − a)`, `E[X² | X > q] = e² Φ(2 − z)/(1 − a)`.
    fn lognormal(a: f64) -> Truth {
        let n = std_normal();
        let z = n.inverse_cdf(a);
        let q = z.exp();
        Truth {
            q,
            density: n.pdf(z) / q,
            cvar: 0.5f64.exp() * n.cdf(1.0 - z) / (1.0 - a),
            tail_second_moment: 2.0f64.exp() * n.cdf(2.0 - z) / (1.0 - a),
        }
    }

    /// Asymptotic standard error of the sample `a`-quantile: `√(a(1 − a)/n) / f(q)`.
    fn var_se(&self, a: f64, n: usize) -> f64 {
        (a * (1.0 - a) / n as f64).sqrt() / self.density
    }

    /// Asymptotic standard error of the sample CVaR (the mean of the top `(1 − a) n` values):
    /// `√((Var(X | X > q) + a (CVaR − q)²) / (n (1 − a)))` (the tail's own spread, plus the
    /// spread that comes from where the tail starts).
    fn cvar_se(&self, a: f64, n: usize) -> f64 {
        let tail_var = self.tail_second_moment - self.cvar * self.cvar;
        ((tail_var + a * (self.cvar - self.q).powi(2)) / (n as f64 * (1.0 - a))).sqrt()
    }
}

/// VaR and CVaR of a sample of 400,000 within five standard errors of the truth, at 0.95, 0.99.
fn check_tails(values: &[f64], truth: impl Fn(f64) -> Truth, what: &str) {
    let levels = [0.95, 0.99];
    let n = values.len();
    let (_, risks) = tails_of_values(
        &values.chunks(4096).collect::<Vec<_>>(),
        &counts_of(values),
        &levels,
    );
    for (r, a) in risks.iter().zip(levels) {
        let t = truth(a);
        let (var_tol, cvar_tol) = (5.0 * t.var_se(a, n), 5.0 * t.cvar_se(a, n));
        assert_eq!(r.level, a);
        assert!(
            (r.var - t.q).abs() <= var_tol,
            "{what} VaR {a}: {} vs {} ± {var_tol}",
            r.var,
            t.q
        );
        assert!(
            (r.cvar - t.cvar).abs() <= cvar_tol,
            "{what} CVaR {a}: {} vs {} ± {cvar_tol}",
            r.cvar,
            t.cvar
        );
        assert!(r.var_ci95[0] <= r.var && r.var <= r.var_ci95[1]);
        assert!(r.cvar >= r.var);
        assert_eq!(r.tail, (n - ((n - 1) as f64 * a).ceil() as usize) as u64);
    }
}

#[test]
fn var_and_cvar_of_a_normal_output() {
    check_tails(&normals(1, 400_000), Truth::normal, "normal");
}

#[test]
fn var_and_cvar_of_a_lognormal_output() {
    let values: Vec<f64> = normals(2, 400_000).into_iter().map(f64::exp).collect();
    check_tails(&values, Truth::lognormal, "lognormal");
}

#[test]
fn exceedance_probabilities_match_the_normal_tail() {
    let values = normals(3, 400_000);
    let thresholds = [0.0, 1.0, 2.326];
    let mut counts = ExceedanceCounts::new(&thresholds);
    for chunk in values.chunks(1000) {
        counts.add(chunk);
    }
    let n = values.len() as u64;
    for (e, t) in counts.exceedances(n).iter().zip(thresholds) {
        // The count is binomial(n, p): the estimate's standard error is √(p(1 − p)/n).
        let p = 1.0 - std_normal().cdf(t);
        let tol = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (e.probability - p).abs() <= tol,
            "P(X > {t}) = {} vs {p} ± {tol}",
            e.probability
        );
        // The Wilson interval is p̂ ± 1.96 standard errors, near enough at this n.
        let half = (e.ci95[1] - e.ci95[0]) / 2.0;
        let expected = 1.959_964 * (p * (1.0 - p) / n as f64).sqrt();
        assert!((half / expected - 1.0).abs() < 0.05, "{half} vs {expected}");
    }
}

/// Over 400 independent samples of 1,000 normal values, each percentile's interval covers the
/// true quantile in at least 95% of them (the construction guarantees it exactly); the observed
/// share of 400 has a standard error of √(0.95 · 0.05 / 400) = 0.011, so it must be above
/// 0.95 − 5 · 0.011. Its width is that of its two order statistics, whose means are close to
/// `F⁻¹(r/(n + 1))` for 1-based rank `r`: the mean width over the samples is within 10% of
/// `F⁻¹((u + 1)/(n + 1)) − F⁻¹((l + 1)/(n + 1))` (one sample's width varies by about
/// 1/√(rank width) ≈ 30% at p1 and p99, twelve ranks wide; the mean of 400 by 1.5%, five times
/// that is 7.5%; the rest is the O(1/n) bias of that approximation). In the middle it is also
/// the asymptotic `2 · 1.96 · √(p(1 − p)/n) / f(q)` (checked at p25 to p75; at p1 the density
/// changes too fast across the twelve ranks for the asymptotic form to hold at this n).
#[test]
fn percentile_intervals_cover_the_true_quantile_with_the_expected_width() {
    let (samples, n) = (400, 1000);
    let mut covered = [0u32; 7];
    let mut widths = [0.0f64; 7];
    for s in 0..samples {
        let values = normals(100 + s, n);
        let (ci, _) = tails_of_values(&[&values], &counts_of(&values), &[]);
        for (i, (_, [lo, hi])) in ci.unwrap().labelled().into_iter().enumerate() {
            let q = std_normal().inverse_cdf(PERCENTILES[i] / 100.0);
            covered[i] += u32::from(lo <= q && q <= hi);
            widths[i] += (hi - lo) / samples as f64;
        }
    }
    let floor = 0.95 - 5.0 * (0.95f64 * 0.05 / samples as f64).sqrt();
    for (i, q) in PERCENTILES.iter().enumerate() {
        let share = f64::from(covered[i]) / samples as f64;
        assert!(share >= floor, "p{q}: covered in {share} of samples");
        let p = q / 100.0;
        let (l, u) = mcp_stats::order_ci_ranks(n as u64, p);
        let at = |r: u64| std_normal().inverse_cdf((r + 1) as f64 / (n + 1) as f64);
        let expected = at(u) - at(l);
        assert!(
            (widths[i] / expected - 1.0).abs() < 0.10,
            "p{q}: width {} vs {expected}",
            widths[i]
        );
        if (25.0..=75.0).contains(q) {
            let asymptotic = 2.0 * 1.959_964 * Truth::normal(p).var_se(p, n);
            assert!(
                (widths[i] / asymptotic - 1.0).abs() < 0.10,
                "p{q}: {} vs {asymptotic}",
                widths[i]
            );
        }
    }
}

/// The sketch's VaR and CVaR are within its stated relative error of the exact ones (positive
/// values: every bucket estimate is within 2⁻¹⁰ of the value it stands for), and its intervals
/// contain the exact intervals.
#[test]
fn the_sketch_answers_within_its_error() {
    let values: Vec<f64> = normals(5, 300_000).into_iter().map(f64::exp).collect();
    let levels = [0.5, 0.95, 0.99, 0.999];
    let (exact_ci, exact) = tails_of_values(&[&values], &counts_of(&values), &levels);
    let mut sketch = Sketch::default();
    for chunk in values.chunks(777) {
        sketch.add(chunk);
    }
    let (sketch_ci, sketched) = tails_of_sketch(&sketch, &levels);
    for (e, s) in exact.iter().zip(&sketched) {
        assert_eq!(e.tail, s.tail);
        assert!(
            (s.var - e.var).abs() <= SKETCH_RELATIVE_ERROR * e.var,
            "{e:?} {s:?}"
        );
        assert!(
            (s.cvar - e.cvar).abs() <= SKETCH_RELATIVE_ERROR * e.cvar,
            "{e:?} {s:?}"
        );
        assert!(s.var_ci95[0] <= e.var_ci95[0] && e.var_ci95[1] <= s.var_ci95[1]);
    }
    for ((_, e), (_, s)) in exact_ci
        .unwrap()
        .labelled()
        .into_iter()
        .zip(sketch_ci.unwrap().labelled())
    {
        assert!(s[0] <= e[0] && e[1] <= s[1], "{e:?} within {s:?}");
    }
}

/// The summary's bits depend on the values in scenario order, not on how they were split into
/// batches; CVaR with ties at VaR counts the tied values by rank.
#[test]
fn summaries_do_not_depend_on_the_split_and_ties_are_counted_by_rank() {
    let values: Vec<f64> = normals(6, 50_000)
        .into_iter()
        .map(|x| (x * 4.0).round())
        .collect();
    let ask_counts = ExceedanceCounts::new(&[2.0]);
    let summary = |chunk: usize| {
        let chunks: Vec<&[f64]> = values.chunks(chunk).collect();
        let mut exceed = ask_counts.clone();
        let mut m = Moments::default();
        for c in &chunks {
            exceed.add(c);
            m.merge(&Moments::of(c.iter().copied()));
        }
        let ask = RiskAsk {
            levels: &[0.9, 0.99],
            exceedance: Some(&exceed),
        };
        let mut s = summarize(&m, &chunks, &counts_of(&values), ask);
        // Moments merge in a tree that follows the split; the rest must not.
        (s.mean, s.std, s.stderr, s.ci95) = (0.0, 0.0, 0.0, [0.0; 2]);
        serde_json::to_string(&s).unwrap()
    };
    assert_eq!(summary(1000), summary(333));
    // By hand: the mean of the n − ⌈(n − 1) 0.9⌉ largest values.
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let k = ((values.len() - 1) as f64 * 0.9).ceil() as usize;
    let by_hand: f64 = sorted[k..].iter().sum::<f64>() / (values.len() - k) as f64;
    let (_, risks) = tails_of_values(&[&values], &counts_of(&values), &[0.9]);
    assert!(
        (risks[0].cvar - by_hand).abs() <= 1e-12 * by_hand.abs(),
        "{} vs {by_hand}",
        risks[0].cvar
    );
    let mut sketch = Sketch::default();
    sketch.add(&values);
    let m = Moments::of(values.iter().copied());
    let s = summarize_sketch(
        &m,
        &sketch,
        RiskAsk {
            levels: &[0.9],
            exceedance: None,
        },
    );
    // Integer values: each bucket holds one distinct value, so the sketch is exact.
    assert_eq!(s.var[0].var, risks[0].var);
    assert!((s.var[0].cvar - by_hand).abs() <= 1e-12 * by_hand.abs());
}
