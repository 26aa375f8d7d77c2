//! The estimators on the Ishigami function, whose indices are known in closed form, computed
//! natively (no model, no sampler): values within a few of their own standard errors, intervals
//! that cover the truth about 95% of the time, merges that do not depend on how rows were cut
//! into batches, a shift of the output that changes nothing, and failed rows left out.

use super::*;
use std::f64::consts::PI;

/// Ishigami, `a = 7`, `b = 0.1`, inputs uniform on [−π, π].
fn ishigami(x: &[f64]) -> f64 {
    x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
}

/// The analytic indices (first, total) of the three inputs. With `a = 7`, `b = 0.1`:
/// `V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2`, `V1 = (1 + bπ⁴/5)²/2`, `V2 = a²/8`, `V3 = 0`, and the
/// one interaction `V13 = b²π⁸ (1/18 − 1/50)`; so `ST1 = (V1 + V13)/V`, `ST2 = V2/V`,
/// `ST3 = V13/V`.
fn analytic() -> [(f64, f64); 3] {
    let (a, b) = (7.0, 0.1);
    let v = a * a / 8.0 + b * PI.powi(4) / 5.0 + b * b * PI.powi(8) / 18.0 + 0.5;
    let v1 = (1.0 + b * PI.powi(4) / 5.0).powi(2) / 2.0;
    let v2 = a * a / 8.0;
    let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
    [(v1 / v, (v1 + v13) / v), (v2 / v, v2 / v), (0.0, v13 / v)]
}

/// SplitMix64: a fixed stream of uniforms on [−π, π).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 * PI - PI
    }
}

/// The outputs of `rows` design rows in scenario order (a, b, c_1, c_2, c_3 per row), plus
/// `offset`.
fn design(seed: u64, rows: usize, offset: f64) -> Vec<f64> {
    let mut draws = Draws(seed);
    let mut out = Vec::with_capacity(rows * 5);
    for _ in 0..rows {
        let a: Vec<f64> = (0..3).map(|_| draws.next()).collect();
        let b: Vec<f64> = (0..3).map(|_| draws.next()).collect();
        out.push(ishigami(&a) + offset);
        out.push(ishigami(&b) + offset);
        for m in 0..3 {
            let mut ab = a.clone();
            ab[m] = b[m];
            out.push(ishigami(&ab) + offset);
        }
    }
    out
}

/// Sums of `values` cut into batches of `rows_per_batch` rows, merged in order.
fn merged(values: &[f64], rows_per_batch: usize) -> SobolSums {
    let mut sums = SobolSums::default();
    for batch in values.chunks(rows_per_batch * 5) {
        sums.merge(&SobolSums::of_batch(batch, &[], batch.len(), 3));
    }
    sums
}

#[test]
fn ishigami_indices_are_within_their_standard_errors_of_the_analytic_ones() {
    let sums = merged(&design(1, 50_000, 0.0), 100);
    assert_eq!(sums.rows, 50_000);
    // V = 13.8446 (its estimator's standard error at 50,000 rows is about 0.06).
    assert!(
        (sums.variance() - 13.8446).abs() < 0.3,
        "{}",
        sums.variance()
    );
    for (m, (s, st)) in analytic().into_iter().enumerate() {
        for (estimate, truth) in [(sums.first(m), s), (sums.total(m), st)] {
            // Four standard errors (the reported half-width is 1.96 of them).
            let tol = 4.0 * estimate.half_width / Z_975;
            assert!(
                (estimate.value - truth).abs() <= tol,
                "input {m}: {estimate:?} vs {truth}"
            );
            assert!(estimate.half_width > 0.0 && estimate.half_width < 0.05);
        }
    }
}

#[test]
fn the_intervals_cover_the_analytic_indices_about_95_percent_of_the_time() {
    // 400 independent designs of 1,000 rows: a 95% interval misses about 20 times; the count
    // of misses is binomial(400, 0.05), standard deviation 4.4, so a calibrated interval misses
    // 7 to 33 times with probability > 0.99.
    let truth = analytic();
    let mut misses = [[0u32; 2]; 3];
    for rep in 0..400u64 {
        let sums = merged(&design(1000 + rep, 1000, 0.0), 1000);
        for (m, (s, st)) in truth.iter().enumerate() {
            for (o, (e, t)) in [(sums.first(m), s), (sums.total(m), st)].iter().enumerate() {
                let [lo, hi] = e.ci95();
                misses[m][o] += u32::from(!(lo <= **t && **t <= hi));
            }
        }
    }
    for (m, per) in misses.iter().enumerate() {
        for &miss in per {
            assert!(
                (7..=33).contains(&miss),
                "input {m}: {misses:?} misses in 400"
            );
        }
    }
}

#[test]
fn how_rows_are_cut_into_batches_changes_nothing_but_rounding() {
    let values = design(7, 3000, 0.0);
    let (one, seven, all) = (
        merged(&values, 1),
        merged(&values, 7),
        merged(&values, 3000),
    );
    for m in 0..3 {
        for (a, b) in [(&one, &seven), (&one, &all)] {
            for (x, y) in [(a.first(m), b.first(m)), (a.total(m), b.total(m))] {
                assert!((x.value - y.value).abs() < 1e-10, "{x:?} {y:?}");
                assert!((x.half_width - y.half_width).abs() < 1e-10, "{x:?} {y:?}");
            }
        }
    }
    // The same batches merged in the same order give the same bits.
    assert_eq!(merged(&values, 7), seven);
}

#[test]
fn a_large_offset_of_the_output_changes_no_index() {
    let (plain, shifted) = (design(3, 4000, 0.0), design(3, 4000, 1e9));
    let (a, b) = (merged(&plain, 13), merged(&shifted, 13));
    for m in 0..3 {
        for (x, y) in [(a.first(m), b.first(m)), (a.total(m), b.total(m))] {
            assert!((x.value - y.value).abs() < 1e-5, "{x:?} {y:?}");
            assert!((x.half_width - y.half_width).abs() < 1e-5, "{x:?} {y:?}");
        }
    }
}

#[test]
fn rows_with_a_failed_run_are_left_out_and_counted() {
    let values = design(11, 4, 0.0);
    // Row 1's third run (position 7) failed: its value is missing from the batch's values.
    let mut kept = values.clone();
    kept.remove(7);
    let sums = SobolSums::of_batch(&kept, &[7], 20, 3);
    assert_eq!((sums.rows, sums.skipped), (3, 1));
    let mut without = SobolSums::of_batch(&values[..5], &[], 5, 3);
    without.merge(&SobolSums::of_batch(&values[10..], &[], 10, 3));
    for m in 0..3 {
        assert!((sums.first(m).value - without.first(m).value).abs() < 1e-12);
        assert!((sums.total(m).value - without.total(m).value).abs() < 1e-12);
    }
    // A partial row at the end of a batch is ignored; fewer than two rows give no estimate.
    let one = SobolSums::of_batch(&values[..7], &[], 7, 3);
    assert_eq!(one.rows, 1);
    assert!(one.first(0).value.is_nan());
}
