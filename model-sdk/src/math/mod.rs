//! Elementary functions for models: the same bits on every machine, and fast in the sandbox.
//!
//! `f64::exp` in a Wasm model calls the C library's routine, out of line: the sandbox's fuel
//! and epoch checks run at every call and branch of it. These routines are plain Rust with a
//! single, well-predicted branch, so they inline into a model's loop; they use only IEEE-754
//! additions, multiplications and conversions (no fused multiply-add, no platform library), so
//! a model gives the same bits natively, in Wasm, and on any consumer's CPU.

mod exp_table;

/// The larger of `a` and `b`; the other one when either is `NaN` (as `f64::max`).
///
/// In Wasm, `f64::max` is a call to the C library's `fmax` (Wasm's own `f64.max` treats `NaN`
/// differently); this one is two comparisons, inline.
///
/// ```
/// use mcp_model_sdk::math::max;
/// assert_eq!(max(1.0, 2.0), 2.0);
/// assert_eq!(max(f64::NAN, 2.0), 2.0);
/// ```
#[inline]
pub fn max(a: f64, b: f64) -> f64 {
    if a > b || b.is_nan() { a } else { b }
}

/// The smaller of `a` and `b`; the other one when either is `NaN` (as `f64::min`).
///
/// ```
/// use mcp_model_sdk::math::min;
/// assert_eq!(min(1.0, 2.0), 1.0);
/// assert_eq!(min(1.0, f64::NAN), 1.0);
/// ```
#[inline]
pub fn min(a: f64, b: f64) -> f64 {
    if a < b || b.is_nan() { a } else { b }
}

use exp_table::TWO_TO_J_OVER_128 as TABLE;

/// `e^x`, within 1 ulp of the exact value (tested against the platform's `exp` in this crate's
/// tests). Overflows to `inf` past 709.78, underflows to 0 below −745.13; `NaN` stays `NaN`.
///
/// ```
/// use mcp_model_sdk::math::exp;
/// assert_eq!(exp(0.0), 1.0);
/// assert!((exp(1.0) - std::f64::consts::E).abs() <= f64::EPSILON * 3.0);
/// ```
#[inline]
pub fn exp(x: f64) -> f64 {
    // Past ±708 the result leaves the normal range, or x is NaN: one rarely taken branch,
    // whose negated comparison is what lets NaN in.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(x.abs() <= 708.0) {
        return exp_far(x);
    }
    let (e, s) = exp_split(x);
    // 2^e for |e| ≤ 1022 is built from its exponent bits; the product is exact.
    s * f64::from_bits(((e + 1023) as u64) << 52)
}

/// `128 / ln 2`.
const STEPS_PER_LN2: f64 = 128.0 * std::f64::consts::LOG2_E;
/// `ln 2 / 128` split in two: its high part has 32 significant bits, so `k · STEP_HI` is exact
/// for every `|k| < 2^21`, and `x − k · STEP_HI` loses nothing when `k` is the nearest integer
/// to `x / STEP`.
const STEP_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000) / 128.0;
/// `ln 2 / 128 − STEP_HI`, rounded.
const STEP_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76) / 128.0;

/// `e^x = 2^e · s` with `s` in [0.99, 2.01): `x = k · ln 2 / 128 + r` with `|r| ≤ ln 2 / 256`,
/// `k = 128 e + j`, and `s = 2^(j/128) · e^r` from the table and a degree-5 Taylor polynomial
/// (its remainder is under 10^-18 there). `s` is within about half an ulp: the one rounding
/// that matters is the final addition.
#[inline(always)]
fn exp_split(x: f64) -> (i64, f64) {
    // round(x / STEP), ties to even, by the add-and-subtract of 1.5 · 2^52.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let kf = (x * STEPS_PER_LN2 + SHIFT) - SHIFT;
    let r = (x - kf * STEP_HI) - kf * STEP_LO;
    let k = kf as i64;
    let (hi, lo) = TABLE[(k & 127) as usize];
    let (hi, lo) = (f64::from_bits(hi), f64::from_bits(lo));
    // e^r − 1.
    let r2 = r * r;
    let p = r + r2 * ((1.0 / 2.0 + r * (1.0 / 6.0)) + r2 * (1.0 / 24.0 + r * (1.0 / 120.0)));
    (k >> 7, hi + (hi * p + lo))
}

/// [`exp`] where the result is not a normal number, or `x` is not a number.
#[cold]
#[inline(never)]
fn exp_far(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.782_712_893_384 {
        return f64::INFINITY;
    }
    if x < -745.133_219_101_941_2 {
        return 0.0;
    }
    let (e, s) = exp_split(x);
    if e > 0 {
        // e is 1021 to 1024: 2^e in two exact steps.
        s * f64::from_bits(((e - 2 + 1023) as u64) << 52) * 4.0
    } else {
        // e is −1022 to −1075: scaling by 2^(e + 1000) is exact, the final 2^−1000 rounds
        // once into the subnormal range.
        s * f64::from_bits(((e + 1000 + 1023) as u64) << 52) * f64::from_bits(23u64 << 52)
    }
}

#[cfg(test)]
mod tests {
    use super::exp;

    /// The distance between `a` and `b` in units of the last place (both finite, same sign).
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// A reproducible stream of uniforms in [0, 1) (splitmix64).
    fn uniforms(seed: u64) -> impl Iterator<Item = f64> {
        let mut state = seed;
        std::iter::repeat_with(move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f64 / 2f64.powi(64)
        })
    }

    #[test]
    fn within_one_ulp_of_the_platform_exp_over_the_whole_range() {
        let (mut worst, mut differ, mut total) = ((0, 0.0), 0u32, 0u32);
        for (u, lo, hi) in [
            (1, -1.0, 1.0),
            (2, -40.0, 40.0),
            (3, -708.0, 708.0),
            (4, -745.0, -708.0),
            (5, 708.0, 709.78),
            (6, -1e-6, 1e-6),
        ] {
            for v in uniforms(u).take(400_000) {
                let x = lo + (hi - lo) * v;
                let (ours, reference) = (exp(x), x.exp());
                if reference == 0.0 || reference < f64::MIN_POSITIVE {
                    // Subnormal results: within one subnormal step.
                    assert!(
                        (ours - reference).abs() <= 5e-324,
                        "exp({x}): {ours} vs {reference}"
                    );
                    continue;
                }
                let d = ulps(ours, reference);
                total += 1;
                differ += u32::from(d != 0);
                if d > worst.0 {
                    worst = (d, x);
                }
            }
        }
        assert!(worst.0 <= 1, "exp({}) is {} ulps off", worst.1, worst.0);
        // Nearly always the same bits as the platform's (nearly correctly rounded) exp.
        assert!(
            differ * 1000 < total,
            "{differ} of {total} differ from the platform's exp"
        );
    }

    #[test]
    fn max_and_min_agree_with_the_standard_library() {
        let values = [
            f64::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1.0,
            3.5,
            f64::INFINITY,
            f64::NAN,
        ];
        for a in values {
            for b in values {
                let same = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x == y && x != 0.0);
                if a == 0.0 && b == 0.0 {
                    // Signed zeros: either one, as the standard library allows.
                    assert_eq!(super::max(a, b), 0.0);
                    assert_eq!(super::min(a, b), 0.0);
                    continue;
                }
                assert!(
                    same(super::max(a, b), a.max(b))
                        || a.max(b).is_nan() && super::max(a, b).is_nan()
                );
                assert!(
                    same(super::min(a, b), a.min(b))
                        || a.min(b).is_nan() && super::min(a, b).is_nan()
                );
            }
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(709.8), f64::INFINITY);
        assert_eq!(exp(-745.2), 0.0);
        assert!(ulps(exp(709.78), 709.78f64.exp()) <= 1);
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert!(ulps(exp(std::f64::consts::LN_2), 2.0) <= 1);
        assert_eq!(exp(-745.13), (-745.13f64).exp());
    }
}
