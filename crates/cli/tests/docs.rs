//! SECURITY.md points at the tests that show each promise: every test it names exists.

use std::path::Path;

/// The names of every function in the Rust files under `dir`.
fn functions(dir: &Path, names: &mut std::collections::HashSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            functions(&path, names);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                if let Some((_, rest)) = line.split_once("fn ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
        }
    }
}

#[test]
fn every_test_security_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut names = std::collections::HashSet::new();
    functions(&root.join("crates"), &mut names);
    functions(&root.join("xtask"), &mut names);
    let security = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    // Test names are long snake_case sentences in backticks (one line each).
    let cited: Vec<&str> = security
        .lines()
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter(|s| {
            s.matches('_').count() >= 4
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    assert!(cited.len() > 50, "found only {} test names", cited.len());
    let missing: Vec<&&str> = cited.iter().filter(|n| !names.contains(**n)).collect();
    assert!(
        missing.is_empty(),
        "SECURITY.md names tests that do not exist: {missing:?}"
    );
}
