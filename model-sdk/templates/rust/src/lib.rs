//! `{{name}}`: one scenario in, its outputs out. Replace the sum with your model; name its
//! inputs in `INPUTS` (vars.toml gives each a distribution) and its outputs in `OUTPUTS`.

use mcp_model_sdk::{Model, fields};

/// The model.
pub struct ThisModel;

impl Model for ThisModel {
    const NAME: &'static str = "{{name}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const INPUTS: &'static [&'static str] = &["x", "y"];
    const OUTPUTS: &'static [&'static str] = &["sum"];

    /// One scenario. An `Err` fails this scenario alone, with its message.
    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
        let [x, y] = fields(inputs);
        outputs[0] = x + y;
        Ok(())
    }
}

mcp_model_sdk::export_model!(ThisModel);

#[cfg(test)]
mod tests {
    use super::ThisModel;
    use mcp_model_sdk::evaluate_one;

    #[test]
    fn adds_its_inputs() {
        assert_eq!(evaluate_one::<ThisModel>(&[1.5, 2.0]), Ok(vec![3.5]));
    }
}
