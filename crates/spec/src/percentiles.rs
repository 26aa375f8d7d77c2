//! Distributions given the way people estimate them: by two percentiles (`p5 = 80, p95 = 120`)
//! instead of their parameters. Normal and lognormal have closed forms; PERT, given a mode and
//! two percentiles, solves one equation in one unknown by bisection.

use crate::Distribution;
use statrs::distribution::{Beta, ContinuousCDF, Normal};

/// A percentile key (`p5`, `p95`, ...): its probability, for keys `p1` to `p99`.
pub(crate) fn percentile_key(key: &str) -> Option<f64> {
    let digits = key.strip_prefix('p')?;
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=99).contains(&n).then(|| f64::from(n) / 100.0)
}

/// The distributions that may be given by percentiles, and what they take besides.
pub(crate) const BY_PERCENTILES: &[(&str, &str)] = &[
    ("normal", "two percentiles, e.g. p5 = 80, p95 = 120"),
    (
        "lognormal",
        "two positive percentiles, e.g. p10 = 5, p90 = 40",
    ),
    (
        "pert",
        "a mode and two percentiles around it, e.g. p5 = 80, mode = 100, p95 = 130",
    ),
];

/// `dist` with the value `x` at probability `q` for each of `points` (two of them, probability
/// increasing), and `mode` for PERT. The error is the fix, for the spec's message.
pub(crate) fn from_percentiles(
    dist: &str,
    points: [(f64, f64); 2],
    mode: Option<f64>,
) -> Result<Distribution, String> {
    let [(qa, xa), (qb, xb)] = points;
    if xb <= xa {
        return Err(format!(
            "the p{} value ({xb}) must be above the p{} value ({xa})",
            percent(qb),
            percent(qa)
        ));
    }
    let unit = Normal::standard();
    let (za, zb) = (unit.inverse_cdf(qa), unit.inverse_cdf(qb));
    match dist {
        "normal" => {
            let std = (xb - xa) / (zb - za);
            Ok(Distribution::Normal {
                mean: xa - std * za,
                std,
            })
        }
        "lognormal" => {
            if xa <= 0.0 {
                return Err(format!(
                    "a lognormal takes only positive values, so its p{} ({xa}) must be above 0",
                    percent(qa)
                ));
            }
            let sigma = (xb.ln() - xa.ln()) / (zb - za);
            Ok(Distribution::Lognormal {
                mu: xa.ln() - sigma * za,
                sigma,
            })
        }
        "pert" => {
            let mode = mode.ok_or("a PERT given by percentiles needs its `mode` too")?;
            pert(points, mode)
        }
        other => Err(format!("{other} cannot be given by percentiles")),
    }
}

fn percent(q: f64) -> u32 {
    (q * 100.0).round() as u32
}

/// The PERT (`min + (max - min) * Beta(a, b)`, `a = 1 + 4 s`, `b = 1 + 4 (1 - s)` with `s` the
/// mode's place in `[min, max]`) whose quantiles `qa` and `qb` are `xa` and `xb`.
///
/// With `Ba`, `Bb` the Beta's quantiles for a given `s`: `mode - xa = r (s - Ba)` and
/// `xb - mode = r (Bb - s)`, so `s` solves `(mode - xa) / (xb - mode) = (s - Ba) / (Bb - s)`,
/// whose right side grows with `s` from 0 to infinity; then `r` and `min` follow.
fn pert([(qa, xa), (qb, xb)]: [(f64, f64); 2], mode: f64) -> Result<Distribution, String> {
    if !(xa < mode && mode < xb) {
        return Err(format!(
            "the mode ({mode}) must lie between the p{} ({xa}) and p{} ({xb}) values",
            percent(qa),
            percent(qb)
        ));
    }
    let quantiles = |s: f64| {
        let beta = Beta::new(1.0 + 4.0 * s, 1.0 + 4.0 * (1.0 - s)).expect("shapes above 1");
        (beta.inverse_cdf(qa), beta.inverse_cdf(qb))
    };
    let target = (mode - xa) / (xb - mode);
    // The ratio is defined where the mode lies between the two quantiles, s in (s0, s1): from
    // s0 (where Ba = s) it grows from 0, to infinity at s1 (where Bb = s).
    let bisect = |mut lo: f64, mut hi: f64, below: &dyn Fn(f64) -> bool| {
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if below(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let s0 = bisect(0.0, 1.0, &|s| s <= quantiles(s).0);
    let s1 = bisect(0.0, 1.0, &|s| s < quantiles(s).1);
    let ratio = |s: f64| {
        let (ba, bb) = quantiles(s);
        (s - ba) / (bb - s)
    };
    let (lo, hi) = (s0 + 1e-12, s1 - 1e-12);
    if !(lo < hi && ratio(lo) <= target && ratio(hi) >= target) {
        return Err(format!(
            "no PERT has these percentiles around mode {mode}: the mode is too close to one of \
             them for the percentiles' spread; move the percentiles or give min and max"
        ));
    }
    let s = bisect(lo, hi, &|s| ratio(s) < target);
    let (ba, bb) = quantiles(s);
    let range = (xb - xa) / (bb - ba);
    let min = xa - range * ba;
    Ok(Distribution::Pert {
        min,
        mode,
        max: min + range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_keys_are_p1_to_p99() {
        assert_eq!(percentile_key("p5"), Some(0.05));
        assert_eq!(percentile_key("p95"), Some(0.95));
        for bad in ["p0", "p100", "p", "p5.5", "mean", "px", "p05x"] {
            assert_eq!(percentile_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_distributions_have_the_percentiles_they_were_given() {
        let normal = from_percentiles("normal", [(0.05, 80.0), (0.95, 120.0)], None).unwrap();
        let Distribution::Normal { mean, std } = normal else {
            panic!("{normal:?}")
        };
        let n = Normal::new(mean, std).unwrap();
        assert!((mean - 100.0).abs() < 1e-12);
        assert!((n.cdf(80.0) - 0.05).abs() < 1e-9 && (n.cdf(120.0) - 0.95).abs() < 1e-9);

        let lognormal = from_percentiles("lognormal", [(0.1, 5.0), (0.9, 40.0)], None).unwrap();
        let Distribution::Lognormal { mu, sigma } = lognormal else {
            panic!("{lognormal:?}")
        };
        let l = statrs::distribution::LogNormal::new(mu, sigma).unwrap();
        assert!((l.cdf(5.0) - 0.1).abs() < 1e-9 && (l.cdf(40.0) - 0.9).abs() < 1e-9);

        for (xa, mode, xb) in [(80.0, 100.0, 130.0), (10.0, 12.0, 50.0), (0.0, 9.0, 10.0)] {
            let pert = from_percentiles("pert", [(0.05, xa), (0.95, xb)], Some(mode)).unwrap();
            let Distribution::Pert { min, mode: m, max } = pert else {
                panic!("{pert:?}")
            };
            assert_eq!(m, mode);
            let s = (mode - min) / (max - min);
            let beta = Beta::new(1.0 + 4.0 * s, 1.0 + 4.0 * (1.0 - s)).unwrap();
            let cdf = |x: f64| beta.cdf((x - min) / (max - min));
            assert!(
                (cdf(xa) - 0.05).abs() < 1e-9,
                "{pert:?}: F({xa}) = {}",
                cdf(xa)
            );
            assert!(
                (cdf(xb) - 0.95).abs() < 1e-9,
                "{pert:?}: F({xb}) = {}",
                cdf(xb)
            );
        }
    }

    #[test]
    fn impossible_percentiles_say_why() {
        assert_eq!(
            from_percentiles("normal", [(0.05, 120.0), (0.95, 80.0)], None),
            Err("the p95 value (80) must be above the p5 value (120)".into())
        );
        assert_eq!(
            from_percentiles("lognormal", [(0.05, -1.0), (0.95, 80.0)], None),
            Err("a lognormal takes only positive values, so its p5 (-1) must be above 0".into())
        );
        assert_eq!(
            from_percentiles("pert", [(0.05, 80.0), (0.95, 120.0)], Some(130.0)),
            Err("the mode (130) must lie between the p5 (80) and p95 (120) values".into())
        );
    }
}
