//! `sum`: the smallest model there is, `sum = x + y`.

use mcp_model_sdk::{Model, fields};

/// Adds its two inputs.
pub struct Sum;

impl Model for Sum {
    const NAME: &'static str = "sum";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &["x", "y"];
    const OUTPUTS: &'static [&'static str] = &["sum"];

    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let [x, y] = fields(inputs);
        outputs[0] = x + y;
        Ok(())
    }
}

mcp_model_sdk::export_model!(Sum);

#[cfg(test)]
mod tests {
    use super::Sum;

    #[test]
    fn adds() {
        assert_eq!(
            mcp_model_sdk::evaluate_one::<Sum>(&[1.5, 2.0]),
            Ok(vec![3.5])
        );
    }
}
