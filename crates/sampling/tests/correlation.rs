//! Correlated groups: the achieved rank correlations of every copula against their targets,
//! margins kept, tail dependence, Latin hypercube strata, determinism per index, and repaired
//! matrices drawn as repaired.

use super::{ks_critical, ks_distance};
use mcp_sampling::ScenarioGenerator;
use mcp_spec::Spec;

/// Spearman's rank correlation of `a` and `b` (no ties: continuous margins).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let ranks = |v: &[f64]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        for (rank, i) in order.into_iter().enumerate() {
            r[i] = rank as f64;
        }
        r
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let mean = (n - 1.0) / 2.0;
    let cov: f64 = ra
        .iter()
        .zip(&rb)
        .map(|(x, y)| (x - mean) * (y - mean))
        .sum();
    let var: f64 = ra.iter().map(|x| (x - mean).powi(2)).sum();
    cov / var
}

const MARGINS: [&str; 5] = [
    r#"{ dist = "normal", mean = 10.0, std = 2.0 }"#,
    r#"{ dist = "lognormal", mu = 0.0, sigma = 0.5 }"#,
    r#"{ dist = "gamma", shape = 2.0, scale = 1.0 }"#,
    r#"{ dist = "uniform", min = -1.0, max = 1.0 }"#,
    r#"{ dist = "pert", min = 0.0, mode = 1.0, max = 5.0, truncate = [0.5, 4.0] }"#,
];

/// `k` variables with mixed margins, rank-correlated `target[i][j] = rho^|i - j|`, joined by
/// `copula`; the sample of `n` scenarios, one column per variable.
fn correlated(k: usize, rho: f64, copula: &str, n: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let target: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| rho.powi((i as i32 - j as i32).abs()))
                .collect()
        })
        .collect();
    let margins: Vec<&str> = (0..k).map(|i| MARGINS[i % MARGINS.len()]).collect();
    let columns = draw(&joined(&margins, &target, copula, n, "mc", 99), n);
    (columns, target)
}

/// `n` scenarios of a spec and its inputs, one column per input.
fn draw((spec, names): &(Spec, Vec<String>), n: usize) -> Vec<Vec<f64>> {
    let generator = ScenarioGenerator::new(spec, names).unwrap();
    let mut out = Vec::new();
    generator.fill(0, n, &mut out);
    let k = names.len();
    (0..k)
        .map(|j| out.iter().skip(j).step_by(k).copied().collect())
        .collect()
}

/// Variables `v00`, `v01`, … with `margins`, in one `[[correlation]]` group of `matrix` (rank
/// correlations) and `copula` (its TOML lines); `n` scenarios under `sampling` with `seed`. The
/// spec and its variables' names.
fn joined(
    margins: &[&str],
    matrix: &[Vec<f64>],
    copula: &str,
    n: usize,
    sampling: &str,
    seed: u64,
) -> (Spec, Vec<String>) {
    let names: Vec<String> = (0..margins.len()).map(|i| format!("v{i:02}")).collect();
    let vars: String = names
        .iter()
        .zip(margins)
        .map(|(n, m)| format!("{n} = {m}\n"))
        .collect();
    let rows: Vec<String> = matrix
        .iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().map(|x| format!("{x:?}")).collect();
            format!("[{}]", cells.join(", "))
        })
        .collect();
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let text = format!(
        "[simulation]\nscenarios = {n}\nseed = {seed}\nsampling = \"{sampling}\"\n\
         [variables]\n{vars}\n[[correlation]]\nvariables = [{}]\nmatrix = [{}]\n{copula}\n",
        quoted.join(", "),
        rows.join(", ")
    );
    let spec = Spec::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    (spec, names)
}

/// The 2 × 2 matrix of rank correlation `rho`.
fn pair_matrix(rho: f64) -> Vec<Vec<f64>> {
    vec![vec![1.0, rho], vec![rho, 1.0]]
}

/// Every copula, as its TOML lines.
const COPULAS: [&str; 5] = [
    "copula = \"gaussian\"",
    "copula = \"student_t\"\ndf = 4",
    "copula = \"clayton\"",
    "copula = \"gumbel\"",
    "copula = \"frank\"",
];

#[test]
fn achieved_rank_correlations_match_the_target_for_2_to_10_variables_and_both_elliptical_copulas() {
    let n = 20_000;
    // Spearman's standard error is at most 1/sqrt(n - 1) whatever the correlation.
    let tolerance = 5.0 / ((n - 1) as f64).sqrt();
    for copula in ["copula = \"gaussian\"", "copula = \"student_t\"\ndf = 4"] {
        for (k, rho) in [(2, 0.8), (3, -0.6), (5, 0.5), (10, 0.7)] {
            let (columns, target) = correlated(k, rho, copula, n);
            for i in 0..k {
                for j in 0..i {
                    let got = spearman(&columns[i], &columns[j]);
                    assert!(
                        (got - target[i][j]).abs() <= tolerance,
                        "{copula}, {k} variables: v{i}–v{j} rank correlation {got}, target {} \
                         (tolerance {tolerance})",
                        target[i][j]
                    );
                }
            }
        }
    }
}

#[test]
fn correlated_margins_keep_their_distributions() {
    use statrs::distribution::{ContinuousCDF, Gamma, LogNormal, Normal};
    let n = 20_000;
    let (mut columns, _) = correlated(3, 0.9, "copula = \"student_t\"\ndf = 3", n);
    type Cdf = Box<dyn Fn(f64) -> f64>;
    let cdfs: [Cdf; 3] = [
        Box::new(|x| Normal::new(10.0, 2.0).unwrap().cdf(x)),
        Box::new(|x| LogNormal::new(0.0, 0.5).unwrap().cdf(x)),
        Box::new(|x| Gamma::new(2.0, 1.0).unwrap().cdf(x)),
    ];
    for (column, cdf) in columns.iter_mut().zip(cdfs) {
        let d = ks_distance(column, cdf);
        assert!(d < ks_critical(n), "KS distance {d} to the margin");
    }
}

#[test]
fn a_correlated_scenario_is_the_same_whatever_batch_it_is_drawn_in() {
    let four: Vec<Vec<f64>> = (0..4i32)
        .map(|i| (0..4).map(|j| 0.6f64.powi((i - j).abs())).collect())
        .collect();
    let mut cases = vec![(four, COPULAS[0])];
    cases.extend(COPULAS.iter().map(|c| (pair_matrix(0.6), *c)));
    for (matrix, copula) in cases {
        let margins = &MARGINS[..matrix.len()];
        let whole = draw(&joined(margins, &matrix, copula, 1000, "mc", 99), 1000);
        let (spec, names) = joined(margins, &matrix, copula, 1000, "mc", 99);
        // A generator built anew, drawing scenarios 500..1000 on their own, then scenario 777
        // alone: the same bits.
        let generator = ScenarioGenerator::new(&spec, &names).unwrap();
        let mut part = Vec::new();
        generator.fill(500, 500, &mut part);
        let k = matrix.len();
        for (r, row) in part.chunks(k).enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert_eq!(v.to_bits(), whole[j][500 + r].to_bits(), "{copula}");
            }
        }
        let alone = generator.scenario(777);
        for (j, v) in alone.iter().enumerate() {
            assert_eq!(v.to_bits(), whole[j][777].to_bits(), "{copula}");
        }
        // Another seed, other values.
        let other = draw(&joined(margins, &matrix, copula, 1000, "mc", 100), 1000);
        assert_ne!(other[1][..10], whole[1][..10], "{copula}");
    }
}

/// Spearman's rank correlation of `a` and `b` estimated as the mean over `batches` equal
/// sub-samples, and a tolerance for it of five standard errors: the sub-samples are
/// independent, so the mean's standard error is their standard deviation over √batches. The
/// estimator of one sub-sample of `m` is biased by `3 (τ − ρ_S)/(m + 1)`, at most `3/(m + 1)`
/// in absolute value (Kendall's τ and ρ_S both lie in [−1, 1]), which is added.
fn spearman_with_tolerance(a: &[f64], b: &[f64], batches: usize) -> (f64, f64) {
    let m = a.len() / batches;
    let each: Vec<f64> = (0..batches)
        .map(|i| spearman(&a[i * m..(i + 1) * m], &b[i * m..(i + 1) * m]))
        .collect();
    let mean = each.iter().sum::<f64>() / batches as f64;
    let var = each.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (batches - 1) as f64;
    let se = (var / batches as f64).sqrt();
    (mean, 5.0 * se + 3.0 / (m + 1) as f64)
}

#[test]
fn every_copula_reaches_its_rank_correlation_of_either_sign_it_allows() {
    let n = 100_000;
    let mut cases = Vec::new();
    for copula in COPULAS {
        cases.extend([(copula, 0.3), (copula, 0.8)]);
    }
    for copula in [
        COPULAS[0],
        COPULAS[1],
        COPULAS[4],
        "copula = \"student_t\"\ndf = 1",
    ] {
        cases.extend([(copula, -0.5), (copula, -0.9), (copula, 0.0)]);
    }
    for (copula, rho) in cases {
        let columns = draw(
            &joined(&MARGINS[..2], &pair_matrix(rho), copula, n, "mc", 7),
            n,
        );
        let (got, tolerance) = spearman_with_tolerance(&columns[0], &columns[1], 40);
        eprintln!("{copula}: target {rho}, achieved {got:.4} ± {tolerance:.4}");
        assert!(
            (got - rho).abs() <= tolerance,
            "{copula}: rank correlation {got}, target {rho} (tolerance {tolerance})"
        );
    }
}

#[test]
fn archimedean_margins_keep_their_distributions() {
    use statrs::distribution::{ContinuousCDF, LogNormal, Normal};
    let n = 20_000;
    for (copula, rho) in [
        (COPULAS[2], 0.8),
        (COPULAS[3], 0.8),
        (COPULAS[4], -0.9),
        (COPULAS[4], 0.5),
    ] {
        let mut columns = draw(
            &joined(&MARGINS[..2], &pair_matrix(rho), copula, n, "mc", 5),
            n,
        );
        let normal = Normal::new(10.0, 2.0).unwrap();
        let lognormal = LogNormal::new(0.0, 0.5).unwrap();
        let d0 = ks_distance(&mut columns[0], |x| normal.cdf(x));
        let d1 = ks_distance(&mut columns[1], |x| lognormal.cdf(x));
        assert!(
            d0 < ks_critical(n) && d1 < ks_critical(n),
            "{copula} at {rho}: KS distances {d0}, {d1} to the margins"
        );
    }
}

/// The frequency of both of a pair's uniforms below `q` (`lower`) or above `1 − q`, with
/// `copula` at rank correlation `rho`; and that frequency's standard error, `√(p(1 − p)/n)`.
fn co_exceedance(copula: &str, rho: f64, q: f64, lower: bool) -> (f64, f64) {
    let n = 200_000;
    let uniform = r#"{ dist = "uniform", min = 0.0, max = 1.0 }"#;
    let columns = draw(
        &joined(&[uniform, uniform], &pair_matrix(rho), copula, n, "mc", 11),
        n,
    );
    let both = (0..n)
        .filter(|&i| {
            let (a, b) = (columns[0][i], columns[1][i]);
            if lower {
                a < q && b < q
            } else {
                a > 1.0 - q && b > 1.0 - q
            }
        })
        .count();
    let p = both as f64 / n as f64;
    (p, (p * (1.0 - p) / n as f64).sqrt())
}

#[test]
fn clayton_joins_lower_tails_and_gumbel_upper_tails_more_than_the_gaussian() {
    // At equal rank correlation, both below (or above) their 1% quantile together. Each
    // comparison must hold by five standard errors of the difference of two independent
    // frequencies, √(se₁² + se₂²).
    let (rho, q) = (0.5, 0.01);
    let apart = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0) / a.1.hypot(b.1);
    for lower in [true, false] {
        let gaussian = co_exceedance(COPULAS[0], rho, q, lower);
        let clayton = co_exceedance(COPULAS[2], rho, q, lower);
        let gumbel = co_exceedance(COPULAS[3], rho, q, lower);
        let frank = co_exceedance(COPULAS[4], rho, q, lower);
        let tail = if lower { "lower" } else { "upper" };
        eprintln!(
            "{tail} tail: gaussian {:.5}, clayton {:.5}, gumbel {:.5}, frank {:.5}",
            gaussian.0, clayton.0, gumbel.0, frank.0
        );
        let (heavy, light) = if lower {
            (clayton, gumbel)
        } else {
            (gumbel, clayton)
        };
        assert!(
            apart(heavy, gaussian) > 5.0,
            "{tail}: {heavy:?} vs {gaussian:?}"
        );
        assert!(
            apart(gaussian, light) > 5.0,
            "{tail}: {gaussian:?} vs {light:?}"
        );
        assert!(
            apart(gaussian, frank) > 5.0,
            "{tail}: {gaussian:?} vs frank {frank:?}"
        );
    }
}

#[test]
fn latin_hypercube_stratifies_the_first_member_of_an_archimedean_pair() {
    let n = 1000;
    let uniform = r#"{ dist = "uniform", min = 0.0, max = 1.0 }"#;
    for copula in &COPULAS[2..] {
        let mut columns = draw(
            &joined(&[uniform, uniform], &pair_matrix(0.7), copula, n, "lhs", 3),
            n,
        );
        let mut hit = vec![0u32; n];
        for u in &columns[0] {
            hit[(u * n as f64) as usize] += 1;
        }
        assert!(hit.iter().all(|h| *h == 1), "{copula}: a stratum missed");
        // The second member is uniform all the same.
        let d = ks_distance(&mut columns[1], |x| x);
        assert!(d < ks_critical(n), "{copula}: KS distance {d}");
    }
}

#[test]
fn a_repaired_matrix_is_the_one_sampled() {
    let n = 20_000;
    let written = vec![
        vec![1.0, 0.9, 0.9],
        vec![0.9, 1.0, -0.9],
        vec![0.9, -0.9, 1.0],
    ];
    let (spec, names) = joined(&MARGINS[..3], &written, "repair = true", n, "mc", 13);
    let repaired = &spec.correlations[0].matrix;
    let generator = ScenarioGenerator::new(&spec, &names).unwrap();
    let mut out = Vec::new();
    generator.fill(0, n, &mut out);
    let column = |j: usize| -> Vec<f64> { out.iter().skip(j).step_by(3).copied().collect() };
    // Spearman's standard error is at most 1/√(n − 1) whatever the correlation.
    let tolerance = 5.0 / ((n - 1) as f64).sqrt();
    for i in 0..3 {
        for j in 0..i {
            let got = spearman(&column(i), &column(j));
            assert!(
                (got - repaired[i][j]).abs() <= tolerance,
                "v{i}–v{j}: {got}, repaired target {}",
                repaired[i][j]
            );
            // The written one is not what is drawn: it lies far beyond the tolerance.
            assert!((got - written[i][j]).abs() > 10.0 * tolerance);
        }
    }
}
