//! `portfolio`: a fixed-weight portfolio of four assets over one period.
//!
//! Inputs are the starting value and each asset's return over the period; outputs are the
//! portfolio's value at the end and its loss (positive when it lost money), the quantity whose
//! percentiles are the value at risk.

use mcp_model_sdk::{Model, fields};

/// Weights of US equity, European equity, bonds and gold.
pub const WEIGHTS: [f64; 4] = [0.4, 0.2, 0.3, 0.1];

/// The portfolio model.
pub struct Portfolio;

impl Model for Portfolio {
    const NAME: &'static str = "portfolio";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &[
        "initial_value",
        "r_us_equity",
        "r_eu_equity",
        "r_bonds",
        "r_gold",
    ];
    const OUTPUTS: &'static [&'static str] = &["value", "loss"];

    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let [initial, us, eu, bonds, gold] = fields(inputs);
        let growth: f64 = WEIGHTS
            .iter()
            .zip([us, eu, bonds, gold])
            .map(|(w, r)| w * (1.0 + r))
            .sum();
        let value = initial * growth;
        outputs[0] = value;
        outputs[1] = initial - value;
        Ok(())
    }
}

mcp_model_sdk::export_model!(Portfolio);

#[cfg(test)]
mod tests {
    use super::Portfolio;
    use mcp_model_sdk::evaluate_one;

    #[test]
    fn flat_returns_keep_the_value() {
        let out = evaluate_one::<Portfolio>(&[1000.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert!((out[0] - 1000.0).abs() < 1e-9);
        assert!(out[1].abs() < 1e-9);
    }

    #[test]
    fn losses_are_weighted() {
        // Only US equity (weight 0.4) falls by 10%: the portfolio loses 4%.
        let out = evaluate_one::<Portfolio>(&[1000.0, -0.1, 0.0, 0.0, 0.0]).unwrap();
        assert!((out[1] - 40.0).abs() < 1e-9);
    }
}
