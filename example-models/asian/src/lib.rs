//! `asian`: an arithmetic-average Asian call on a geometric Brownian motion path.
//!
//! The spec gives the path `path` of 252 prices (a `gbm` process whose drift is the risk-free
//! rate, and whose `dt` is `maturity / 252`). The discounted payoffs are
//! `price = exp(−rate · maturity) · max(A − strike, 0)` with `A` the arithmetic mean of the
//! path, and `geometric`, the same with the geometric mean `G`. The geometric Asian call has a
//! closed form (its log-average is normal), so `spread = price − geometric` is the control
//! variate estimator's summand: `mean(spread) + closed form` estimates the arithmetic price
//! with a far smaller variance than `mean(price)`.

use mcp_model_sdk::Model;

/// Steps of the path: daily monitoring over one year.
pub const STEPS: usize = 252;

/// The Asian call model.
pub struct Asian;

impl Model for Asian {
    const NAME: &'static str = "asian";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &["strike", "rate", "maturity", "path[252]"];
    const OUTPUTS: &'static [&'static str] = &["price", "geometric", "spread"];

    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let Some((&[strike, rate, maturity], path)) = inputs.split_first_chunk::<3>() else {
            return Err(format!(
                "expected 3 numbers and the path, got {} values",
                inputs.len()
            ));
        };
        let n = path.len() as f64;
        let arithmetic = path.iter().sum::<f64>() / n;
        let geometric = (path.iter().map(|s| s.ln()).sum::<f64>() / n).exp();
        let discount = (-rate * maturity).exp();
        outputs[0] = discount * (arithmetic - strike).max(0.0);
        outputs[1] = discount * (geometric - strike).max(0.0);
        outputs[2] = outputs[0] - outputs[1];
        Ok(())
    }
}

mcp_model_sdk::export_model!(Asian);

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_model_sdk::evaluate_one;

    fn row(strike: f64, path: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut row = vec![strike, 0.05, 1.0];
        row.extend((0..STEPS).map(path));
        row
    }

    #[test]
    fn a_flat_path_pays_the_same_on_both_averages() {
        let out = evaluate_one::<Asian>(&row(100.0, |_| 110.0)).unwrap();
        let discounted = (-0.05f64).exp() * 10.0;
        assert!((out[0] - discounted).abs() < 1e-9, "{out:?}");
        assert!((out[1] - discounted).abs() < 1e-9, "{out:?}");
        assert!(out[2].abs() < 1e-9);
    }

    #[test]
    fn the_arithmetic_average_is_never_below_the_geometric() {
        let out = evaluate_one::<Asian>(&row(100.0, |i| 80.0 + i as f64 / 3.0)).unwrap();
        assert!(out[0] > out[1] && out[1] > 0.0, "{out:?}");
        assert_eq!(out[2], out[0] - out[1]);
    }

    #[test]
    fn the_row_is_three_numbers_and_the_path() {
        assert!(evaluate_one::<Asian>(&[100.0, 0.05, 1.0]).is_err());
    }
}
