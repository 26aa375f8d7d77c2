//! The Saltelli design of `[sensitivity] method = "sobol"`: each run of a design row is `A`,
//! `B` or `A` with one input group (a vector input whole) from `B`; `A_j` and `B_j` are the
//! plain generator's rows `2j` and `2j + 1`; a batch of any offset and size gives the same rows
//! as scenarios generated one at a time (what `mcp replay` does).

use mcp_sampling::ScenarioGenerator;
use mcp_spec::Spec;

const VARS: &str = "x = { dist = \"normal\", mean = 0.0, std = 1.0 }\n\
                    v = { dist = \"uniform\", min = 0.0, max = 1.0, size = 3 }\n\
                    c = { dist = \"constant\", value = 2.0 }\n";

fn generator(sensitivity: bool) -> ScenarioGenerator {
    let table = if sensitivity {
        "[sensitivity]\nmethod = \"sobol\"\n"
    } else {
        ""
    };
    let text =
        format!("[simulation]\nscenarios = 500\nseed = 7\nbatch = 50\n[variables]\n{VARS}{table}");
    let spec = Spec::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    // The model's order differs from the spec's (by name): groups follow the model.
    let inputs = ["v", "x", "c"].map(String::from);
    ScenarioGenerator::new(&spec, &inputs).unwrap()
}

#[test]
fn each_run_of_a_row_takes_one_group_from_b_and_the_rest_from_a() {
    let (design, plain) = (generator(true), generator(false));
    // Columns: v[0..3], x, c. Groups: v (0..3), x (3..4), c (4..5); 5 runs per row.
    let groups = [0..3, 3..4, 4..5];
    for j in [0u64, 1, 17, 99] {
        let (a, b) = (plain.scenario(2 * j), plain.scenario(2 * j + 1));
        assert_eq!(design.scenario(5 * j), a);
        assert_eq!(design.scenario(5 * j + 1), b);
        assert_ne!(a[..4], b[..4]);
        for (m, group) in groups.iter().enumerate() {
            let mut expected = a.clone();
            expected[group.clone()].copy_from_slice(&b[group.clone()]);
            assert_eq!(
                design.scenario(5 * j + 2 + m as u64),
                expected,
                "row {j}, group {m}"
            );
        }
    }
}

#[test]
fn batches_of_any_offset_give_the_scenarios_generated_alone() {
    let design = generator(true);
    let width = design.width();
    let mut out = Vec::new();
    for (start, count) in [(0u64, 50usize), (3, 11), (47, 9), (250, 1), (495, 5)] {
        design.fill(start, count, &mut out);
        assert_eq!(out.len(), count * width);
        for r in 0..count {
            let alone = design.scenario(start + r as u64);
            assert_eq!(
                out[r * width..(r + 1) * width],
                alone[..],
                "scenario {}",
                start + r as u64
            );
        }
    }
}
