//! The guest SDK for mcp models: write one plain function per scenario, get a Wasm component.
//!
//! A model is a type implementing [`Model`]: its name, version, input and output names, and an
//! `evaluate` function from one scenario's inputs to its outputs. [`export_model!`] turns it into
//! a component of the `mcp:model` world (see `wit/model.wit`): the SDK runs the batch loop, stops
//! at the first scenario that returns an error and reports its index, so the host can record
//! that one scenario as failed and go on. The same crate builds natively, so a model author can
//! unit-test `evaluate` with plain `cargo test`. The generated bindings are hidden; a model never
//! sees them.
//!
//! ```
//! use mcp_model_sdk::{Model, fields};
//!
//! struct Sum;
//!
//! impl Model for Sum {
//!     const NAME: &'static str = "sum";
//!     const VERSION: &'static str = "0.1.0";
//!     const INPUTS: &'static [&'static str] = &["x", "y"];
//!     const OUTPUTS: &'static [&'static str] = &["sum"];
//!
//!     fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
//!         let [x, y] = fields(inputs);
//!         outputs[0] = x + y;
//!         Ok(())
//!     }
//! }
//!
//! mcp_model_sdk::export_model!(Sum);
//!
//! assert_eq!(mcp_model_sdk::evaluate_one::<Sum>(&[1.0, 2.0]), Ok(vec![3.0]));
//! ```

pub mod math;

// Lets the generated code name this crate by its path in model crates.
extern crate self as mcp_model_sdk;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "model",
        pub_export_macro: true,
        export_macro_name: "__export_model_world",
        default_bindings_module: "mcp_model_sdk::bindings",
        runtime_path: "mcp_model_sdk::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

use bindings::exports::mcp::model::evaluate::{BatchOutput, Failure, Info};

/// A Monte Carlo model: a pure function from named inputs to named outputs.
///
/// `evaluate` must be deterministic: the same inputs give the same outputs. A model has no
/// filesystem, network, environment, clock or entropy; everything it needs comes in `inputs`.
pub trait Model {
    /// The model's name, checked against `[model] name` in a spec.
    const NAME: &'static str;
    /// The model's version, checked against `[model] version` in a spec.
    const VERSION: &'static str;
    /// Input names; `evaluate` receives the values in this order. A vector input of `N`
    /// values is declared `"name[N]"` (for example `"path[252]"`) and takes `N` consecutive
    /// values of the row; the spec gives it `size = N` (or a process with `steps = N`).
    const INPUTS: &'static [&'static str];
    /// Output names; `evaluate` writes the values in this order.
    const OUTPUTS: &'static [&'static str];

    /// Computes one scenario: `inputs` has one value per input name (`N` for a vector input
    /// `name[N]`), `outputs` one slot per output name (zeroed). An `Err` marks this scenario as failed with that message.
    fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String>;
}

/// Destructures a row of inputs into an array: `let [x, y] = fields(inputs);`.
///
/// # Panics
/// When the row does not hold exactly `N` values, which the SDK rules out for `evaluate`'s inputs
/// as long as `N` is the number of names in [`Model::INPUTS`].
pub fn fields<const N: usize>(row: &[f64]) -> [f64; N] {
    match row.try_into() {
        Ok(array) => array,
        Err(_) => panic!("expected {N} inputs, got {}", row.len()),
    }
}

/// How many values a declared input takes: `N` for `"name[N]"`, else 1.
///
/// # Panics
/// On a declaration that ends in `[...]` without a whole number from 1 to 65536 in it (the
/// host refuses such a model with the same rule).
pub const fn input_size(declared: &str) -> usize {
    let bytes = declared.as_bytes();
    let len = bytes.len();
    if len == 0 || bytes[len - 1] != b']' {
        return 1;
    }
    let mut i = len - 1;
    let mut size = 0usize;
    let mut scale = 1usize;
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b'0'..=b'9' if scale <= 100_000 => {
                size += (bytes[i] - b'0') as usize * scale;
                scale *= 10;
            }
            b'[' if scale > 1 && i > 0 && size >= 1 && size <= 65_536 => return size,
            _ => break,
        }
    }
    panic!("a vector input is declared `name[N]` with N from 1 to 65536")
}

/// How many values one row of `inputs` holds: the sum of their sizes.
pub const fn row_width(inputs: &[&str]) -> usize {
    let mut width = 0;
    let mut i = 0;
    while i < inputs.len() {
        width += input_size(inputs[i]);
        i += 1;
    }
    width
}

/// Runs one scenario natively, as the component would: for unit tests of a model.
pub fn evaluate_one<M: Model>(inputs: &[f64]) -> Result<Vec<f64>, String> {
    let width = row_width(M::INPUTS);
    if inputs.len() != width {
        return Err(format!(
            "model `{}` takes {width} input values ({}), got {}",
            M::NAME,
            M::INPUTS.join(", "),
            inputs.len()
        ));
    }
    let mut out = vec![0.0; M::OUTPUTS.len()];
    M::evaluate(inputs, &mut out)?;
    Ok(out)
}

#[doc(hidden)]
pub fn __describe<M: Model>() -> Info {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    Info {
        name: M::NAME.to_string(),
        version: M::VERSION.to_string(),
        inputs: names(M::INPUTS),
        outputs: names(M::OUTPUTS),
    }
}

#[doc(hidden)]
pub fn __run_batch<M: Model>(count: u32, inputs: Vec<f64>) -> BatchOutput {
    let (n_in, n_out, count) = (row_width(M::INPUTS), M::OUTPUTS.len(), count as usize);
    if inputs.len() != count * n_in {
        return BatchOutput {
            values: Vec::new(),
            failure: Some(Failure {
                index: 0,
                message: format!(
                    "the host sent {} values for {count} scenarios of {n_in} inputs",
                    inputs.len()
                ),
            }),
        };
    }
    let mut values = vec![0.0; count * n_out];
    // Rows go UNROLL at a time through a loop of fixed length, which the compiler unrolls: the
    // sandbox checks fuel and its deadline at every loop's head, so this checks them once per
    // UNROLL scenarios instead of once per scenario.
    const UNROLL: usize = 4;
    let whole = count / UNROLL * UNROLL;
    let rows = inputs.chunks_exact(n_in.max(1) * UNROLL);
    let outs = values.chunks_exact_mut(n_out.max(1) * UNROLL);
    let mut failed = None;
    'groups: for (g, (rows, outs)) in rows.zip(outs).enumerate() {
        for k in 0..UNROLL {
            let row = &rows[k * n_in..(k + 1) * n_in];
            let out = &mut outs[k * n_out..(k + 1) * n_out];
            if let Err(message) = M::evaluate(row, out) {
                failed = Some((g * UNROLL + k, message));
                break 'groups;
            }
        }
    }
    if failed.is_none() {
        for i in whole..count {
            let row = &inputs[i * n_in..(i + 1) * n_in];
            let out = &mut values[i * n_out..(i + 1) * n_out];
            if let Err(message) = M::evaluate(row, out) {
                failed = Some((i, message));
                break;
            }
        }
    }
    match failed {
        Some((i, message)) => {
            values.truncate(i * n_out);
            BatchOutput {
                values,
                failure: Some(Failure {
                    index: i as u32,
                    message,
                }),
            }
        }
        None => BatchOutput {
            values,
            failure: None,
        },
    }
}

/// Exports a [`Model`] type as the component's `mcp:model/evaluate` interface.
///
/// Expands to nothing outside WebAssembly, so the crate still builds and tests natively.
#[macro_export]
macro_rules! export_model {
    ($model:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct McpModelExport;

            impl $crate::bindings::exports::mcp::model::evaluate::Guest for McpModelExport {
                fn describe() -> $crate::bindings::exports::mcp::model::evaluate::Info {
                    $crate::__describe::<$model>()
                }

                fn run_batch(
                    count: u32,
                    inputs: ::std::vec::Vec<f64>,
                ) -> $crate::bindings::exports::mcp::model::evaluate::BatchOutput {
                    $crate::__run_batch::<$model>(count, inputs)
                }
            }

    $crate::bindings::__export_model_world!(McpModelExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_sizes_are_read_as_the_host_reads_them() {
        assert_eq!(input_size("z"), 1);
        assert_eq!(input_size("path[252]"), 252);
        assert_eq!(input_size("a[b][3]"), 3);
        assert_eq!(input_size("x[65536]"), 65536);
        assert_eq!(row_width(&["s0", "path[252]", "k"]), 254);
        for bad in ["x[0]", "x[65537]", "x[]", "[3]", "x]", "x[+5]"] {
            assert!(
                std::panic::catch_unwind(|| input_size(bad)).is_err(),
                "{bad}"
            );
        }
    }

    struct Ratio;

    impl Model for Ratio {
        const NAME: &'static str = "ratio";
        const VERSION: &'static str = "1.0.0";
        const INPUTS: &'static [&'static str] = &["a", "b"];
        const OUTPUTS: &'static [&'static str] = &["ratio"];

        fn evaluate(inputs: &[f64], outputs: &mut [f64]) -> Result<(), String> {
            let [a, b] = fields(inputs);
            if b == 0.0 {
                return Err("b is zero".to_string());
            }
            outputs[0] = a / b;
            Ok(())
        }
    }

    #[test]
    fn batch_loop_stops_at_the_first_failure() {
        let out = __run_batch::<Ratio>(3, vec![1.0, 2.0, 1.0, 0.0, 3.0, 1.0]);
        assert_eq!(out.values, vec![0.5]);
        let failure = out.failure.expect("scenario 1 fails");
        assert_eq!((failure.index, failure.message.as_str()), (1, "b is zero"));
    }

    #[test]
    fn batch_loop_runs_every_scenario() {
        let out = __run_batch::<Ratio>(2, vec![1.0, 2.0, 3.0, 1.0]);
        assert_eq!(out.values, vec![0.5, 3.0]);
        assert!(out.failure.is_none());
    }

    #[test]
    fn wrong_input_length_is_reported() {
        let out = __run_batch::<Ratio>(2, vec![1.0, 2.0, 3.0]);
        let failure = out.failure.expect("length mismatch");
        assert_eq!(
            failure.message,
            "the host sent 3 values for 2 scenarios of 2 inputs"
        );
        assert_eq!(
            evaluate_one::<Ratio>(&[1.0]),
            Err("model `ratio` takes 2 input values (a, b), got 1".to_string())
        );
    }

    #[test]
    fn describe_lists_names() {
        let info = __describe::<Ratio>();
        assert_eq!(info.name, "ratio");
        assert_eq!(info.inputs, vec!["a", "b"]);
        assert_eq!(info.outputs, vec!["ratio"]);
    }
}
