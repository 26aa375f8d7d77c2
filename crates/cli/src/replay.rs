//! `mcp replay`: one scenario of a job, evaluated alone in the sandbox under the spec's limits,
//! with its inputs and its outputs (or its failure).
//!
//! Scenario `i`'s inputs are a function of the spec, the seed and `i` alone, so the consumer's
//! [`Evaluator`] on the one-scenario batch `i .. i + 1` sees exactly the row the run saw, and no
//! other scenario is generated.

use crate::args::ReplayArgs;
use crate::commands::{EXIT_SCENARIO_FAILED, prepare_job, read_spec};
use crate::table;
use anyhow::bail;
use mcp_consumer::Evaluator;
use mcp_protocol::{ModelInfo, ScenarioBatch, ScenarioFailure};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Vector inputs longer than this are shortened in the table (never in `--json`).
const SHOWN_VALUES: usize = 6;

pub(crate) fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut spec = read_spec(&args.spec)?;
    args.overrides()
        .apply(&mut spec, "--")
        .map_err(anyhow::Error::msg)?;
    let (scenarios, seed) = (spec.simulation.scenarios, spec.simulation.seed);
    let index = args.scenario;
    if index >= scenarios {
        bail!(
            "--scenario {index} is not a scenario of this job: {} has {scenarios} scenarios, \
             numbered 0 to {}; give --scenario below {scenarios}, or the --scenarios the run \
             was given",
            args.spec.display(),
            scenarios - 1
        );
    }
    let (sandbox, job) = prepare_job(&args.model, spec, |_| "replay".to_string())?;
    let mut evaluator = Evaluator::new(&sandbox, &job, None)?;
    let row = evaluator.inputs(index);
    let batch = ScenarioBatch {
        index: index / u64::from(job.spec.simulation.batch),
        start: index,
        count: 1,
    };
    let result = evaluator.evaluate(batch).expect("nothing aborts a replay");
    let replayed = Replayed {
        scenario: index,
        scenarios,
        seed,
        inputs: inputs(&job.info, &row),
        outputs: match result.failures.first() {
            Some(_) => Vec::new(),
            None => (job.info.outputs.iter().cloned())
                .zip(result.values.iter().map(|column| column[0]))
                .collect(),
        },
        failure: result.failures.into_iter().next(),
    };
    if args.json {
        println!("{}", replayed.to_json()?);
    } else {
        print!("{}", replayed.table());
    }
    Ok(match replayed.failure {
        Some(_) => ExitCode::from(EXIT_SCENARIO_FAILED),
        None => ExitCode::SUCCESS,
    })
}

/// The row cut into the model's inputs, in its order: each input's values (one for a scalar).
fn inputs(info: &ModelInfo, row: &[f64]) -> Vec<(String, Vec<f64>)> {
    let mut at = 0;
    (info.inputs.iter().enumerate())
        .map(|(i, name)| {
            let size = info.size(i);
            let values = row[at..at + size].to_vec();
            at += size;
            (name.clone(), values)
        })
        .collect()
}

/// One replayed scenario.
struct Replayed {
    scenario: u64,
    scenarios: u64,
    seed: u64,
    inputs: Vec<(String, Vec<f64>)>,
    /// Empty when it failed.
    outputs: Vec<(String, f64)>,
    failure: Option<ScenarioFailure>,
}

impl Replayed {
    /// `{"scenario", "scenarios", "seed", "inputs": {name: value or [values]}, "outputs":
    /// {name: value}}`, or `"failure": {"kind", "message"}` instead of the outputs; inputs and
    /// outputs in the model's order.
    fn to_json(&self) -> anyhow::Result<String> {
        let inputs = (self.inputs.iter())
            .map(|(name, values)| match values.as_slice() {
                [one] => (name.as_str(), json!(one)),
                all => (name.as_str(), json!(all)),
            })
            .collect();
        let outputs = (self.outputs.iter())
            .map(|(name, v)| (name.as_str(), json!(v)))
            .collect();
        let printed = Printed {
            scenario: self.scenario,
            scenarios: self.scenarios,
            seed: self.seed,
            inputs: Ordered(inputs),
            outputs: self.failure.is_none().then_some(Ordered(outputs)),
            failure: self
                .failure
                .as_ref()
                .map(|f| json!({ "kind": f.kind, "message": f.message })),
        };
        Ok(serde_json::to_string_pretty(&printed)?)
    }

    /// The scenario for people: `name = value` lines, long vectors shortened.
    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {} of {} (seed {})",
            self.scenario,
            table::count(self.scenarios),
            self.seed
        );
        let _ = writeln!(out, "inputs");
        for (name, values) in &self.inputs {
            let _ = writeln!(out, "  {name} = {}", shortened(values));
        }
        match &self.failure {
            Some(f) => {
                let _ = writeln!(out, "failed: {}: {}", f.kind, f.message);
            }
            None => {
                let _ = writeln!(out, "outputs");
                for (name, v) in &self.outputs {
                    let _ = writeln!(out, "  {name} = {v}");
                }
            }
        }
        out
    }
}

/// One value as it is; a vector as its list, its middle elided past [`SHOWN_VALUES`] values.
fn shortened(values: &[f64]) -> String {
    let list = |vs: &[f64]| {
        vs.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match values {
        [one] => one.to_string(),
        all if all.len() <= SHOWN_VALUES => format!("[{}]", list(all)),
        all => format!(
            "[{}, …, {}] ({} values; --json prints them all)",
            list(&all[..SHOWN_VALUES / 2]),
            list(&all[all.len() - 2..]),
            all.len()
        ),
    }
}

/// What `--json` prints.
#[derive(Serialize)]
struct Printed<'a> {
    scenario: u64,
    scenarios: u64,
    seed: u64,
    inputs: Ordered<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<Ordered<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Value>,
}

/// Named values serialised as a JSON object in their order (serde_json's map sorts its keys).
struct Ordered<'a>(Vec<(&'a str, Value)>);

impl Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_vectors_are_shortened_in_the_table_only() {
        assert_eq!(shortened(&[1.5]), "1.5");
        assert_eq!(shortened(&[1.0, 2.0]), "[1, 2]");
        let long: Vec<f64> = (0..252).map(f64::from).collect();
        assert_eq!(
            shortened(&long),
            "[0, 1, 2, …, 250, 251] (252 values; --json prints them all)"
        );
        let replayed = Replayed {
            scenario: 3,
            scenarios: 10,
            seed: 1,
            inputs: vec![("path".into(), long.clone()), ("s".into(), vec![2.0])],
            outputs: vec![("y".into(), 4.0)],
            failure: None,
        };
        let text = replayed.to_json().unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        assert!(
            text.find("\"path\"") < text.find("\"s\""),
            "in the model's order"
        );
        assert_eq!(json["inputs"]["path"].as_array().unwrap().len(), 252);
        assert_eq!(json["inputs"]["s"], 2.0);
        assert_eq!(json["outputs"]["y"], 4.0);
        assert!(json.get("failure").is_none());
    }
}
