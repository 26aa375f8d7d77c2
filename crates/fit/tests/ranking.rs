//! The family that generated the data ranks first.
//!
//! Normal, lognormal, gamma and Weibull are not nested in one another: at n = 20,000 the
//! wrong family's log-likelihood falls short by n times the Kullback–Leibler divergence from
//! the best member of its family, hundreds of units here, against sampling noise of order √n
//! times a small per-value spread; AIC ranks the right one first. The exponential is the
//! gamma and the Weibull of shape 1: the nested fits gain χ²₁/2 in log-likelihood by chance,
//! which beats AIC's charge of 2 for the extra parameter 16% of the time, so it is ranked by
//! BIC, whose charge ln n ≈ 9.9 is beaten with probability P(χ²₁ > 9.9) < 0.2%.

use crate::*;
use statrs::distribution as sd;

fn first(values: Vec<f64>, criterion: Criterion) -> &'static str {
    let r = report(values, criterion);
    assert!(continuous(&r));
    r.best().name()
}

#[test]
fn the_generating_family_ranks_first() {
    let cases: [(&str, Vec<f64>, Criterion); 5] = [
        (
            "normal",
            draws(sd::Normal::new(10.0, 2.0).unwrap(), 21, N),
            Criterion::Aic,
        ),
        (
            "lognormal",
            draws(sd::LogNormal::new(1.0, 0.5).unwrap(), 22, N),
            Criterion::Aic,
        ),
        (
            "gamma",
            draws(sd::Gamma::new(2.5, 1.0 / 3.0).unwrap(), 23, N),
            Criterion::Aic,
        ),
        (
            "weibull",
            draws(sd::Weibull::new(1.5, 2.0).unwrap(), 24, N),
            Criterion::Aic,
        ),
        (
            "exponential",
            draws(sd::Exp::new(0.5).unwrap(), 25, N),
            Criterion::Bic,
        ),
    ];
    for (family, values, criterion) in cases {
        assert_eq!(
            first(values, criterion),
            family,
            "data drawn from a {family}"
        );
    }
}

#[test]
fn families_whose_support_excludes_the_data_are_skipped_with_the_reason() {
    let r = report(
        draws(sd::Normal::new(0.0, 1.0).unwrap(), 26, 500),
        Criterion::Aic,
    );
    let reasons: Vec<(&str, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.dist.name(), s.reason.as_str()))
        .collect();
    let names: Vec<&str> = reasons.iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        ["lognormal", "exponential", "gamma", "weibull", "beta"]
    );
    assert!(
        reasons[0]
            .1
            .starts_with("needs values above 0; the smallest is -")
    );
    assert!(
        reasons[4]
            .1
            .starts_with("needs values strictly between 0 and 1")
    );
    // The rest are ranked by AIC, best first.
    assert!(r.fits.windows(2).all(|w| w[0].aic <= w[1].aic));
    assert_eq!(r.fits.len(), 4);
}

#[test]
fn the_criteria_are_those_of_the_log_likelihood() {
    let r = report(
        draws(sd::Gamma::new(2.0, 1.0).unwrap(), 27, 1000),
        Criterion::Bic,
    );
    assert_eq!(r.criterion, Criterion::Bic);
    assert!(r.fits.windows(2).all(|w| w[0].bic <= w[1].bic));
    for f in &r.fits {
        let k = f.parameters as f64;
        assert_eq!(f.aic, 2.0 * k - 2.0 * f.log_likelihood);
        assert_eq!(f.bic, k * 1000f64.ln() - 2.0 * f.log_likelihood);
    }
    // Maximum likelihood: a normal with a larger or smaller std scores worse.
    let normal = fit(&r, "normal");
    let mcp_spec::Distribution::Normal { mean, std } = normal.distribution else {
        unreachable!()
    };
    let values = draws(sd::Gamma::new(2.0, 1.0).unwrap(), 27, 1000);
    let ll = |s: f64| {
        let d = sd::Normal::new(mean, s).unwrap();
        values
            .iter()
            .map(|&x| statrs::distribution::Continuous::ln_pdf(&d, x))
            .sum::<f64>()
    };
    assert!((ll(std) - normal.log_likelihood).abs() < 1e-6);
    assert!(ll(std * 1.01) < normal.log_likelihood && ll(std * 0.99) < normal.log_likelihood);
}

#[test]
fn counts_are_fitted_with_discrete_families_unless_told_otherwise() {
    let values = draws(sd::Poisson::new(4.0).unwrap(), 28, 2000);
    let column = Column {
        name: "claims".into(),
        values,
    };
    let r = mcp_fit::fit(&column, None, Criterion::Aic).unwrap();
    assert_eq!(r.kind, Kind::Discrete);
    assert_eq!(r.best().name(), "poisson");
    let r = mcp_fit::fit(&column, Some(Kind::Continuous), Criterion::Aic).unwrap();
    assert_eq!(r.kind, Kind::Continuous);
    let measurements = Column {
        name: "loss".into(),
        values: vec![0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    };
    assert_eq!(
        mcp_fit::fit(&measurements, Some(Kind::Discrete), Criterion::Aic)
            .unwrap_err()
            .0,
        "column `loss`: the discrete families fit counts (whole numbers of 0 or more), but it \
         holds 0.5; fit it as continuous"
    );
}
