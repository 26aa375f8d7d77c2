//! Goodness of fit: the Kolmogorov–Smirnov distance with its asymptotic p-value (statrs) and
//! the Anderson–Darling statistic for continuous fits; for discrete fits the
//! Kolmogorov–Smirnov distance between two step functions, and neither p-value nor A² (their
//! reference distributions assume a continuous CDF).
//!
//! A² is computed here rather than by statrs' `anderson_darling`, which takes `ln(1 − F)`:
//! that is −∞ as soon as `F` rounds to 1 (a normal fit to a value 9 standard deviations out),
//! where the survival function still has its digits.

use crate::model::Model;
use statrs::distribution::ContinuousCDF;
use statrs::stats_tests::NaNPolicy;
use statrs::stats_tests::ks_test::{KSOneSampleAlternativeMethod, ks_onesample};

/// The statistics of one fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gof {
    /// Kolmogorov–Smirnov D: the largest distance between the data's CDF and the fit's.
    pub ks: f64,
    /// Its p-value by Kolmogorov's limit distribution (continuous fits only).
    pub ks_p: Option<f64>,
    /// Anderson–Darling A²: the squared distance weighted towards the tails (continuous fits
    /// only).
    pub ad: Option<f64>,
}

/// The statistics of `model` against `sorted` data.
pub(crate) fn gof(model: &Model, sorted: &[f64]) -> Gof {
    if model.is_discrete() {
        return Gof {
            ks: discrete_ks(model, sorted),
            ks_p: None,
            ad: None,
        };
    }
    let (ks, ks_p) = ks_onesample(
        sorted.to_vec(),
        model,
        KSOneSampleAlternativeMethod::TwoSidedAsymptotic,
        NaNPolicy::Error,
    )
    .unwrap_or((f64::NAN, f64::NAN));
    let ad = anderson_darling(model, sorted);
    Gof {
        ks,
        ks_p: Some(ks_p),
        ad: Some(ad),
    }
}

/// `A² = −n − (1/n) Σᵢ (2i − 1) (ln F(xᵢ) + ln S(xₙ₊₁₋ᵢ))` over sorted data, `S = 1 − F` the
/// survival function. Infinite when a value sits where `F` is 0 or 1 (a uniform fit's ends).
fn anderson_darling(model: &Model, sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let sum: f64 = (0..n)
        .map(|i| {
            let weight = (2 * i + 1) as f64;
            weight * (model.cdf(sorted[i]).ln() + model.sf(sorted[n - 1 - i]).ln())
        })
        .sum();
    -(n as f64) - sum / n as f64
}

/// `sup |Fₙ(x) − F(x)|` for whole-number data and a discrete `F`. Both are step functions
/// constant between whole numbers, and `Fₙ` is constant between distinct data values, where
/// `F` only rises: so the supremum is reached at a data value `v` or at the whole number
/// before the next one (`Fₙ = 0` before the first; past the last `|1 − F|` only shrinks).
fn discrete_ks(model: &Model, sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    let mut d: f64 = model.cdf(sorted[0] - 1.0);
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i];
        while i < sorted.len() && sorted[i] == v {
            i += 1;
        }
        let empirical = i as f64 / n;
        d = d.max((empirical - model.cdf(v)).abs());
        if let Some(&next) = sorted.get(i) {
            d = d.max((empirical - model.cdf(next - 1.0)).abs());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_spec::Distribution;

    fn model(d: Distribution) -> Model {
        Model::new(&d).unwrap()
    }

    #[test]
    fn ks_of_the_midpoint_quantiles_is_one_over_2n() {
        // Data at the quantiles (i − ½)/n of a distribution: Fₙ jumps by 1/n at each, and F is
        // halfway through each jump, so D = 1/(2n) exactly.
        let n = 50;
        let normal = model(Distribution::Normal {
            mean: 3.0,
            std: 2.0,
        });
        let data: Vec<f64> = (1..=n)
            .map(|i| normal.inverse_cdf((i as f64 - 0.5) / n as f64))
            .collect();
        let g = gof(&normal, &data);
        assert!((g.ks - 0.5 / n as f64).abs() < 1e-12, "{}", g.ks);
        // So close a fit is no evidence against it.
        assert!(g.ks_p.unwrap() > 0.999);
    }

    #[test]
    fn ks_and_ad_match_a_small_example_by_hand() {
        // Uniform(0, 1) against 0.1, 0.4, 0.7 (n = 3): F(x) = x.
        // D⁺ = max(i/n − xᵢ) = max(1/3 − 0.1, 2/3 − 0.4, 1 − 0.7) = 0.3,
        // D⁻ = max(xᵢ − (i−1)/n) = max(0.1, 0.4 − 1/3, 0.7 − 2/3) = 0.1, so D = 0.3.
        // A² = −n − (1/n) Σ (2i − 1)(ln xᵢ + ln(1 − x₍ₙ₊₁₋ᵢ₎))
        //    = −3 − (1/3)[1·(ln 0.1 + ln 0.3) + 3·(ln 0.4 + ln 0.6) + 5·(ln 0.7 + ln 0.9)]
        //    = −3 − (1/3)(−3.5066 − 4.2813 − 2.3101) = 0.3660.
        let uniform = model(Distribution::Uniform { min: 0.0, max: 1.0 });
        let g = gof(&uniform, &[0.1, 0.4, 0.7]);
        assert!((g.ks - 0.3).abs() < 1e-12, "{}", g.ks);
        assert!((g.ad.unwrap() - 0.3660).abs() < 1e-4, "{:?}", g.ad);
        // A value beyond where a normal's CDF rounds to 1 leaves A² finite (ln(1 − F) would
        // make it infinite), and large: the value is far out of place.
        let normal = model(Distribution::Normal {
            mean: 0.0,
            std: 1.0,
        });
        let mut data: Vec<f64> = (1..=20).map(|i| f64::from(i) / 10.0 - 1.0).collect();
        data.push(12.0);
        let a2 = gof(&normal, &data).ad.unwrap();
        assert!(a2.is_finite() && a2 > 2.0, "{a2}");
    }

    #[test]
    fn discrete_ks_looks_between_the_data_values() {
        // Bernoulli(0.3) against 0, 0, 1, 1 (Fₙ(0) = 0.5, F(0) = 0.7): D = 0.2.
        let bernoulli = model(Distribution::Bernoulli { p: 0.3 });
        let g = gof(&bernoulli, &[0.0, 0.0, 1.0, 1.0]);
        assert!((g.ks - 0.2).abs() < 1e-12, "{}", g.ks);
        assert_eq!((g.ks_p, g.ad), (None, None));
        // Poisson(2) against 3, 3, 3, 3: below 3, Fₙ = 0 while F(2) = 5e⁻² = 0.677; at 3,
        // Fₙ = 1 and F(3) = 0.857. The largest gap is F(2), just before the data.
        let poisson = model(Distribution::Poisson { lambda: 2.0 });
        let g = gof(&poisson, &[3.0; 4]);
        assert!((g.ks - 5.0 * (-2.0f64).exp()).abs() < 1e-12, "{}", g.ks);
        // Poisson(2) against 0, 10: Fₙ = ½ on [0, 10), and F(9) = e⁻² Σₖ₌₀⁹ 2ᵏ/k! ≈ 1 is
        // furthest from it, at the whole number before the next data value.
        let g = gof(&poisson, &[0.0, 10.0]);
        let mut term = (-2.0f64).exp();
        let mut f9 = term;
        for k in 1..=9 {
            term *= 2.0 / k as f64;
            f9 += term;
        }
        assert!((g.ks - (f9 - 0.5)).abs() < 1e-12, "{}", g.ks);
    }
}
