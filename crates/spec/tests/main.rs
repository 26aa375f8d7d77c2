//! Data-driven spec tests: every `ui/invalid/NAME.toml` must fail with exactly the text in
//! `ui/invalid/NAME.err`, and every `ui/valid/*.toml` must parse. Run with `MCP_BLESS=1` to
//! rewrite the `.err` files after a deliberate change to a message, then review the diff.

use mcp_spec::{Distribution, Spec};
use std::path::{Path, PathBuf};

/// This package's directory, as `cargo test` names it at run time (the test binary may have
/// been built in another checkout sharing the target directory).
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn ui(dir: &str) -> Vec<PathBuf> {
    let root = package_dir().join("tests/ui").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", root.display());
    files
}

fn parse(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    Spec::parse(&text, &name).map_err(|e| e.to_string())
}

#[test]
fn invalid_specs_fail_with_their_messages() {
    let bless = std::env::var_os("MCP_BLESS").is_some();
    let mut mismatches = Vec::new();
    for case in ui("invalid") {
        let actual = match parse(&case) {
            Ok(_) => "(parsed without error)".to_string(),
            Err(e) => e,
        };
        let expected_path = case.with_extension("err");
        if bless {
            std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if actual != expected.trim_end() {
            mismatches.push(format!(
                "{}\n--- expected\n{}\n--- actual\n{actual}\n",
                case.display(),
                expected.trim_end()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn valid_specs_parse() {
    for case in ui("valid") {
        if let Err(e) = parse(&case) {
            panic!("{} should parse:\n{e}", case.display());
        }
    }
}

#[test]
fn every_distribution_is_read_with_its_parameters() {
    let spec = parse(&package_dir().join("tests/ui/valid/every_distribution.toml")).unwrap();
    assert_eq!(spec.model.name.as_deref(), Some("everything"));
    assert_eq!(spec.model.version.as_deref(), Some("1.2.3"));
    assert_eq!(spec.simulation.seed, u64::MAX);
    assert_eq!((spec.simulation.scenarios, spec.simulation.batch), (10, 3));
    assert_eq!(spec.limits.fuel_per_scenario, 5_000);
    assert_eq!(spec.limits.memory_mib, 16);
    assert_eq!(spec.limits.timeout_s, 60);
    assert_eq!(spec.limits.scenario_timeout_ms, 250);
    assert_eq!(spec.variables.len(), mcp_spec::DISTRIBUTIONS.len());
    for var in &spec.variables {
        assert_eq!(
            var.name,
            var.dist.name(),
            "each variable is named after its distribution"
        );
    }
    assert_eq!(
        spec.variable("binomial").unwrap().dist,
        Distribution::Binomial { n: 20, p: 0.3 }
    );
    assert_eq!(
        spec.variable("discrete").unwrap().dist,
        Distribution::Discrete {
            values: vec![1.0, 2.5, 10.0],
            weights: vec![1.0, 1.0, 2.0]
        }
    );
    assert_eq!(
        spec.variable("constant").unwrap().dist,
        Distribution::Constant { value: 2.0 }
    );
}

#[test]
fn defaults_apply_when_optional_tables_are_missing() {
    let spec = Spec::parse(
        "[simulation]\nscenarios = 5\nseed = 0\n[variables]\nx = { dist = \"constant\", value = 1 }\n",
        "min.toml",
    )
    .unwrap();
    assert_eq!(spec.simulation.batch, mcp_spec::DEFAULT_BATCH);
    assert_eq!(spec.limits, mcp_spec::Limits::default());
    assert_eq!(spec.model, mcp_spec::ModelExpectation::default());
}

#[test]
fn model_mismatches_name_the_variable_and_the_fix() {
    let text = "[model]\nname = \"pricing\"\nversion = \"9\"\n[simulation]\nscenarios = 5\nseed = 0\n\
                [variables]\nx = { dist = \"constant\", value = 1 }\nspot = { dist = \"constant\", value = 1 }\n";
    let spec = Spec::parse(text, "vars.toml").unwrap();
    let err = spec
        .check_model("sum", "0.1.0", &["spot".to_string(), "z".to_string()], &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "vars.toml:2:8: model.name: the spec expects model `pricing` but the file is model `sum`; submit the right model or change `model.name`\n\
         vars.toml:3:11: model.version: the spec expects version `9` of model `sum` but the file is version `0.1.0`; rebuild the model or change `model.version`\n\
         vars.toml:7:2: variables: model `sum` input `z` has no distribution; add one under [variables], for example `z = { dist = \"normal\", mean = 0.0, std = 1.0 }`\n\
         vars.toml:8:1: variables.x: model `sum` has no input `x` (its inputs are: spot, z); remove the variable or fix its name"
    );
    assert!(
        spec.check_model("pricing", "9", &["spot".into(), "x".into()], &[])
            .is_ok()
    );
}

#[test]
fn vector_and_path_sizes_must_match_the_model() {
    let text = "[simulation]\nscenarios = 5\nseed = 0\n[variables]\n\
                z = { dist = \"normal\", mean = 0, std = 1, size = 4 }\n\
                s = { process = \"gbm\", s0 = 100, mu = 0.05, sigma = 0.2, dt = 0.01, steps = 3 }\n\
                k = { dist = \"constant\", value = 1 }\n";
    let spec = Spec::parse(text, "vars.toml").unwrap();
    let inputs = ["k".to_string(), "s".to_string(), "z".to_string()];
    assert!(spec.check_model("m", "1", &inputs, &[1, 3, 4]).is_ok());
    let err = spec
        .check_model("m", "1", &inputs, &[2, 5, 1])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "vars.toml:5:1: variables.z: model `m` takes 1 value for input `z` but the spec gives 4; drop `size`\n\
         vars.toml:6:1: variables.s: model `m` takes 5 values for input `s` but the spec gives 3; set `steps = 5`\n\
         vars.toml:7:1: variables.k: model `m` takes 2 values for input `k` but the spec gives 1; set `size = 2`"
    );
}

/// Whatever the text, parsing ends with a spec or an error naming the file: no panic, no hang.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// `PROPTEST_CASES` when set (long runs), else `default`.
    fn cases(default: u32) -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn valid() -> String {
        std::fs::read_to_string(package_dir().join("tests/ui/valid/every_distribution.toml"))
            .unwrap()
    }

    fn check(text: &str) {
        match Spec::parse(text, "fuzz.toml") {
            // What the parser accepts, every role accepts when it checks a decoded spec.
            Ok(spec) => assert_eq!(spec.validate(), Ok(())),
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains("fuzz.toml"), "{message}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

        #[test]
        fn any_text(text in "\\PC{0,400}") {
            check(&text);
        }

        #[test]
        fn a_valid_spec_cut_short(at in 0usize..2000) {
            let text = valid();
            let at = text.floor_char_boundary(at.min(text.len()));
            check(&text[..at]);
        }

        #[test]
        fn a_valid_spec_with_one_value_replaced(
            line in 0usize..60,
            value in prop_oneof![
                Just("-1".to_string()), Just("0".to_string()), Just("nan".to_string()),
                Just("inf".to_string()), Just("1e400".to_string()), Just("\"x\"".to_string()),
                Just("[]".to_string()), Just("{}".to_string()), Just("18446744073709551616".to_string()),
                "[-+]?[0-9]{1,25}(\\.[0-9]{0,5})?",
            ],
        ) {
            let text = valid();
            let lines: Vec<String> = text
                .lines()
                .enumerate()
                .map(|(i, l)| match l.split_once('=') {
                    Some((key, _)) if i == line % text.lines().count() => format!("{key}= {value}"),
                    _ => l.to_string(),
                })
                .collect();
            check(&lines.join("\n"));
        }
    }
}

#[test]
fn percentiles_become_parameters_and_truncation_is_kept() {
    let spec =
        parse(&package_dir().join("tests/ui/valid/percentiles_and_truncation.toml")).unwrap();
    let var = |name: &str| spec.variables.iter().find(|v| v.name == name).unwrap();
    let Distribution::Normal { mean, std } = var("by_normal").dist else {
        panic!("{:?}", var("by_normal"))
    };
    // p5 = 80 and p95 = 120: the mean halfway, 1.645 standard deviations to each.
    assert!((mean - 100.0).abs() < 1e-9 && (std - 20.0 / 1.6448536269514722).abs() < 1e-9);
    assert!(matches!(
        var("by_lognormal").dist,
        Distribution::Lognormal { .. }
    ));
    assert_eq!(var("by_lognormal").truncate, Some([1.0, 100.0]));
    let Distribution::Pert { min, mode, max } = var("by_pert").dist else {
        panic!("{:?}", var("by_pert"))
    };
    assert!(
        min < 80.0 && mode == 100.0 && max > 130.0,
        "{min} {mode} {max}"
    );
    assert_eq!(var("cut_gamma").truncate, Some([1.0, 10.0]));
    assert_eq!(var("by_normal").truncate, None);
    assert_eq!(spec.validate(), Ok(()));
}
