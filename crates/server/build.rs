//! Puts the chart library (uPlot, from the npm registry, installed into `web/node_modules` by
//! `cargo xtask web`) where `include_str!` finds it. Without it the dashboard still works and
//! says that its charts were not bundled.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let dist = Path::new("../../web/node_modules/uplot/dist");
    println!("cargo:rerun-if-changed=../../web/node_modules/uplot/dist");
    for (file, stub) in [
        (
            "uPlot.iife.min.js",
            "window.uPlot = null; /* not bundled: run `cargo xtask web` and rebuild */",
        ),
        ("uPlot.min.css", "/* not bundled */"),
    ] {
        let text = std::fs::read_to_string(dist.join(file)).unwrap_or_else(|_| {
            println!(
                "cargo:warning=web/node_modules/uplot is missing: the dashboard will have no charts; run `cargo xtask web`"
            );
            stub.to_string()
        });
        std::fs::write(Path::new(&out).join(file), text).expect("write to OUT_DIR");
    }
}
