//! The numerical methods the estimators share, from argmin: a root of a function of one
//! variable (Brent's method, after bracketing it) and the minimum of a function of a few
//! (Nelder–Mead, restarted until it stops improving).

use argmin::core::{CostFunction, Error, Executor, State as _};
use argmin::solver::brent::BrentRoot;
use argmin::solver::neldermead::NelderMead;

/// Nelder–Mead moves points by vector arithmetic, which argmin-math implements for `Vec<f64>`
/// (its `vec` feature): this names the operation so the dependency stays visibly needed.
const _VECTOR_ARITHMETIC: fn(&Vec<f64>, &Vec<f64>) -> Vec<f64> =
    <Vec<f64> as argmin_math::ArgminAdd<Vec<f64>, Vec<f64>>>::add;

/// A function handed to argmin; values that are not finite become `+∞`, which Nelder–Mead
/// treats as worse than anything (NaN would stop it). A negative log-likelihood of `−∞` comes
/// only from rounding at the edge of a parameter space, never from a proper fit.
struct Objective<F>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        let v = (self.0)(p);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }
}

/// A function of one variable handed to Brent's method.
struct Scalar<F>(F);

impl<F: Fn(f64) -> f64> CostFunction for Scalar<F> {
    type Param = f64;
    type Output = f64;

    fn cost(&self, x: &f64) -> Result<f64, Error> {
        Ok((self.0)(*x))
    }
}

/// The root of `f` on `(0, ∞)`, where `f` changes sign once; the search starts from `guess`
/// (positive) and widens the bracket by factors of 2. `None` when no sign change is found
/// within 2⁶⁰ of the guess either way, or the solver fails.
pub(crate) fn positive_root(f: impl Fn(f64) -> f64, guess: f64) -> Option<f64> {
    let (mut lo, mut hi) = (guess / 2.0, guess * 2.0);
    let sign = |x: f64| f(x).signum();
    let mut widened = 0;
    while sign(lo) == sign(hi) {
        if widened == 60 || !(lo > 0.0 && hi.is_finite()) {
            return None;
        }
        (lo, hi) = (lo / 2.0, hi * 2.0);
        widened += 1;
    }
    let solver = BrentRoot::new(lo, hi, 1e-13 * hi);
    let result = Executor::new(Scalar(f), solver)
        .configure(|s| s.param(guess).max_iters(500))
        .run()
        .ok()?;
    result
        .state()
        .get_best_param()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
}

/// The point near `start` where `f` is smallest, by Nelder–Mead from a simplex with sides
/// `step` along each axis; restarted from the best point until a restart gains less than
/// `1e-12` (a simplex can collapse before it reaches the minimum). `None` when no finite value
/// was found.
pub(crate) fn minimum(f: impl Fn(&[f64]) -> f64, start: Vec<f64>, step: f64) -> Option<Vec<f64>> {
    let objective = Objective(f);
    let mut best = start;
    let mut best_cost = objective.cost(&best).ok()?;
    for _restart in 0..10 {
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut vertex = best.clone();
            vertex[i] += step;
            simplex.push(vertex);
        }
        let solver = NelderMead::new(simplex).with_sd_tolerance(1e-14).ok()?;
        let result = Executor::new(Objective(&objective.0), solver)
            .configure(|s| s.max_iters(5000))
            .run()
            .ok()?;
        let state = result.state();
        let cost = state.get_best_cost();
        let Some(param) = state.get_best_param() else {
            break;
        };
        let gained = cost < best_cost - 1e-12;
        if cost < best_cost {
            best = param.clone();
            best_cost = cost;
        }
        if !gained {
            break;
        }
    }
    best_cost.is_finite().then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_minima_are_found() {
        // ln x = 2 at x = e².
        let root = positive_root(|x| x.ln() - 2.0, 1.0).unwrap();
        assert!((root - 2f64.exp()).abs() < 1e-10, "{root}");
        // No sign change: no root.
        assert_eq!(positive_root(|x| x + 1.0, 1.0), None);
        // Rosenbrock's valley, minimum at (1, 1).
        let rosenbrock = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let min = minimum(rosenbrock, vec![-1.2, 1.0], 0.5).unwrap();
        assert!(
            (min[0] - 1.0).abs() < 1e-5 && (min[1] - 1.0).abs() < 1e-5,
            "{min:?}"
        );
    }
}
