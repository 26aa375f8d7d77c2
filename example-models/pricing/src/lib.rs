//! `pricing`: a European call option under geometric Brownian motion.
//!
//! With `z` standard normal, the terminal price is
//! `ST = spot · exp((rate − vol²/2) · maturity + vol · √maturity · z)`, the discounted payoff
//! `price = exp(−rate · maturity) · max(ST − strike, 0)`, and `itm = 1` when `ST > strike`.
//! The mean of `price` converges to the Black–Scholes price, the mean of `itm` to N(d2).

use mcp_model_sdk::math::{exp, max};
use mcp_model_sdk::{Model, fields};

/// The European call model.
pub struct Pricing;

impl Model for Pricing {
    const NAME: &'static str = "pricing";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &["spot", "strike", "rate", "vol", "maturity", "z"];
    const OUTPUTS: &'static [&'static str] = &["price", "itm"];

    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let [spot, strike, rate, vol, maturity, z] = fields(inputs);
        let terminal = spot * exp((rate - 0.5 * vol * vol) * maturity + vol * maturity.sqrt() * z);
        outputs[0] = exp(-rate * maturity) * max(terminal - strike, 0.0);
        outputs[1] = if terminal > strike { 1.0 } else { 0.0 };
        Ok(())
    }
}

mcp_model_sdk::export_model!(Pricing);

#[cfg(test)]
mod tests {
    use super::Pricing;
    use mcp_model_sdk::evaluate_one;

    #[test]
    fn at_z_zero_the_payoff_is_the_drifted_forward() {
        let out = evaluate_one::<Pricing>(&[100.0, 100.0, 0.05, 0.2, 1.0, 0.0]).unwrap();
        let terminal = 100.0 * (0.05f64 - 0.02).exp();
        let expected = (-0.05f64).exp() * (terminal - 100.0);
        assert!((out[0] - expected).abs() < 1e-12);
        assert_eq!(out[1], 1.0);
    }

    #[test]
    fn out_of_the_money_pays_nothing() {
        let out = evaluate_one::<Pricing>(&[100.0, 150.0, 0.05, 0.2, 1.0, -1.0]).unwrap();
        assert_eq!(out, vec![0.0, 0.0]);
    }
}
