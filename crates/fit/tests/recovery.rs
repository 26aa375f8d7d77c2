//! Each estimate lands within four standard errors of the parameter that generated the data
//! (n = 20,000 draws, fixed seeds). The standard errors are the asymptotic ones of maximum
//! likelihood, the square roots of the diagonal of the inverse Fisher information over n;
//! each is derived in its test. Four of them leave a chance of about 6·10⁻⁵ per estimate of a
//! false failure, and none of a false pass larger than 4 SE.

use crate::*;
use mcp_spec::Distribution as D;
use statrs::distribution as sd;

#[test]
fn normal_lognormal_and_exponential_estimates_recover_their_parameters() {
    let n = N as f64;
    // Normal: SE(mean) = σ/√n, SE(std) = σ/√(2n).
    let r = report(
        draws(sd::Normal::new(10.0, 2.0).unwrap(), 1, N),
        Criterion::Aic,
    );
    let D::Normal { mean, std } = *dist(fit(&r, "normal")) else {
        unreachable!()
    };
    within("normal mean", mean, 10.0, 2.0 / n.sqrt());
    within("normal std", std, 2.0, 2.0 / (2.0 * n).sqrt());
    // Lognormal: the normal's, on the logarithms.
    let r = report(
        draws(sd::LogNormal::new(1.0, 0.5).unwrap(), 2, N),
        Criterion::Aic,
    );
    let D::Lognormal { mu, sigma } = *dist(fit(&r, "lognormal")) else {
        unreachable!()
    };
    within("lognormal mu", mu, 1.0, 0.5 / n.sqrt());
    within("lognormal sigma", sigma, 0.5, 0.5 / (2.0 * n).sqrt());
    // Exponential: the information per value is 1/rate², so SE(rate) = rate/√n.
    let r = report(draws(sd::Exp::new(0.5).unwrap(), 3, N), Criterion::Aic);
    let D::Exponential { rate } = *dist(fit(&r, "exponential")) else {
        unreachable!()
    };
    within("exponential rate", rate, 0.5, 0.5 / n.sqrt());
}

#[test]
fn gamma_estimates_recover_shape_and_scale() {
    // Per value, the information of (k, θ) is [[ψ′(k), 1/θ], [1/θ, k/θ²]], with determinant
    // (kψ′(k) − 1)/θ²; so Var(k̂) = k / (n (kψ′(k) − 1)) and Var(θ̂) = ψ′(k) θ² / (n (kψ′(k) − 1)).
    // For k = 2.5: ψ′(2.5) = ψ′(½) − 1/(½)² − 1/(1½)² = π²/2 − 4 − 4/9.
    let (k, theta, n) = (2.5, 3.0, N as f64);
    let trigamma = std::f64::consts::PI.powi(2) / 2.0 - 4.0 - 4.0 / 9.0;
    let det = k * trigamma - 1.0;
    let r = report(
        draws(sd::Gamma::new(k, 1.0 / theta).unwrap(), 4, N),
        Criterion::Aic,
    );
    let D::Gamma { shape, scale } = *dist(fit(&r, "gamma")) else {
        unreachable!()
    };
    within("gamma shape", shape, k, (k / (n * det)).sqrt());
    within(
        "gamma scale",
        scale,
        theta,
        (trigamma * theta * theta / (n * det)).sqrt(),
    );
}

#[test]
fn weibull_estimates_recover_shape_and_scale() {
    // Per value, the information of (k, λ) is [[((1−γ)² + π²/6)/k², −(1−γ)/λ],
    // [−(1−γ)/λ, k²/λ²]], with determinant π²/(6λ²); so Var(k̂) = 6k²/(π² n) and
    // Var(λ̂) = λ² (1 + 6(1−γ)²/π²) / (k² n), γ Euler's constant.
    let (k, lambda, n) = (1.5, 2.0, N as f64);
    let (pi2, gamma): (f64, f64) = (std::f64::consts::PI.powi(2), 0.577_215_664_901_532_9);
    let r = report(
        draws(sd::Weibull::new(k, lambda).unwrap(), 5, N),
        Criterion::Aic,
    );
    let D::Weibull { shape, scale } = *dist(fit(&r, "weibull")) else {
        unreachable!()
    };
    within("weibull shape", shape, k, (6.0 * k * k / (pi2 * n)).sqrt());
    let var_scale = lambda * lambda * (1.0 + 6.0 * (1.0 - gamma).powi(2) / pi2) / (k * k * n);
    within("weibull scale", scale, lambda, var_scale.sqrt());
}

#[test]
fn beta_estimates_recover_both_shapes() {
    // Per value, the information of (α, β) is [[ψ′(α) − ψ′(α+β), −ψ′(α+β)],
    // [−ψ′(α+β), ψ′(β) − ψ′(α+β)]]; the variances are the diagonal of its inverse over n.
    let (a, b, n) = (2u32, 5u32, N as f64);
    let (ta, tb, tab) = (trigamma_whole(a), trigamma_whole(b), trigamma_whole(a + b));
    let (i11, i22, i12) = (ta - tab, tb - tab, -tab);
    let det = i11 * i22 - i12 * i12;
    let r = report(
        draws(sd::Beta::new(f64::from(a), f64::from(b)).unwrap(), 6, N),
        Criterion::Aic,
    );
    let D::Beta { alpha, beta } = *dist(fit(&r, "beta")) else {
        unreachable!()
    };
    within("beta alpha", alpha, f64::from(a), (i22 / det / n).sqrt());
    within("beta beta", beta, f64::from(b), (i11 / det / n).sqrt());
}

#[test]
fn uniform_estimates_are_the_data_extremes() {
    // The smallest of n uniform values exceeds min by more than t with probability
    // (1 − t/r)ⁿ ≈ e^(−nt/r): t = 10 r/n leaves e⁻¹⁰. Neither can pass the true end.
    let (lo, hi, n) = (-1.0, 3.0, N as f64);
    let r = report(
        draws(sd::Uniform::new(lo, hi).unwrap(), 7, N),
        Criterion::Aic,
    );
    let D::Uniform { min, max } = *dist(fit(&r, "uniform")) else {
        unreachable!()
    };
    let t = 10.0 * (hi - lo) / n;
    assert!(min >= lo && min - lo < t, "{min}");
    assert!(max <= hi && hi - max < t, "{max}");
}

#[test]
fn triangular_and_pert_estimates_recover_their_ends_and_mode() {
    // With its ends known, the mode's information per value is 1/((c−a)(b−c)) (the score is
    // −1/(c−a) left of c and 1/(b−c) right of it), so SE(ĉ) = √((c−a)(b−c)/n). The ends' own
    // information grows without bound for the triangular (its density is linear at the ends)
    // and is larger than the mode's for this PERT (shapes 2.5 and 3.5), so they are
    // estimated at least as well; the mode's SE bounds all three.
    let (a, c, b, n) = (2.0, 5.0, 10.0, N as f64);
    let se = ((c - a) * (b - c) / n).sqrt();
    let r = report(
        draws(sd::Triangular::new(a, b, c).unwrap(), 8, N),
        Criterion::Aic,
    );
    let D::Triangular { min, mode, max } = *dist(fit(&r, "triangular")) else {
        unreachable!()
    };
    within("triangular min", min, a, se);
    within("triangular mode", mode, c, se);
    within("triangular max", max, b, se);
    // PERT(2, 5, 10) is 2 + 8·Beta(1 + 4·3/8, 1 + 4·5/8).
    let unit = draws(sd::Beta::new(2.5, 3.5).unwrap(), 9, N);
    let r = report(
        unit.iter().map(|u| a + (b - a) * u).collect(),
        Criterion::Aic,
    );
    let D::Pert { min, mode, max } = *dist(fit(&r, "pert")) else {
        unreachable!()
    };
    within("pert min", min, a, se);
    within("pert mode", mode, c, se);
    within("pert max", max, b, se);
}

#[test]
fn count_estimates_recover_their_parameters() {
    let n = N as f64;
    // Poisson: SE(λ) = √(λ/n).
    let values = draws(sd::Poisson::new(3.5).unwrap(), 10, N);
    let r = report(values, Criterion::Aic);
    assert!(!continuous(&r));
    let D::Poisson { lambda } = *dist(fit(&r, "poisson")) else {
        unreachable!()
    };
    within("poisson lambda", lambda, 3.5, (3.5 / n).sqrt());
    // Binomial(10, 0.7): the moment estimate m²/(m − v) of the trials has, by the delta
    // method with the binomial's second to fourth moments, SE √(33/n) = 0.04, and maximum
    // likelihood does no worse: four SE are less than ½, so the estimate is exactly 10. Then
    // p̂ = mean/10, SE √(p(1−p)/(10 n)).
    let r = report(
        draws(sd::Binomial::new(0.7, 10).unwrap(), 11, N),
        Criterion::Aic,
    );
    let D::Binomial { n: trials, p } = *dist(fit(&r, "binomial")) else {
        unreachable!()
    };
    assert_eq!(trials, 10);
    within("binomial p", p, 0.7, (0.7 * 0.3 / (10.0 * n)).sqrt());
    // Bernoulli: SE(p) = √(p(1−p)/n); binomial is skipped as the same thing.
    let r = report(
        draws(sd::Bernoulli::new(0.2).unwrap(), 12, N),
        Criterion::Aic,
    );
    let D::Bernoulli { p } = *dist(fit(&r, "bernoulli")) else {
        unreachable!()
    };
    within("bernoulli p", p, 0.2, (0.2 * 0.8 / n).sqrt());
    assert!(
        r.skipped
            .iter()
            .any(|s| s.reason.contains("that is bernoulli"))
    );
}
