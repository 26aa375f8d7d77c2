//! The discrete families, for counts (whole numbers of 0 or more).

use crate::Sample;
use mcp_spec::Distribution;
use statrs::function::factorial::ln_binomial;

/// Poisson: the mean (above 0: counts, not all equal).
pub(super) fn poisson(s: &Sample) -> Distribution {
    Distribution::Poisson { lambda: s.mean() }
}

/// Bernoulli: the share of ones, when every value is 0 or 1.
pub(super) fn bernoulli(s: &Sample) -> Result<Distribution, String> {
    if s.max() > 1.0 {
        return Err(format!(
            "needs values 0 and 1 only; the largest is {}",
            s.max()
        ));
    }
    Ok(Distribution::Bernoulli { p: s.mean() })
}

/// Most trials a binomial fit considers.
const MAX_TRIALS: u64 = 1 << 30;

/// Binomial, both `n` and `p` estimated. For each `n` the best `p` is `mean / n`; the profile
/// log-likelihood over `n` (at least the largest value) has one maximum, finite exactly when
/// the variance is below the mean (else it rises towards the Poisson limit forever). The
/// search doubles its step from the largest value until the likelihood falls, then narrows
/// the last bracket by thirds. Past [`MAX_TRIALS`] it stops: there `ln C(n, k)` has lost its
/// digits to the size of `ln n!`, and the binomial is a poisson for every purpose.
pub(super) fn binomial(s: &Sample) -> Result<Distribution, String> {
    if s.max() <= 1.0 {
        return Err("the values are 0 and 1: that is bernoulli".into());
    }
    let (mean, variance) = (s.mean(), s.variance());
    if variance >= mean {
        return Err(format!(
            "needs a variance below the mean (they are {variance:.6} and {mean:.6}): a binomial \
             spreads less than a poisson of the same mean"
        ));
    }
    let tally = tally(s.sorted());
    let size = s.len() as f64;
    let total = mean * size;
    let profile = |n: u64| {
        let p = mean / n as f64;
        let choose: f64 = tally
            .iter()
            .map(|&(k, count)| count * ln_binomial(n, k))
            .sum();
        choose + total * p.ln() + (size * n as f64 - total) * (1.0 - p).ln()
    };
    let largest = s.max() as u64;
    let (mut before, mut at, mut step) = (largest, largest, 1u64);
    let after = loop {
        let next = largest.saturating_add(step);
        if next > MAX_TRIALS {
            return Err(format!(
                "the estimate of n passes {MAX_TRIALS}: the data are as spread as a poisson's"
            ));
        }
        if profile(next) <= profile(at) {
            break next;
        }
        (before, at) = (at, next);
        step *= 2;
    };
    let n = unimodal_max(profile, before, after);
    Ok(Distribution::Binomial {
        n,
        p: mean / n as f64,
    })
}

/// Each distinct value of sorted counts and how often it occurs.
fn tally(sorted: &[f64]) -> Vec<(u64, f64)> {
    let mut out: Vec<(u64, f64)> = Vec::new();
    for &x in sorted {
        match out.last_mut() {
            Some((k, count)) if *k == x as u64 => *count += 1.0,
            _ => out.push((x as u64, 1.0)),
        }
    }
    out
}

/// Where `f`, rising then falling on `lo..=hi`, is largest.
fn unimodal_max(f: impl Fn(u64) -> f64, mut lo: u64, mut hi: u64) -> u64 {
    while hi - lo > 2 {
        let third = (hi - lo) / 3;
        let (m1, m2) = (lo + third, hi - third);
        if f(m1) < f(m2) {
            lo = m1 + 1;
        } else {
            hi = m2;
        }
    }
    (lo..=hi)
        .max_by(|a, b| f(*a).total_cmp(&f(*b)))
        .expect("a non-empty range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_point_of_a_unimodal_function_is_found() {
        for peak in [0u64, 1, 5, 17, 99, 100] {
            let f = |x: u64| -((x as f64) - peak as f64).abs();
            assert_eq!(unimodal_max(f, 0, 100), peak);
        }
        assert_eq!(tally(&[1.0, 1.0, 3.0]), vec![(1, 2.0), (3, 1.0)]);
    }

    #[test]
    fn a_binomial_needs_less_spread_than_a_poisson() {
        // 0, 0, 1, 2, 3, 4, 5, 5: mean 2.5,
        // variance (2·6.25 + 2.25 + 0.25 + 0.25 + 2.25 + 2·6.25)/8 = 30/8 = 3.75 ≥ 2.5.
        let s = Sample::new("x", vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0]).unwrap();
        assert_eq!(
            binomial(&s).unwrap_err(),
            "needs a variance below the mean (they are 3.750000 and 2.500000): a binomial \
             spreads less than a poisson of the same mean"
        );
        // Values 4 and 5 only: mean 4.5, variance 0.25, far below; n is at least 5.
        let s = Sample::new("x", [4.0, 5.0].repeat(4)).unwrap();
        let Distribution::Binomial { n, p } = binomial(&s).unwrap() else {
            unreachable!()
        };
        assert!(n >= 5 && (n as f64 * p - 4.5).abs() < 1e-12, "{n} {p}");
    }
}
