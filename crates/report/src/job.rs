//! A job as the report reads it, from a summary or a job view: the fields every summary has are
//! required, the others (what a job view adds, what newer versions add) are taken when present.

use crate::sensitivity::{Sobol, Tornado};
use mcp_protocol::{ModelRef, Provenance};
use mcp_stats::OutputSummary;
use serde_json::Value;

/// What a report shows of a job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's id (job views only).
    pub id: Option<String>,
    /// Where it stands: `completed`, `cancelled`, … (job views; and summaries of
    /// `mcp submit --json` that ended early, which say it as `"partial": true, "stopped": STATE`).
    pub state: Option<String>,
    /// The model it ran.
    pub model: ModelRef,
    /// Its seed.
    pub seed: u64,
    /// Scenarios evaluated (succeeded or failed).
    pub scenarios: u64,
    /// Scenarios in the job (job views only).
    pub total: Option<u64>,
    /// Scenarios that failed.
    pub failed: u64,
    /// Seconds it ran.
    pub elapsed_s: f64,
    /// Per output, in model order: its name and summary.
    pub outputs: Vec<(String, OutputSummary)>,
    /// Outputs whose summary this version cannot read, and why.
    pub unreadable: Vec<(String, String)>,
    /// Why a `[stop]` rule ended it early (`precision`, `max_scenarios`): complete, not partial.
    pub stopped: Option<String>,
    /// Whether the summary says it is partial (`mcp submit --json`).
    pub partial: bool,
    /// Why it failed, when it did.
    pub message: Option<String>,
    /// What its result depends on.
    pub provenance: Option<Provenance>,
    /// Its spec, as the job view gives it.
    pub spec: Option<Value>,
    /// Failed scenarios per kind.
    pub failure_counts: Vec<(String, u64)>,
    /// Rank correlations of inputs with outputs.
    pub tornado: Option<Tornado>,
    /// Variance-based sensitivity indices.
    pub sobol: Option<Sobol>,
}

/// JSON that is not a job: which field is missing or wrong, and what to give instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAJob(pub String);

impl std::fmt::Display for NotAJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; give the JSON that `mcp submit --json` prints or `GET /api/jobs/ID` returns",
            self.0
        )
    }
}

impl std::error::Error for NotAJob {}

impl Job {
    /// Reads a summary or a job view.
    pub fn from_json(v: &Value) -> Result<Job, NotAJob> {
        if !v.is_object() {
            return Err(NotAJob("not a JSON object".into()));
        }
        let model: ModelRef =
            serde_json::from_value(required(v, "model")?.clone()).map_err(|e| {
                NotAJob(format!(
                    "field `model` is not a model (name, version, digest): {e}"
                ))
            })?;
        let number = |field: &str| -> Result<u64, NotAJob> {
            required(v, field)?
                .as_u64()
                .ok_or_else(|| NotAJob(format!("field `{field}` is not a whole number")))
        };
        let (seed, scenarios, failed) = (number("seed")?, number("scenarios")?, number("failed")?);
        let outputs = required(v, "outputs")?.as_object().ok_or_else(|| {
            NotAJob("field `outputs` is not an object of output summaries".into())
        })?;
        let (mut readable, mut unreadable) = (Vec::new(), Vec::new());
        for (name, summary) in outputs {
            match serde_json::from_value::<OutputSummary>(summary.clone()) {
                Ok(s) => readable.push((name.clone(), s)),
                Err(e) => unreadable.push((name.clone(), e.to_string())),
            }
        }
        let text = |field: &str| v.get(field).and_then(Value::as_str).map(str::to_string);
        // `stopped` is a rule's reason, or (beside `"partial": true`) the state a job of
        // `mcp submit --json` ended in.
        let partial = v.get("partial") == Some(&Value::Bool(true));
        let (stopped, ended) = match text("stopped") {
            Some(s) if RULE_REASONS.contains(&s.as_str()) => (Some(s), None),
            other => (None, other),
        };
        let failure_counts = v
            .pointer("/failures/counts")
            .and_then(Value::as_object)
            .map(|counts| {
                counts
                    .iter()
                    .map(|(kind, n)| (kind.clone(), n.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Job {
            id: text("id"),
            state: text("state").or(ended),
            model,
            seed,
            scenarios,
            total: v.get("total").and_then(Value::as_u64),
            failed,
            elapsed_s: v
                .get("elapsed_s")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN),
            outputs: readable,
            unreadable,
            stopped,
            partial,
            message: text("message"),
            provenance: v
                .get("provenance")
                .and_then(|p| serde_json::from_value(p.clone()).ok()),
            spec: v.get("spec").filter(|s| s.is_object()).cloned(),
            failure_counts,
            tornado: v.get("tornado").and_then(Tornado::from_json),
            sobol: v.get("sobol").and_then(Sobol::from_json),
        })
    }

    /// Whether the job ended before its last scenario (cancelled, timed out, superseded,
    /// failed), as far as the JSON tells; a job its `[stop]` rule ended is complete.
    pub fn partial(&self) -> bool {
        self.partial
            || self.state.as_deref().is_some_and(|s| s != "completed")
            || (self.stopped.is_none() && self.total.is_some_and(|t| self.scenarios < t))
    }
}

/// What a summary's `stopped` says when a `[stop]` rule ended the job.
const RULE_REASONS: [&str; 2] = ["precision", "max_scenarios"];

fn required<'a>(v: &'a Value, field: &str) -> Result<&'a Value, NotAJob> {
    v.get(field)
        .ok_or_else(|| NotAJob(format!("no `{field}` field: this is not a job summary")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_is_not_a_job_is_named() {
        let err = |v: Value| Job::from_json(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!([1, 2])),
            "not a JSON object; give the JSON that `mcp submit --json` prints or `GET /api/jobs/ID` returns"
        );
        assert!(
            err(json!({"hello": 1})).starts_with("no `model` field: this is not a job summary;")
        );
        let model = json!({"name": "m", "version": "1", "digest": "sha256:00"});
        assert!(
            err(json!({"model": model, "seed": -1, "scenarios": 1, "failed": 0, "outputs": {}}))
                .starts_with("field `seed` is not a whole number")
        );
    }
}
