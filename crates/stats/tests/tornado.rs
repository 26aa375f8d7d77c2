//! The tornado on Gaussian samples, where Spearman's ρ is known: for a Gaussian pair of
//! Pearson correlation `r`, ρ = (6/π) asin(r/2), and the mean of the coefficient over batches
//! of `n` is Moran's (6/(π(n + 1))) (asin r + (n − 2) asin(r/2)), which is what the per-batch
//! estimator converges to.

use crate::risk::normals;
use mcp_stats::{BatchRanker, TornadoSums};
use std::f64::consts::PI;

/// The mean Spearman coefficient of `n` draws of a Gaussian pair with correlation `r` (Moran).
fn moran(r: f64, n: f64) -> f64 {
    6.0 / (PI * (n + 1.0)) * (r.asin() + (n - 2.0) * (r / 2.0).asin())
}

#[test]
fn gaussian_inputs_rank_and_correlate_as_the_closed_form_says() {
    // y = 3 z₁ + z₂ and w = 3 z₁ − z₂: Pearson r = ±1/√10 with z₂ and 3/√10 with z₁.
    let (batches, n) = (200, 1000);
    let (z1, z2) = (normals(11, batches * n), normals(12, batches * n));
    let constant = vec![2.5; n];
    let mut ranker = BatchRanker::default();
    let mut sums = TornadoSums::default();
    for b in 0..batches {
        let at = b * n..(b + 1) * n;
        let (a, c) = (&z1[at.clone()], &z2[at]);
        let y: Vec<f64> = a.iter().zip(c).map(|(a, c)| 3.0 * a + c).collect();
        let w: Vec<f64> = a.iter().zip(c).map(|(a, c)| 3.0 * a - c).collect();
        let partial = ranker.partial(&[c, &constant[..], a], &[&y, &w]).unwrap();
        sums.add(&partial);
    }
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let t = sums
        .finish(&names(&["z2", "k", "z1"]), &names(&["y", "w"]))
        .unwrap();
    assert_eq!(t.blocks, batches as u64);
    let big = 3.0 / 10f64.sqrt();
    let small = 1.0 / 10f64.sqrt();
    for (output, sign) in [("y", 1.0), ("w", -1.0)] {
        let rows = t.rows(output).unwrap();
        // The constant input moved nothing: two rows, the dominant input first.
        let order: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
        assert_eq!(order, ["z1", "z2"], "{output}");
        for (row, r) in rows.iter().zip([big, sign * small]) {
            // Within 2.5 half-widths of the 95% interval (five standard errors) of the mean
            // coefficient at n = 1000; that mean is within 0.3% of the population's ρ.
            let (want, population) = (moran(r, n as f64), 6.0 / PI * (r / 2.0).asin());
            assert!((want - population).abs() < 0.003 * population.abs());
            let half = (row.ci95[1] - row.ci95[0]) / 2.0;
            assert!(
                (row.spearman - want).abs() < 2.5 * half,
                "{output} {}: {} vs {want} ± {half}",
                row.input,
                row.spearman
            );
            // The interval is about as wide as Bonett and Wright's approximation of the
            // coefficient's standard error over all N values, (1 − ρ²) √((1 + ρ²/2) / (N − 3)):
            // 200 batch means estimate it to about 5%.
            let total = (batches * n) as f64;
            let se = (1.0 - want * want) * ((1.0 + want * want / 2.0) / (total - 3.0)).sqrt();
            let ratio = half / (1.959_964 * se);
            assert!(
                (0.8..1.25).contains(&ratio),
                "{output} {}: {ratio}",
                row.input
            );
        }
        // Shares of variance: ρ² over Σρ², about 0.9 and 0.1; the share moves by about 0.6 per
        // unit of the small ρ, whose five standard errors are about 0.01.
        let (s1, s2) = (moran(big, n as f64).powi(2), moran(small, n as f64).powi(2));
        assert!((rows[0].contribution - s1 / (s1 + s2)).abs() < 0.01);
        assert!((rows[0].contribution + rows[1].contribution - 1.0).abs() < 1e-12);
    }
}
