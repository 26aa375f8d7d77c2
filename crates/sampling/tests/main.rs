//! Sampling tests: every distribution's sample moments against statrs' analytic ones, supports,
//! and the determinism contract (scenario `i` is a pure function of spec, seed and `i`).
//!
//! Tolerances are five standard errors: `σ/√n` for the mean and `√((m4 − s⁴)/n)` for the
//! variance, with the fourth central moment `m4` estimated from the same sample. Seeds are fixed,
//! so each test is deterministic; the tolerance says how far off the sampler could be and pass.

mod correlation;
mod plans;
mod saltelli;

use mcp_sampling::{ScenarioGenerator, analytic_moments};
use mcp_spec::{Distribution, Spec};

const N: usize = 200_000;

fn spec_for(vars: &str, seed: u64) -> Spec {
    let text = format!("[simulation]\nscenarios = {N}\nseed = {seed}\n[variables]\n{vars}\n");
    Spec::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// `N` draws of the single variable `x` with the given distribution table.
fn draws(dist: &str, seed: u64) -> (Distribution, Vec<f64>) {
    let spec = spec_for(&format!("x = {dist}"), seed);
    let generator = ScenarioGenerator::new(&spec, &["x".to_string()]).unwrap();
    let mut out = Vec::new();
    generator.fill(0, N, &mut out);
    (spec.variables[0].dist.clone(), out)
}

fn check_moments(dist: &str) {
    let (d, xs) = draws(dist, 20261122);
    let (mean, var) = analytic_moments(&d).expect("moments exist");
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let s2 = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    let se_mean = (var / n).sqrt();
    let se_var = ((m4 - s2 * s2).max(0.0) / n).sqrt();
    assert!(
        (m - mean).abs() <= 5.0 * se_mean + 1e-12,
        "{dist}: sample mean {m} vs analytic {mean} (5 se = {})",
        5.0 * se_mean
    );
    assert!(
        (s2 - var).abs() <= 5.0 * se_var + 1e-12,
        "{dist}: sample variance {s2} vs analytic {var} (5 se = {})",
        5.0 * se_var
    );
}

#[test]
fn constant() {
    let (_, xs) = draws(r#"{ dist = "constant", value = 2.5 }"#, 1);
    assert!(xs.iter().all(|x| *x == 2.5));
}

#[test]
fn normal() {
    check_moments(r#"{ dist = "normal", mean = -3.0, std = 2.0 }"#);
}

#[test]
fn uniform() {
    check_moments(r#"{ dist = "uniform", min = -1.0, max = 3.0 }"#);
    let (_, xs) = draws(r#"{ dist = "uniform", min = -1.0, max = 3.0 }"#, 2);
    assert!(xs.iter().all(|x| (-1.0..3.0).contains(x)));
}

#[test]
fn exponential() {
    check_moments(r#"{ dist = "exponential", rate = 0.5 }"#);
}

#[test]
fn lognormal() {
    check_moments(r#"{ dist = "lognormal", mu = 0.1, sigma = 0.4 }"#);
}

#[test]
fn triangular() {
    check_moments(r#"{ dist = "triangular", min = 1.0, mode = 2.0, max = 6.0 }"#);
    let (_, xs) = draws(
        r#"{ dist = "triangular", min = 1.0, mode = 2.0, max = 6.0 }"#,
        3,
    );
    assert!(xs.iter().all(|x| (1.0..=6.0).contains(x)));
}

#[test]
fn binomial() {
    check_moments(r#"{ dist = "binomial", n = 40, p = 0.3 }"#);
    let (_, xs) = draws(r#"{ dist = "binomial", n = 40, p = 0.3 }"#, 4);
    assert!(
        xs.iter()
            .all(|x| x.fract() == 0.0 && (0.0..=40.0).contains(x))
    );
}

#[test]
fn poisson() {
    check_moments(r#"{ dist = "poisson", lambda = 3.5 }"#);
    check_moments(r#"{ dist = "poisson", lambda = 250.0 }"#);
    let (_, xs) = draws(r#"{ dist = "poisson", lambda = 3.5 }"#, 5);
    assert!(xs.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
}

#[test]
fn bernoulli() {
    check_moments(r#"{ dist = "bernoulli", p = 0.2 }"#);
    let (_, xs) = draws(r#"{ dist = "bernoulli", p = 0.2 }"#, 6);
    assert!(xs.iter().all(|x| *x == 0.0 || *x == 1.0));
}

#[test]
fn beta() {
    check_moments(r#"{ dist = "beta", alpha = 2.0, beta = 5.0 }"#);
    check_moments(r#"{ dist = "beta", alpha = 0.5, beta = 0.5 }"#);
}

#[test]
fn gamma() {
    check_moments(r#"{ dist = "gamma", shape = 2.0, scale = 3.0 }"#);
    check_moments(r#"{ dist = "gamma", shape = 0.5, scale = 1.0 }"#);
}

#[test]
fn weibull() {
    check_moments(r#"{ dist = "weibull", shape = 1.5, scale = 2.0 }"#);
}

#[test]
fn pert() {
    check_moments(r#"{ dist = "pert", min = 10.0, mode = 14.0, max = 30.0 }"#);
    let (_, xs) = draws(
        r#"{ dist = "pert", min = 10.0, mode = 14.0, max = 30.0 }"#,
        7,
    );
    assert!(xs.iter().all(|x| (10.0..=30.0).contains(x)));
}

#[test]
fn student_t() {
    check_moments(r#"{ dist = "student_t", df = 10.0 }"#);
}

#[test]
fn truncated_normal() {
    let inner = r#"{ dist = "truncated_normal", mean = 1.0, std = 2.0, min = -1.0, max = 4.0 }"#;
    check_moments(inner);
    let (_, xs) = draws(inner, 8);
    assert!(xs.iter().all(|x| (-1.0..=4.0).contains(x)));
    // An interval far in the upper tail, where naive inversion of Φ loses all precision.
    let tail = r#"{ dist = "truncated_normal", mean = 0.0, std = 1.0, min = 6.0, max = 7.0 }"#;
    check_moments(tail);
    let (_, xs) = draws(tail, 9);
    assert!(xs.iter().all(|x| (6.0..=7.0).contains(x)));
}

#[test]
fn discrete() {
    let d = r#"{ dist = "discrete", values = [1.0, 2.5, 10.0], weights = [1.0, 1.0, 2.0] }"#;
    check_moments(d);
    let (_, xs) = draws(d, 10);
    assert!(xs.iter().all(|x| [1.0, 2.5, 10.0].contains(x)));
}

#[test]
fn a_truncation_interval_without_mass_is_refused_by_name() {
    let spec = spec_for(
        r#"x = { dist = "truncated_normal", mean = 0.0, std = 1.0, min = 50.0, max = 60.0 }"#,
        1,
    );
    let err = ScenarioGenerator::new(&spec, &["x".to_string()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "variables.x: truncated_normal: [min, max] = [50, 60] lies so far in the tail of \
         normal(mean = 0, std = 1) that it holds no probability; move it closer to the mean or \
         widen std"
    );
}

fn generator(vars: &str, seed: u64, inputs: &[&str]) -> ScenarioGenerator {
    let names: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
    ScenarioGenerator::new(&spec_for(vars, seed), &names).unwrap()
}

const TWO: &str = "a = { dist = \"normal\", mean = 0.0, std = 1.0 }\nb = { dist = \"gamma\", shape = 2.0, scale = 1.0 }";

#[test]
fn a_scenario_does_not_depend_on_its_batch() {
    let g = generator(TWO, 42, &["a", "b"]);
    let mut whole = Vec::new();
    g.fill(0, 1000, &mut whole);
    for (start, count) in [(0usize, 1usize), (1, 7), (500, 333), (999, 1)] {
        let mut part = Vec::new();
        g.fill(start as u64, count, &mut part);
        assert_eq!(
            part,
            whole[start * 2..(start + count) * 2],
            "batch at {start}"
        );
    }
    assert_eq!(g.scenario(123), whole[246..248]);
}

#[test]
fn inputs_follow_the_model_order() {
    let ab = generator(TWO, 42, &["a", "b"]).scenario(5);
    let ba = generator(TWO, 42, &["b", "a"]).scenario(5);
    assert_eq!(ab, vec![ba[1], ba[0]]);
}

#[test]
fn the_seed_changes_every_draw() {
    let x = generator(TWO, 1, &["a", "b"]).scenario(0);
    let y = generator(TWO, 2, &["a", "b"]).scenario(0);
    assert_ne!(x[0], y[0]);
    assert_ne!(x[1], y[1]);
}

#[test]
fn changing_one_variable_leaves_the_others_draws_alone() {
    let before = generator(TWO, 9, &["a", "b"]);
    let changed = "a = { dist = \"uniform\", min = 0.0, max = 1.0 }\nb = { dist = \"gamma\", shape = 2.0, scale = 1.0 }";
    let after = generator(changed, 9, &["a", "b"]);
    for i in 0..100 {
        let (x, y) = (before.scenario(i), after.scenario(i));
        assert_eq!(x[1], y[1], "b of scenario {i}");
        assert_ne!(x[0], y[0], "a of scenario {i}");
    }
}

#[test]
fn variables_and_scenarios_draw_independent_streams() {
    // Two identically distributed variables must not produce the same values, nor must
    // neighbouring scenarios: correlation between the streams would be visible here.
    let g = generator(
        "a = { dist = \"uniform\", min = 0.0, max = 1.0 }\nb = { dist = \"uniform\", min = 0.0, max = 1.0 }",
        5,
        &["a", "b"],
    );
    let mut rows = Vec::new();
    g.fill(0, N, &mut rows);
    let a: Vec<f64> = rows.iter().step_by(2).copied().collect();
    let b: Vec<f64> = rows.iter().skip(1).step_by(2).copied().collect();
    let corr = |x: &[f64], y: &[f64]| {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(y).map(|(p, q)| (p - mx) * (q - my)).sum();
        let vx: f64 = x.iter().map(|p| (p - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|q| (q - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    };
    // Under independence the sample correlation has standard error 1/√n.
    let bound = 5.0 / (a.len() as f64).sqrt();
    assert!(corr(&a, &b).abs() < bound, "a vs b: {}", corr(&a, &b));
    assert!(
        corr(&a[1..], &a[..a.len() - 1]).abs() < bound,
        "lag-1 autocorrelation"
    );
}

/// The Kolmogorov–Smirnov distance between the sample `xs` and the CDF `cdf`.
fn ks_distance(xs: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, x)| {
            let f = cdf(*x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// KS's critical distance at level 0.001 for `n` draws: a correct sampler exceeds it once in a
/// thousand seeds.
fn ks_critical(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

#[test]
fn truncated_variables_stay_in_their_interval_and_follow_the_conditioned_distribution() {
    use statrs::distribution::{Beta, ContinuousCDF, Gamma, LogNormal, Normal, StudentsT};
    type Cdf = Box<dyn Fn(f64) -> f64>;
    let cases: Vec<(&str, [f64; 2], Cdf)> = vec![
        (
            r#"{ dist = "gamma", shape = 2.0, scale = 3.0, truncate = [1.0, 10.0] }"#,
            [1.0, 10.0],
            Box::new(|x| Gamma::new(2.0, 1.0 / 3.0).unwrap().cdf(x)),
        ),
        (
            r#"{ dist = "lognormal", mu = 0.0, sigma = 1.0, truncate = [0.5, 3.0] }"#,
            [0.5, 3.0],
            Box::new(|x| LogNormal::new(0.0, 1.0).unwrap().cdf(x)),
        ),
        (
            r#"{ dist = "normal", mean = 0.0, std = 1.0, truncate = [1.0, 4.0] }"#,
            [1.0, 4.0],
            Box::new(|x| Normal::standard().cdf(x)),
        ),
        (
            r#"{ dist = "student_t", df = 3.0, truncate = [-2.0, 0.5] }"#,
            [-2.0, 0.5],
            Box::new(|x| StudentsT::new(0.0, 1.0, 3.0).unwrap().cdf(x)),
        ),
        (
            r#"{ dist = "pert", min = 0.0, mode = 2.0, max = 10.0, truncate = [1.0, 6.0] }"#,
            [1.0, 6.0],
            Box::new(|x| Beta::new(1.8, 4.2).unwrap().cdf(x / 10.0)),
        ),
    ];
    for (dist, [a, b], cdf) in cases {
        let (_, mut xs) = draws(dist, 7);
        assert!(
            xs.iter().all(|x| (a..=b).contains(x)),
            "{dist}: a draw outside [{a}, {b}]"
        );
        let (fa, fb) = (cdf(a), cdf(b));
        let d = ks_distance(&mut xs, |x| (cdf(x) - fa) / (fb - fa));
        assert!(
            d < ks_critical(N),
            "{dist}: KS distance {d} to the truncated CDF"
        );
    }
}

#[test]
fn a_distribution_given_by_percentiles_has_them() {
    let (_, xs) = draws(r#"{ dist = "normal", p5 = 80, p95 = 120 }"#, 11);
    let (_, ys) = draws(r#"{ dist = "pert", p10 = 5, mode = 8, p90 = 20 }"#, 12);
    for (sample, x, q) in [
        (&xs, 80.0, 0.05),
        (&xs, 120.0, 0.95),
        (&ys, 5.0, 0.1),
        (&ys, 20.0, 0.9),
    ] {
        let below = sample.iter().filter(|v| **v < x).count() as f64 / N as f64;
        let se = (q * (1.0 - q) / N as f64).sqrt();
        assert!(
            (below - q).abs() <= 5.0 * se,
            "P(X < {x}) = {below}, not {q} (5 se = {})",
            5.0 * se
        );
    }
}

#[test]
fn an_interval_with_no_probability_is_refused_naming_the_variable() {
    let spec = spec_for(
        r#"x = { dist = "exponential", rate = 1.0, truncate = [-5.0, -1.0] }"#,
        1,
    );
    let err = ScenarioGenerator::new(&spec, &["x".to_string()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "variables.x: exponential: truncate = [-5, -1] holds no probability of this \
         exponential: move the interval to where the distribution has its values"
    );
}
