//! Tests of `mcp-fit` on generated data: estimates recover the parameters that made the data,
//! the family that made them ranks first, and the plot draws what it says.

mod plot;
mod ranking;
mod recovery;

use mcp_fit::{Column, Criterion, Fit, Kind, Report};
use mcp_spec::Distribution;
use rand::SeedableRng as _;
use rand_pcg::Pcg64;

/// Values per generated sample: enough that four standard errors are small against the
/// parameters, few enough for a debug build.
pub const N: usize = 20_000;

/// `n` draws from `dist` with a fixed seed.
pub fn draws<D: rand::distr::Distribution<f64>>(dist: D, seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Pcg64::seed_from_u64(seed);
    (0..n).map(|_| dist.sample(&mut rng)).collect()
}

/// The report of `values` as column `x`, of the kind their values suggest.
pub fn report(values: Vec<f64>, criterion: Criterion) -> Report {
    let column = Column {
        name: "x".into(),
        values,
    };
    mcp_fit::fit(&column, None, criterion).unwrap()
}

/// The fit of family `name` in `report`.
pub fn fit<'a>(report: &'a Report, name: &str) -> &'a Fit {
    report
        .fits
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no {name} fit in {report:#?}"))
}

/// Checks that `estimate` is within four standard errors `se` of `truth`.
#[track_caller]
pub fn within(what: &str, estimate: f64, truth: f64, se: f64) {
    assert!(
        (estimate - truth).abs() < 4.0 * se,
        "{what}: estimate {estimate}, truth {truth}, 4 SE = {}",
        4.0 * se
    );
}

/// ψ′(m) for a whole number m ≥ 1: ψ′(1) = π²/6 and ψ′(x + 1) = ψ′(x) − 1/x².
pub fn trigamma_whole(m: u32) -> f64 {
    let pi2_6 = std::f64::consts::PI.powi(2) / 6.0;
    pi2_6 - (1..m).map(|j| 1.0 / f64::from(j * j)).sum::<f64>()
}

/// The kind is continuous in every test but the counts'.
pub fn continuous(report: &Report) -> bool {
    report.kind == Kind::Continuous
}

/// Unwraps the distribution of a fit.
pub fn dist(fit: &Fit) -> &Distribution {
    &fit.distribution
}
