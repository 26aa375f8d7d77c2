//! The bounds of a model's description, checked by every role that meets one: the sandbox on
//! what `describe()` returned, the consumer on a job's model message, the coordinator on a job's
//! announcement. Each re-checks what it decodes; the sender's checks do not count.

use crate::{JobAnnouncement, JobModel, MAX_RESULT_VALUES, ModelInfo};
use mcp_spec::{MAX_INPUT_VALUES, MAX_NAME_BYTES, MAX_VARIABLES};
use std::collections::HashSet;

/// Most outputs a model may declare.
pub const MAX_OUTPUTS: usize = 1024;
/// Longest model digest, in bytes (`sha256:` and 64 hex digits fit with room to spare).
const MAX_DIGEST_BYTES: usize = 128;
/// Longest job id, in bytes: it names queues (`P.results.JOB`), which RabbitMQ caps at 255.
pub const MAX_JOB_ID_BYTES: usize = 128;

/// Checks a job id: 1 to [`MAX_JOB_ID_BYTES`] bytes of letters, digits, `-`, `_` and `.`.
pub fn check_job_id(job: &str) -> Result<(), String> {
    let fits = !job.is_empty()
        && job.len() <= MAX_JOB_ID_BYTES
        && job
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fits {
        Ok(())
    } else {
        let shown: String = job.chars().take(40).collect();
        Err(format!(
            "the job id `{shown}` is not 1 to {MAX_JOB_ID_BYTES} letters, digits, `-`, `_` or `.`"
        ))
    }
}

impl ModelInfo {
    /// Checks the description's bounds: a name, at least one output, at most [`MAX_VARIABLES`]
    /// inputs and [`MAX_OUTPUTS`] outputs, names of 1 to [`MAX_NAME_BYTES`] bytes, none twice.
    /// The error completes "the model's description …" (or "the model's describe() …").
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("returned an empty model name".into());
        }
        let name = &self.name;
        for (what, value) in [("model name", name), ("model version", &self.version)] {
            if value.len() > MAX_NAME_BYTES {
                return Err(format!(
                    "has a {what} of {} bytes, more than {MAX_NAME_BYTES}",
                    value.len()
                ));
            }
        }
        if self.digest.len() > MAX_DIGEST_BYTES {
            return Err(format!("has a digest of {} bytes", self.digest.len()));
        }
        if self.outputs.is_empty() {
            return Err(format!("of model `{name}` declares no outputs"));
        }
        for (kind, names, most) in [
            ("input", &self.inputs, MAX_VARIABLES),
            ("output", &self.outputs, MAX_OUTPUTS),
        ] {
            if names.len() > most {
                return Err(format!(
                    "of model `{name}` declares {} {kind}s, more than {most}",
                    names.len()
                ));
            }
            let mut seen = HashSet::with_capacity(names.len());
            for n in names {
                if n.trim().is_empty() {
                    return Err(format!("of model `{name}` has an empty {kind} name"));
                }
                if n.len() > MAX_NAME_BYTES {
                    return Err(format!(
                        "of model `{name}` has an {kind} name of {} bytes, more than \
                         {MAX_NAME_BYTES}",
                        n.len()
                    ));
                }
                if !seen.insert(n.as_str()) {
                    return Err(format!("of model `{name}` declares {kind} `{n}` twice"));
                }
            }
        }
        if !self.sizes.is_empty() && self.sizes.len() != self.inputs.len() {
            return Err(format!(
                "of model `{name}` gives {} input sizes for {} inputs",
                self.sizes.len(),
                self.inputs.len()
            ));
        }
        let width: u64 = self.sizes.iter().map(|&n| u64::from(n)).sum::<u64>()
            + (self.inputs.len() - self.sizes.len().min(self.inputs.len())) as u64;
        if self.sizes.contains(&0) || width > u64::from(MAX_INPUT_VALUES) {
            return Err(format!(
                "of model `{name}` declares inputs of {width} values (or a size of 0); a \
                 scenario takes 1 to {MAX_INPUT_VALUES}"
            ));
        }
        Ok(())
    }
}

/// Checks what a job's spec and its model's description say together: each valid alone, a
/// variable for every input and no other, and result batches that fit in a message.
fn check_job(info: &ModelInfo, spec: &mcp_spec::Spec) -> Result<(), String> {
    info.check()
        .map_err(|e| format!("the model's description {e}"))?;
    spec.validate().map_err(|e| format!("the spec's {e}"))?;
    spec.check_keep(info.outputs.len())
        .map_err(|e| format!("the spec's {e}"))?;
    let variables = spec.variables_by_name();
    if spec.variables.len() != info.inputs.len()
        || info.inputs.iter().enumerate().any(|(i, input)| {
            variables
                .get(input.as_str())
                .is_none_or(|v| v.size as usize != info.size(i))
        })
    {
        return Err(format!(
            "the spec's variables do not match the inputs of model `{}`",
            info.name
        ));
    }
    let values = u64::from(spec.simulation.batch) * info.outputs.len() as u64;
    if values > MAX_RESULT_VALUES as u64 {
        return Err(format!(
            "a result batch would hold {values} values, more than {MAX_RESULT_VALUES}"
        ));
    }
    Ok(())
}

impl JobAnnouncement {
    /// Checks an announcement decoded from a message before anything is sized by it.
    pub fn check(&self) -> Result<(), String> {
        check_job_id(&self.job)?;
        check_job(&self.info, &self.spec)
    }
}

impl JobModel {
    /// Checks a model message decoded from the transport before anything is sized by it.
    pub fn check(&self) -> Result<(), String> {
        check_job_id(&self.job)?;
        check_job(&self.info, &self.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ModelInfo {
        ModelInfo {
            name: "m".into(),
            version: "1".into(),
            inputs: vec!["x".into()],
            sizes: Vec::new(),
            outputs: vec!["y".into()],
            digest: "sha256:00".into(),
        }
    }

    #[test]
    fn a_description_past_a_bound_is_refused_with_the_bound() {
        assert_eq!(info().check(), Ok(()));
        type Spoil = fn(&mut ModelInfo);
        let cases: [(Spoil, &str); 6] = [
            (|i| i.name = " ".into(), "returned an empty model name"),
            (|i| i.outputs.clear(), "of model `m` declares no outputs"),
            (
                |i| i.inputs.push("x".into()),
                "of model `m` declares input `x` twice",
            ),
            (
                |i| i.outputs = (0..=MAX_OUTPUTS).map(|k| format!("o{k}")).collect(),
                "of model `m` declares 1025 outputs, more than 1024",
            ),
            (
                |i| i.inputs[0] = "x".repeat(257),
                "of model `m` has an input name of 257 bytes, more than 256",
            ),
            (
                |i| i.version = "v".repeat(300),
                "has a model version of 300 bytes, more than 256",
            ),
        ];
        for (spoil, expected) in cases {
            let mut i = info();
            spoil(&mut i);
            assert_eq!(i.check(), Err(expected.to_string()));
        }
    }

    #[test]
    fn a_job_whose_spec_and_model_disagree_or_overflow_is_refused() {
        let text = "[simulation]\nscenarios = 10\nseed = 1\nbatch = 2\n[variables]\nx = { dist = \
                    \"constant\", value = 1 }\n";
        let spec = mcp_spec::Spec::parse(text, "vars.toml").unwrap();
        let job = |info: ModelInfo, spec: mcp_spec::Spec| JobAnnouncement {
            job: "j".into(),
            info,
            spec,
            submitted_at_ms: 0,
        };
        assert_eq!(job(info(), spec.clone()).check(), Ok(()));
        let mut odd_id = job(info(), spec.clone());
        odd_id.job = "a/b".into();
        assert!(
            odd_id
                .check()
                .unwrap_err()
                .starts_with("the job id `a/b` is not")
        );
        let mut zero_batch = spec.clone();
        zero_batch.simulation.batch = 0;
        assert_eq!(
            job(info(), zero_batch).check(),
            Err("the spec's simulation.batch: must be at least 1 (got 0)".into())
        );
        let mut other = info();
        other.inputs = vec!["z".into()];
        assert_eq!(
            job(other, spec.clone()).check(),
            Err("the spec's variables do not match the inputs of model `m`".into())
        );
        let mut wide = info();
        wide.outputs = (0..1000).map(|k| format!("o{k}")).collect();
        let mut big = spec;
        big.simulation.batch = 1 << 20;
        assert_eq!(
            job(wide, big).check(),
            Err("a result batch would hold 1048576000 values, more than 67108864".into())
        );
    }
}
