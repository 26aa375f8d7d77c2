//! `faulty`: a test model that misbehaves on request, one way per value of its `mode` input.
//!
//! It implements the generated guest bindings directly rather than through the SDK's batch loop,
//! so that it can also break the ABI (wrong number of outputs).
//!
//! | mode | behaviour |
//! |---|---|
//! | 0 | `y = x` |
//! | 1 | returns an error |
//! | 2 | panics |
//! | 3 | loops forever (out of fuel) |
//! | 4 | returns NaN |
//! | 5 | grows memory without bound |
//! | 6 | recurses without bound |
//! | 7 | executes `unreachable` |
//! | 8 | returns no outputs at all for the batch |
//! | 9 | prints to stdout and stderr, then `y = x` |

#![allow(missing_debug_implementations)]

use mcp_model_sdk::bindings::exports::mcp::model::evaluate::{BatchOutput, Failure, Guest, Info};

/// The misbehaving model.
pub struct Faulty;

fn evaluate(mode: f64, x: f64) -> Result<f64, String> {
    match mode as i64 {
        0 => Ok(x),
        1 => Err(format!("mode 1 refuses x = {x}")),
        2 => panic!("mode 2 panics on x = {x}"),
        3 => {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        4 => Ok(f64::NAN),
        5 => {
            // Reserve without touching, so that growing memory, not fuel, is the limit hit.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(std::hint::black_box(Vec::with_capacity(1 << 20)));
            }
        }
        6 => Ok(recurse(std::hint::black_box(x) as u64 + 1) as f64),
        7 => unreachable_instruction(),
        9 => {
            println!("faulty says hello on stdout, x = {x}");
            eprintln!("faulty says hello on stderr");
            Ok(x)
        }
        _ => Ok(x),
    }
}

/// Recursion whose frames live on the wasm call stack (no locals spill to the shadow stack in
/// linear memory), so it ends in a stack-overflow trap.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        recurse(std::hint::black_box(n.wrapping_add(1))).wrapping_add(1)
    }
}

#[cfg(target_family = "wasm")]
fn unreachable_instruction() -> Result<f64, String> {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_family = "wasm"))]
fn unreachable_instruction() -> Result<f64, String> {
    unreachable!("mode 7 only makes sense in wasm")
}

impl Guest for Faulty {
    fn describe() -> Info {
        Info {
            name: "faulty".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            inputs: vec!["mode".into(), "x".into()],
            outputs: vec!["y".into()],
        }
    }

    fn run_batch(count: u32, inputs: Vec<f64>) -> BatchOutput {
        let mut values = Vec::with_capacity(count as usize);
        for (i, row) in inputs.chunks_exact(2).enumerate() {
            if row[0] as i64 == 8 {
                return BatchOutput {
                    values: Vec::new(),
                    failure: None,
                };
            }
            match evaluate(row[0], row[1]) {
                Ok(y) => values.push(y),
                Err(message) => {
                    return BatchOutput {
                        values,
                        failure: Some(Failure {
                            index: i as u32,
                            message,
                        }),
                    };
                }
            }
        }
        BatchOutput {
            values,
            failure: None,
        }
    }
}

#[cfg(target_family = "wasm")]
mcp_model_sdk::bindings::__export_model_world!(Faulty with_types_in mcp_model_sdk::bindings);
