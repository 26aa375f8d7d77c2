//! How long a consumer takes to compile each example model the first time it sees its digest
//! (a second job with the same model finds it compiled: `Sandbox::load`'s cache).
//!
//! Run with `cargo xtask bench` (release build, models built first). Each model is compiled
//! in a fresh sandbox `REPEATS` times and the fastest counts; then loaded again from the same
//! sandbox, which must find it in its cache.

use mcp_sandbox::{RunLimits, Sandbox};
use mcp_spec::Limits;
use std::time::Instant;

const MODELS: [&str; 5] = ["pricing", "sum", "asian", "portfolio", "ishigami"];
const REPEATS: usize = 3;

fn main() {
    let limits = RunLimits::from_spec(&Limits::default());
    println!("compiling each example model, best of {REPEATS} in fresh sandboxes");
    for name in MODELS {
        let wasm = mcp_testkit::model_bytes(name);
        let mut best = f64::INFINITY;
        let mut sandbox = None;
        for _ in 0..REPEATS {
            let fresh = Sandbox::new().expect("sandbox");
            let start = Instant::now();
            fresh.load(&wasm, &limits).expect("load the model");
            best = best.min(start.elapsed().as_secs_f64());
            sandbox = Some(fresh);
        }
        let sandbox = sandbox.expect("a sandbox");
        let start = Instant::now();
        sandbox.load(&wasm, &limits).expect("load the model again");
        let again = start.elapsed().as_secs_f64();
        println!(
            "{name:<10} {:>7} KiB   compile {:>7.1} ms   same digest again {:>7.3} ms",
            wasm.len() / 1024,
            best * 1e3,
            again * 1e3
        );
    }
}
