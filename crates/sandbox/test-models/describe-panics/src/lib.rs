//! `describe-panics`: a test model whose `describe()` panics, so that the host cannot learn its
//! inputs and outputs. The sandbox must refuse it at load with the panic's message.

#![allow(missing_debug_implementations)]

use mcp_model_sdk::bindings::exports::mcp::model::evaluate::{BatchOutput, Guest, Info};

/// The model.
pub struct DescribePanics;

impl Guest for DescribePanics {
    fn describe() -> Info {
        panic!("describe-panics cannot describe itself")
    }

    fn run_batch(count: u32, _inputs: Vec<f64>) -> BatchOutput {
        BatchOutput {
            values: vec![0.0; count as usize],
            failure: None,
        }
    }
}

#[cfg(target_family = "wasm")]
mcp_model_sdk::bindings::__export_model_world!(DescribePanics with_types_in mcp_model_sdk::bindings);
