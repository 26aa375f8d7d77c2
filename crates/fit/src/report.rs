//! Every candidate family fitted and scored, ranked by an information criterion: the table
//! `mcp fit` prints.

use crate::Sample;
use crate::estimate::{Family, Kind};
use crate::gof::gof;
use crate::model::Model;
use mcp_spec::Distribution;
use serde::Serialize;

/// What ranks the fits: both reward likelihood and charge for parameters; BIC charges more
/// as the data grow (`k ln n` against AIC's `2k`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Akaike: `2k − 2 ln L`.
    #[default]
    Aic,
    /// Bayesian (Schwarz): `k ln n − 2 ln L`.
    Bic,
}

/// One family fitted to the data.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    /// The maximum likelihood estimate, as `vars.toml` writes it.
    pub distribution: Distribution,
    /// `ln L`: the sum of the log-densities (log-probabilities for counts) of the values.
    pub log_likelihood: f64,
    /// `k`, the number of parameters estimated.
    pub parameters: usize,
    /// `2k − 2 ln L`.
    pub aic: f64,
    /// `k ln n − 2 ln L`.
    pub bic: f64,
    /// Kolmogorov–Smirnov D.
    pub ks: f64,
    /// D's asymptotic p-value (continuous fits); optimistic, since the parameters come from
    /// the same data.
    pub ks_p: Option<f64>,
    /// Anderson–Darling A² (continuous fits).
    pub ad: Option<f64>,
}

impl Fit {
    /// The family's name in `vars.toml`.
    pub fn name(&self) -> &'static str {
        self.distribution.name()
    }

    /// The value of the criterion.
    pub fn score(&self, criterion: Criterion) -> f64 {
        match criterion {
            Criterion::Aic => self.aic,
            Criterion::Bic => self.bic,
        }
    }
}

/// A family not fitted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The family.
    pub dist: Family,
    /// Why: its support excludes some values, or no estimate exists.
    pub reason: String,
}

/// The fits of one column, best first.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The column's name.
    pub column: String,
    /// How many values were fitted.
    pub values: usize,
    /// Measurements or counts: which families were tried.
    pub kind: Kind,
    /// What ranks the fits.
    pub criterion: Criterion,
    /// The fits, best first (ties in the order of [`Family::of`]).
    pub fits: Vec<Fit>,
    /// The families of the kind that were not fitted.
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// Fits every family of `kind` to `sample` and ranks them by `criterion`.
    pub fn new(column: &str, sample: &Sample, kind: Kind, criterion: Criterion) -> Report {
        let mut fits = Vec::new();
        let mut skipped = Vec::new();
        for &family in Family::of(kind) {
            match family
                .estimate(sample)
                .and_then(|d| score(family, d, sample))
            {
                Ok(fit) => fits.push(fit),
                Err(reason) => skipped.push(Skipped {
                    dist: family,
                    reason,
                }),
            }
        }
        fits.sort_by(|a, b| a.score(criterion).total_cmp(&b.score(criterion)));
        Report {
            column: column.to_string(),
            values: sample.len(),
            kind,
            criterion,
            fits,
            skipped,
        }
    }

    /// The best fit (there is always one: normal and uniform fit any measurements, poisson
    /// any counts).
    pub fn best(&self) -> &Fit {
        &self.fits[0]
    }
}

/// Scores the estimate `dist` of `family` on the data.
fn score(family: Family, dist: Distribution, sample: &Sample) -> Result<Fit, String> {
    let model = Model::new(&dist).ok_or("statrs refused the estimate")?;
    let log_likelihood: f64 = sample.sorted().iter().map(|&x| model.ln_density(x)).sum();
    if !log_likelihood.is_finite() {
        return Err("the estimate gives some values no probability".into());
    }
    let k = family.parameters();
    let n = sample.len() as f64;
    let g = gof(&model, sample.sorted());
    Ok(Fit {
        distribution: dist,
        log_likelihood,
        parameters: k,
        aic: 2.0 * k as f64 - 2.0 * log_likelihood,
        bic: k as f64 * n.ln() - 2.0 * log_likelihood,
        ks: g.ks,
        ks_p: g.ks_p,
        ad: g.ad,
    })
}
