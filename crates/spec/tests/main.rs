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

/// The copula matrix of rank correlations `rho`, `2 sin(π ρ / 6)`, flattened.
fn copula_matrix(rho: &[Vec<f64>]) -> Vec<f64> {
    rho.iter()
        .flatten()
        .map(|r| 2.0 * (std::f64::consts::PI * r / 6.0).sin())
        .collect()
}

/// The rank correlations whose copula matrix is `r` (`n × n`, flattened).
fn rank_matrix(r: &[f64], n: usize) -> Vec<Vec<f64>> {
    r.chunks(n)
        .map(|row| {
            row.iter()
                .map(|x| 6.0 / std::f64::consts::PI * (x / 2.0).asin())
                .collect()
        })
        .collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Whether rank correlations `rho` can exist (the spec's own Cholesky check).
fn valid(rho: Vec<Vec<f64>>) -> bool {
    let group = mcp_spec::Correlation {
        variables: (0..rho.len()).map(|i| format!("v{i}")).collect(),
        matrix: rho,
        copula: mcp_spec::Copula::Gaussian,
        repaired_from: None,
    };
    group.cholesky().is_ok()
}

/// The distance (in the copula's matrix) of `repaired` from `written`, and those of two obvious
/// valid alternatives: shrinking towards independence just enough, and clipping the negative
/// eigenvalue then rescaling the diagonal (the matrices here have one).
fn alternatives(written: &[Vec<f64>], repaired: &[Vec<f64>]) -> (f64, Vec<(&'static str, f64)>) {
    let n = written.len();
    let r0 = copula_matrix(written);
    let shrink = |a: f64| -> Vec<f64> {
        r0.iter()
            .enumerate()
            .map(|(k, r)| if k % (n + 1) == 0 { 1.0 } else { (1.0 - a) * r })
            .collect()
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if valid(rank_matrix(&shrink(mid), n)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // The least eigenvalue and its vector by power iteration on (c I − R), c above every
    // eigenvalue.
    let times = |v: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| (0..n).map(|j| r0[i * n + j] * v[j]).sum::<f64>())
            .collect()
    };
    let c = n as f64;
    let mut v: Vec<f64> = (0..n).map(|i| 1.0 - 0.37 * i as f64).collect();
    for _ in 0..2000 {
        let rv = times(&v);
        let w: Vec<f64> = (0..n).map(|i| c * v[i] - rv[i]).collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = w.iter().map(|x| x / norm).collect();
    }
    let lambda: f64 = times(&v).iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!(lambda < 0.0, "the least eigenvalue {lambda} is negative");
    let mut clipped: Vec<f64> = (0..n * n)
        .map(|k| r0[k] - lambda * v[k / n] * v[k % n])
        .collect();
    let d: Vec<f64> = (0..n).map(|i| clipped[i * (n + 1)].sqrt()).collect();
    for k in 0..n * n {
        clipped[k] /= d[k / n] * d[k % n];
    }
    let usable = rank_matrix(&clipped, n);
    // Clipping leaves a zero eigenvalue: valid up to rounding.
    assert!(valid(usable), "clipping gave an invalid matrix");
    (
        distance(&copula_matrix(repaired), &r0),
        vec![
            ("shrunk", distance(&shrink(hi), &r0)),
            ("clipped", distance(&clipped, &r0)),
        ],
    )
}

#[test]
fn repair_replaces_a_matrix_that_cannot_exist_by_the_nearest_valid_one_and_says_so() {
    let path = package_dir().join("tests/ui/valid/correlation_repaired.toml");
    let spec = parse(&path).unwrap();
    let written = vec![
        vec![1.0, 0.9, 0.9],
        vec![0.9, 1.0, -0.9],
        vec![0.9, -0.9, 1.0],
    ];
    let group = &spec.correlations[0];
    assert_eq!(group.repaired_from.as_ref(), Some(&written));
    let m = &group.matrix;
    for (i, row) in m.iter().enumerate() {
        assert_eq!(row[i], 1.0);
        for (j, x) in row.iter().enumerate() {
            assert_eq!(*x, m[j][i]);
            assert!((-1.0..=1.0).contains(x));
        }
    }
    // Every role checks the decoded spec with the same Cholesky factor: it passes.
    assert!(group.cholesky().is_ok());
    assert_eq!(spec.validate(), Ok(()));
    // The matrix as written fails it, naming the variable.
    let mut refused = std::fs::read_to_string(&path).unwrap();
    refused = refused.replace("repair = true", "repair = false");
    let err = Spec::parse(&refused, "vars.toml").unwrap_err().to_string();
    assert!(
        err.contains("the correlations of `z` with `x`, `y` contradict those among `x`, `y`"),
        "{err}"
    );

    // Nearer (in the copula's matrix, where nearness is defined) than the obvious ways out.
    // This matrix is so symmetric that shrinking and clipping find the nearest one too: the
    // repair can only be farther by what its eigenvalue floor (1e-8) moves it.
    let (repaired, others) = alternatives(&written, m);
    for (name, other) in others {
        assert!(
            repaired <= other + 1e-7,
            "repaired {repaired}, {name} {other}"
        );
    }
    let one_pair = {
        // y–z raised to the least value that makes the matrix valid: 2 r² − 1 with r = x–y.
        let mut r = copula_matrix(&written);
        let least = 2.0 * r[1] * r[1] - 1.0;
        r[5] = least;
        r[7] = least;
        assert!(valid(rank_matrix(&r, 3)));
        distance(&r, &copula_matrix(&written))
    };
    assert!(
        repaired < one_pair / 2.0,
        "repaired {repaired}, one pair {one_pair}"
    );
    // A less symmetric matrix: the repair is strictly nearer than both.
    let lopsided = "[simulation]\nscenarios = 10\nseed = 1\n[variables]\na = { dist = \"normal\", \
                    mean = 0, std = 1 }\nb = { dist = \"normal\", mean = 0, std = 1 }\nc = { dist \
                    = \"normal\", mean = 0, std = 1 }\n[[correlation]]\nvariables = [\"a\", \"b\", \
                    \"c\"]\nmatrix = [[1, 0.9, 0.7], [0.9, 1, -0.5], [0.7, -0.5, 1]]\nrepair = true\n";
    let other = Spec::parse(lopsided, "vars.toml").unwrap();
    let (repaired_lopsided, others) = alternatives(
        other.correlations[0].repaired_from.as_ref().unwrap(),
        &other.correlations[0].matrix,
    );
    eprintln!("repaired {repaired_lopsided}, alternatives {others:?}");
    for (name, other) in others {
        assert!(
            repaired_lopsided < other - 1e-4,
            "repaired {repaired_lopsided}, {name} {other}"
        );
    }

    // The warning names the largest change and prints the matrix used.
    assert_eq!(spec.warnings.len(), 1);
    let warning = spec.warnings[0].to_string();
    eprintln!("{warning}");
    let (mut at, mut largest) = ((0, 0), 0.0);
    for i in 0..3 {
        for j in 0..i {
            if (m[i][j] - written[i][j]).abs() > largest {
                (at, largest) = ((i, j), (m[i][j] - written[i][j]).abs());
            }
        }
    }
    let names = ["x", "y", "z"];
    let pair = format!(
        "`{}`–`{}` from {}",
        names[at.1], names[at.0], written[at.0][at.1]
    );
    assert!(
        warning.starts_with(
            "correlation_repaired.toml:11:1: correlation[0].matrix: is not a valid correlation \
             matrix (not positive semi-definite); `repair = true` replaced it by the nearest \
             valid one, whose largest change is "
        ) && warning.contains(&pair)
            && warning.contains(
                &format!("to {:.4}", m[at.0][at.1])
                    .trim_end_matches('0')
                    .to_string()
            )
            && warning.contains("; matrix used: [[1, "),
        "{warning}"
    );

    // The repaired matrix is what travels: a decoded spec carries it, and its warnings stay
    // with the parser.
    for decoded in [
        serde_json::from_str::<Spec>(&serde_json::to_string(&spec).unwrap()).unwrap(),
        rmp_serde::from_slice::<Spec>(&rmp_serde::to_vec_named(&spec).unwrap()).unwrap(),
    ] {
        assert_eq!(decoded.correlations, spec.correlations);
        assert!(decoded.warnings.is_empty());
        assert_eq!(decoded.validate(), Ok(()));
    }
}

#[test]
fn repair_leaves_a_valid_matrix_alone_and_unrepaired_groups_travel_as_before() {
    let spec = parse(&package_dir().join("tests/ui/valid/correlation_archimedean.toml")).unwrap();
    assert!(spec.warnings.is_empty());
    assert!(spec.correlations.iter().all(|c| c.repaired_from.is_none()));
    assert_eq!(
        spec.correlations[2].matrix,
        vec![vec![1.0, -0.999], vec![-0.999, 1.0]]
    );
    let copulas: Vec<mcp_spec::Copula> = spec.correlations.iter().map(|c| c.copula).collect();
    use mcp_spec::Copula;
    assert_eq!(
        copulas,
        [
            Copula::Clayton,
            Copula::Gumbel,
            Copula::Frank,
            Copula::Gaussian
        ]
    );
    let json = serde_json::to_string(&spec.correlations).unwrap();
    assert!(!json.contains("repaired_from"), "{json}");
    let decoded: Spec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(decoded.correlations, spec.correlations);
}

#[test]
fn output_tables_are_read_and_must_name_an_output_of_the_model() {
    let spec = parse(&package_dir().join("tests/ui/valid/outputs.toml")).unwrap();
    let loss = spec.output_risk("loss").unwrap();
    assert_eq!(loss.thresholds, [1e6, 5e6]);
    assert_eq!(loss.var, [0.95, 0.99]);
    assert_eq!(spec.output_risk("profit").unwrap().var, [0.5]);
    assert!(spec.output_risk("x").is_none());
    let outputs = ["loss".to_string(), "profit".to_string()];
    assert!(spec.check_outputs("book", &outputs).is_ok());
    let err = spec
        .check_outputs("book", &outputs[..1])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "outputs.toml:12:10: outputs.profit: model `book` has no output `profit` (its outputs are: \
         loss); remove the table [outputs.profit] or fix its name"
    );
    // The tables travel with the spec, and a spec without them decodes as before.
    let json = serde_json::to_string(&spec).unwrap();
    let back: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(back.outputs, spec.outputs);
    let plain = Spec::parse("[simulation]\nscenarios = 5\nseed = 0\n[variables]\n", "v").unwrap();
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("outputs"), "{json}");
}

#[test]
fn a_stop_table_is_read_and_must_name_an_output_of_the_model() {
    let spec = parse(&package_dir().join("tests/ui/valid/stop.toml")).unwrap();
    let stop = spec.stop.clone().unwrap();
    assert_eq!(stop.output, "x2");
    assert_eq!(stop.precision, mcp_spec::Precision::Relative(0.001));
    assert_eq!((stop.max_scenarios, stop.check_every), (Some(800), 4));
    let outputs = ["x2".to_string(), "y".to_string()];
    assert!(spec.check_outputs("m", &outputs).is_ok());
    let err = spec
        .check_outputs("m", &outputs[1..])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "stop.toml:9:10: stop.output: model `m` has no output `x2` (its outputs are: y); name \
         one of them"
    );
    // The rule travels with the spec; a spec without one decodes as before, and one whose
    // `check_every` was left out judges every batch.
    let json = serde_json::to_string(&spec).unwrap();
    let back: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(back.stop, spec.stop);
    let plain = Spec::parse("[simulation]\nscenarios = 5\nseed = 0\n[variables]\n", "v").unwrap();
    assert!(plain.stop.is_none());
    assert!(!serde_json::to_string(&plain).unwrap().contains("stop"));
    let short = r#"{"output":"y","precision":{"ci95_half_width":0.5}}"#;
    let rule: mcp_spec::StopRule = serde_json::from_str(short).unwrap();
    assert_eq!((rule.check_every, rule.max_scenarios), (1, None));
}
