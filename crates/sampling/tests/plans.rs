//! Sampling plans (Latin hypercube, scrambled Sobol) and vector and path inputs: strata hit
//! exactly once, variance of the mean against plain Monte Carlo, path steps against their
//! processes' analytic moments, and the streams of a vector's elements.

use mcp_sampling::ScenarioGenerator;
use mcp_spec::Spec;

/// `k` variables uniform on [0, 1) under `sampling`, `n` scenarios; one column per variable.
fn plan(sampling: &str, seed: u64, n: usize, k: usize) -> Vec<Vec<f64>> {
    let names: Vec<String> = (0..k).map(|i| format!("u{i}")).collect();
    let vars: String = names
        .iter()
        .map(|n| format!("{n} = {{ dist = \"uniform\", min = 0.0, max = 1.0 }}\n"))
        .collect();
    let text = format!(
        "[simulation]\nscenarios = {n}\nseed = {seed}\nsampling = \"{sampling}\"\n[variables]\n{vars}"
    );
    let spec = Spec::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let generator = ScenarioGenerator::new(&spec, &names).unwrap();
    let mut out = Vec::new();
    generator.fill(0, n, &mut out);
    (0..k)
        .map(|j| out.iter().skip(j).step_by(k).copied().collect())
        .collect()
}

#[test]
fn latin_hypercube_hits_every_stratum_of_every_variable_exactly_once() {
    let n = 1000;
    for column in plan("lhs", 3, n, 4) {
        let mut hit = vec![0u32; n];
        for u in column {
            hit[(u * n as f64) as usize] += 1;
        }
        assert!(
            hit.iter().all(|h| *h == 1),
            "a stratum hit {:?} times",
            hit.iter().max()
        );
    }
    // Plain Monte Carlo leaves some strata empty.
    let mc = &plan("mc", 3, n, 1)[0];
    let mut hit = vec![0u32; n];
    for u in mc {
        hit[(u * n as f64) as usize] += 1;
    }
    assert!(hit.contains(&0));
}

#[test]
fn latin_hypercube_has_a_smaller_variance_of_the_mean_on_a_smooth_model() {
    // The model: the sum of five inputs, which Latin hypercube makes nearly exact. Each variance
    // comes from 100 jobs of 500 scenarios, so within about ±30% (two standard errors of a
    // sample variance); the bound leaves far more than that.
    let sum = |u: &[f64]| u.iter().sum::<f64>();
    let (mc, lhs) = (
        variance_of_mean("mc", 500, 100, sum),
        variance_of_mean("lhs", 500, 100, sum),
    );
    eprintln!(
        "variance of the mean: mc {mc:.3e}, lhs {lhs:.3e}, ratio {:.2e}",
        lhs / mc
    );
    assert!(lhs < mc / 100.0, "mc {mc}, lhs {lhs}");
}

/// The variance of the mean of `model` over `runs` jobs (seeds 1..=runs) of `n` scenarios of
/// five uniforms, under `sampling`.
fn variance_of_mean(sampling: &str, n: usize, runs: u64, model: impl Fn(&[f64]) -> f64) -> f64 {
    let means: Vec<f64> = (1..=runs)
        .map(|seed| {
            let columns = plan(sampling, seed, n, 5);
            (0..n)
                .map(|i| model(&columns.iter().map(|c| c[i]).collect::<Vec<_>>()))
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let m = means.iter().sum::<f64>() / means.len() as f64;
    means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (means.len() - 1) as f64
}

#[test]
fn sobol_beats_latin_hypercube_and_plain_mc_on_a_smooth_model_with_interactions() {
    // Products of inputs: Latin hypercube removes only the additive part of the variance,
    // a scrambled Sobol net also most of the interactions. Each variance is estimated from 64
    // jobs, so within about ±35% (two standard errors of a sample variance, 2·√(2/63)); the
    // bounds below leave a factor of 3 or more beyond that.
    let model = |u: &[f64]| u[0] * u[1] + u[2] * u[3] * u[4] + (u[0] + u[4]).sin() + u[2];
    let n = 4096;
    let mc = variance_of_mean("mc", n, 64, model);
    let lhs = variance_of_mean("lhs", n, 64, model);
    let sobol = variance_of_mean("sobol", n, 64, model);
    eprintln!(
        "variance of the mean over 64 jobs of {n}: mc {mc:.3e}, lhs {lhs:.3e} ({:.1}x less), \
         sobol {sobol:.3e} ({:.1}x less)",
        mc / lhs,
        mc / sobol
    );
    assert!(lhs < mc / 2.0, "lhs {lhs}, mc {mc}");
    assert!(sobol < lhs / 10.0, "sobol {sobol}, lhs {lhs}");
}

#[test]
fn sobol_fills_every_stratum_once_per_block_and_keeps_its_margins() {
    // 2^16 scenarios are one scrambled block: each of its 2^16 strata is hit exactly once.
    let n = 1 << 16;
    for column in plan("sobol", 9, n, 3) {
        let mut hit = vec![0u32; n];
        for u in &column {
            hit[(u * n as f64) as usize] += 1;
        }
        assert!(
            hit.iter().all(|h| *h == 1),
            "a stratum hit {:?} times",
            hit.iter().max()
        );
    }
    // Past one block the design is a union of independently scrambled blocks: still uniform.
    let column = &plan("sobol", 9, 3 << 16, 1)[0];
    let mut counts = [0u32; 4];
    for u in column {
        counts[(u * 4.0) as usize] += 1;
    }
    assert_eq!(
        counts,
        [3 << 14; 4],
        "each quarter holds a quarter of three blocks"
    );
}

/// `n` rows of a spec's inputs (in the spec's name order), with its width.
fn rows(vars: &str, sampling: &str, n: usize, seed: u64) -> (Spec, usize, Vec<f64>) {
    let text = format!(
        "[simulation]\nscenarios = {n}\nseed = {seed}\nsampling = \"{sampling}\"\n[variables]\n{vars}\n"
    );
    let spec = Spec::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = spec.variables.iter().map(|v| v.name.clone()).collect();
    let generator = ScenarioGenerator::new(&spec, &names).unwrap();
    let mut out = Vec::new();
    generator.fill(0, n, &mut out);
    (spec, generator.width(), out)
}

/// Sample mean and variance of column `j` of rows `width` wide, mapped by `f`.
fn column_moments(out: &[f64], width: usize, j: usize, f: impl Fn(f64) -> f64) -> (f64, f64) {
    let xs: Vec<f64> = out.iter().skip(j).step_by(width).map(|&x| f(x)).collect();
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (
        m,
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

#[test]
fn path_steps_have_their_processes_analytic_moments() {
    // Each step k is checked against the process's moments: the mean within 5 standard errors
    // (√(var/n)), the variance within 5 of its own (σ²√(2/n) for the normal steps of AR(1) and
    // of the log of a GBM, both exactly normal).
    let n = 40_000;
    let vars = "ar = { process = \"ar1\", x0 = 5.0, mean = 1.0, phi = 0.8, sigma = 0.5, steps = 30 }\n\
                s = { process = \"gbm\", s0 = 100.0, mu = 0.05, sigma = 0.3, dt = 0.1, steps = 20 }";
    for sampling in ["mc", "lhs", "sobol"] {
        let (spec, width, out) = rows(vars, sampling, n, 77);
        assert_eq!(width, 50);
        let ar = spec.variable("ar").unwrap().process.unwrap();
        let gbm = spec.variable("s").unwrap().process.unwrap();
        let close = |what: String, got: f64, want: f64, se: f64| {
            assert!(
                (got - want).abs() <= 5.0 * se,
                "{sampling} {what}: {got} vs {want} (se {se})"
            );
        };
        for k in [1u32, 2, 10, 30] {
            let (mean, var) = ar.moments(k);
            let (m, v) = column_moments(&out, width, k as usize - 1, |x| x);
            close(
                format!("ar1 step {k} mean"),
                m,
                mean,
                (var / n as f64).sqrt(),
            );
            close(
                format!("ar1 step {k} variance"),
                v,
                var,
                var * (2.0 / n as f64).sqrt(),
            );
        }
        let mcp_spec::Process::Gbm { s0, mu, sigma, dt } = gbm else {
            unreachable!()
        };
        for k in [1u32, 5, 20] {
            let t = f64::from(k) * dt;
            let (log_mean, log_var) = (s0.ln() + (mu - sigma * sigma / 2.0) * t, sigma * sigma * t);
            let (m, v) = column_moments(&out, width, 30 + k as usize - 1, f64::ln);
            close(
                format!("log gbm step {k} mean"),
                m,
                log_mean,
                (log_var / n as f64).sqrt(),
            );
            close(
                format!("log gbm step {k} variance"),
                v,
                log_var,
                log_var * (2.0 / n as f64).sqrt(),
            );
            let (mean, var) = gbm.moments(k);
            let (m, _) = column_moments(&out, width, 30 + k as usize - 1, |x| x);
            close(
                format!("gbm step {k} mean"),
                m,
                mean,
                (var / n as f64).sqrt(),
            );
        }
    }
}

#[test]
fn a_vector_inputs_elements_are_independent_draws_of_its_distribution() {
    let n = 50_000;
    let (_, width, out) = rows(
        "v = { dist = \"uniform\", min = 0.0, max = 1.0, size = 8 }",
        "mc",
        n,
        5,
    );
    assert_eq!(width, 8);
    // Each element is U(0, 1): mean 1/2 within 5 se (√(1/12/n)); neighbours uncorrelated:
    // the sample correlation's se is 1/√n.
    let se = (1.0 / 12.0 / n as f64).sqrt();
    for j in 0..8 {
        let (m, _) = column_moments(&out, width, j, |x| x);
        assert!((m - 0.5).abs() < 5.0 * se, "element {j}: mean {m}");
    }
    for j in 0..7 {
        let (a, b): (Vec<f64>, Vec<f64>) = out
            .chunks_exact(width)
            .map(|r| (r[j] - 0.5, r[j + 1] - 0.5))
            .unzip();
        let r = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() * 12.0 / n as f64;
        assert!(
            r.abs() < 5.0 / (n as f64).sqrt(),
            "elements {j} and {}: r = {r}",
            j + 1
        );
    }
}

#[test]
fn a_vector_elements_draws_do_not_depend_on_the_vectors_size_nor_on_the_batch() {
    // Element k draws from the stream of `name[k]`: growing the vector keeps the first
    // elements' values (common random numbers), and scenario i alone equals row i.
    let (_, _, short) = rows(
        "v = { dist = \"normal\", mean = 0, std = 1, size = 3 }",
        "mc",
        100,
        9,
    );
    let (spec, width, long) = rows(
        "v = { dist = \"normal\", mean = 0, std = 1, size = 5 }",
        "mc",
        100,
        9,
    );
    for (a, b) in short.chunks_exact(3).zip(long.chunks_exact(5)) {
        assert_eq!(a, &b[..3]);
    }
    let generator = ScenarioGenerator::new(&spec, &["v".to_string()]).unwrap();
    assert_eq!(
        generator.scenario(42),
        long[42 * width..43 * width].to_vec()
    );
}
