//! `ishigami`: the Ishigami function, the standard test of sensitivity analysis,
//! `f = sin x1 + a sin² x2 + b x3⁴ sin x1` with `a = 7`, `b = 0.1`.
//!
//! With every input uniform on [−π, π] its Sobol indices are known in closed form:
//! `V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2 = 13.8446`, `V1 = (1 + bπ⁴/5)²/2 = 4.3459`,
//! `V2 = a²/8 = 6.125`, `V3 = 0`, and one interaction, `V13 = b²π⁸ (1/18 − 1/50) = 3.3737`;
//! so `S1 = 0.3139`, `S2 = 0.4424`, `S3 = 0`, and `ST1 = (V1 + V13)/V = 0.5576`,
//! `ST2 = 0.4424`, `ST3 = V13/V = 0.2437`. `vars.toml` asks mcp for them.

use mcp_model_sdk::{Model, fields};

/// The Ishigami function of three inputs.
pub struct Ishigami;

/// The weight of `sin² x2`.
const A: f64 = 7.0;
/// The weight of `x3⁴ sin x1`.
const B: f64 = 0.1;

impl Model for Ishigami {
    const NAME: &'static str = "ishigami";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &["x1", "x2", "x3"];
    const OUTPUTS: &'static [&'static str] = &["f"];

    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let [x1, x2, x3] = fields(inputs);
        let s1 = x1.sin();
        outputs[0] = s1 + A * x2.sin().powi(2) + B * x3.powi(4) * s1;
        Ok(())
    }
}

mcp_model_sdk::export_model!(Ishigami);

#[cfg(test)]
mod tests {
    use super::Ishigami;
    use std::f64::consts::FRAC_PI_2;

    #[test]
    fn evaluates_the_ishigami_function() {
        let f = |x: [f64; 3]| mcp_model_sdk::evaluate_one::<Ishigami>(&x).unwrap()[0];
        assert_eq!(f([0.0, 0.0, 5.0]), 0.0);
        // sin(π/2) = 1: 1 + 7 + 0.1 · 2⁴ = 9.6.
        assert!((f([FRAC_PI_2, FRAC_PI_2, 2.0]) - 9.6).abs() < 1e-12);
    }
}
