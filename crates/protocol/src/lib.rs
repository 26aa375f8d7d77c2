//! The messages exchanged between producer, consumers and coordinator, and the job summary.
//!
//! Every role speaks these types, embedded (passed by value through the in-memory broker) or
//! distributed (encoded with MessagePack by [`encode`] / [`decode`]). A scenario batch carries only
//! its range: scenario `i`'s inputs are a pure function of (spec, seed, i), so consumers generate
//! them where they are evaluated instead of shipping them. The batch is the unit of statistics;
//! the message is not: a [`ScenarioRun`] carries several consecutive batches, and its answer,
//! a [`ResultMessage`], one [`ResultBatch`] per batch. This crate knows no transport and no Wasm
//! engine.

mod columns;
mod failure;
mod info;
mod kept;
mod provenance;
mod run;
mod size;
mod sketched;
mod summary;
mod telemetry;

pub use columns::MAX_RESULT_VALUES;
pub use failure::{FailureKind, FailureTally, ScenarioFailure, clip};
pub use info::{MAX_JOB_ID_BYTES, MAX_OUTPUTS, check_job_id};
pub use kept::KeptScenario;
pub use mcp_stats::{SobolSummary, SobolSums};
/// The tornado's wire and summary types, for crates that move them without computing them.
pub use mcp_stats::{Tornado, TornadoBatch, TornadoRow};
pub use provenance::{Provenance, sha256, spec_digest};
pub use run::{MAX_BATCHES_PER_RUN, ScenarioRun};
pub use size::{
    DEFAULT_MESSAGE_BYTES, check_message_size, check_result_size, result_bytes_at_most,
    split_results,
};
pub use sketched::{SketchedColumn, Sketcher, sketched};
pub use summary::{JobSummary, ModelRef, OutputSummaries};
pub use telemetry::{
    ConsumerState, ConsumerStatus, ControlAction, ControlCommand, ProducerState, ProducerStatus,
    RefusedModel, StopCause,
};

use mcp_spec::Spec;
use mcp_stats::Moments;
use serde::{Deserialize, Serialize};

/// Version of the wire format; a receiver rejects messages of another version.
pub const PROTOCOL_VERSION: u16 = 5;

/// A job's identity: unique per submission.
pub type JobId = String;

/// Milliseconds since the Unix epoch: the clock every message's timestamps use.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What a model says about itself (`describe()`), plus its content digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Input names, in row order.
    pub inputs: Vec<String>,
    /// How many values each input takes in a row (a vector input more than one); empty when
    /// every input is one value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<u32>,
    /// Output names, in row order.
    pub outputs: Vec<String>,
    /// `sha256:<hex>` of the Wasm bytes.
    pub digest: String,
}

impl ModelInfo {
    /// How many values input `i` takes in a row.
    pub fn size(&self, i: usize) -> usize {
        self.sizes.get(i).map_or(1, |&n| n as usize)
    }

    /// How many values one scenario's row of inputs holds.
    pub fn width(&self) -> usize {
        (0..self.inputs.len()).map(|i| self.size(i)).sum()
    }
}

/// The model of a job: everything a consumer needs before it takes scenario batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobModel {
    /// The job this model belongs to.
    pub job: JobId,
    /// The model's description and digest.
    pub info: ModelInfo,
    /// The validated spec: distributions, seed, limits.
    pub spec: Spec,
    /// The component's bytes.
    #[serde(with = "serde_bytes")]
    pub wasm: Vec<u8>,
}

/// A job as the producer announces it to the coordinator: the model's description and the spec,
/// without the Wasm bytes (the coordinator never runs models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobAnnouncement {
    /// The job.
    pub job: JobId,
    /// The model's description and digest.
    pub info: ModelInfo,
    /// The validated spec: distributions, seed, limits.
    pub spec: Spec,
    /// When it was submitted, in milliseconds since the Unix epoch (the producer's clock).
    pub submitted_at_ms: u64,
}

impl JobAnnouncement {
    /// The announcement of `model`, submitted at `submitted_at_ms`.
    pub fn of(model: &JobModel, submitted_at_ms: u64) -> JobAnnouncement {
        JobAnnouncement {
            job: model.job.clone(),
            info: model.info.clone(),
            spec: model.spec.clone(),
            submitted_at_ms,
        }
    }
}

/// A range of scenarios to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioBatch {
    /// Position of the batch in the job, from 0.
    pub index: u64,
    /// First scenario index.
    pub start: u64,
    /// Number of scenarios.
    pub count: u32,
}

/// Consecutive scenario batches as they travel between machines: with the job they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMessage {
    /// The job.
    pub job: JobId,
    /// The batches.
    pub run: ScenarioRun,
}

/// Result batches as they travel between machines: with their job and the consumer that made
/// them. Usually the answer to one [`BatchMessage`], one result per batch of its run, in batch
/// order; a consumer splits an answer too large for one message ([`split_results`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMessage {
    /// The job.
    pub job: JobId,
    /// The consumer's id.
    pub consumer: String,
    /// The results, one per batch.
    pub results: Vec<ResultBatch>,
}

/// The outcome of one scenario batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultBatch {
    /// The batch this answers.
    pub batch: ScenarioBatch,
    /// Per output (model order): moments of its successful values, in scenario order.
    pub moments: Vec<Moments>,
    /// Per output (model order): the successful values, in scenario order; empty when
    /// `sketches` travel instead. On the wire each column is one byte string, in the smallest
    /// of three lossless encodings (see `columns.rs`).
    #[serde(with = "columns")]
    pub values: Vec<Vec<f64>>,
    /// Scenarios that failed, in scenario order.
    pub failures: Vec<ScenarioFailure>,
    /// Wall-clock time spent evaluating the batch, in seconds.
    pub eval_seconds: f64,
    /// Per output (model order), the Sobol sums of the batch's design rows, when the spec asks
    /// for Sobol indices (`[sensitivity]`); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sobol: Vec<mcp_stats::SobolSums>,
    /// The batch's scenarios that the spec keeps whole (`simulation.keep`), in scenario order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptScenario>,
    /// Spearman's rank correlation of each output with each input over the batch's successful
    /// scenarios, for the tornado; absent from batches of fewer than
    /// [`TORNADO_MIN_SCENARIOS`](mcp_stats::TORNADO_MIN_SCENARIOS) of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tornado: Option<TornadoBatch>,
    /// In sketch mode, per output (model order), its values' sketch, sent instead of the
    /// values (`values` is then empty); empty otherwise (see [`Sketcher`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sketches: Vec<SketchedColumn>,
}

impl ResultBatch {
    /// Scenarios that produced outputs.
    pub fn succeeded(&self) -> u64 {
        u64::from(self.batch.count) - self.failures.len() as u64
    }
}

/// An error decoding a message.
#[derive(Debug)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    version: u16,
    body: T,
}

/// Encodes a message as versioned MessagePack.
pub fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(&Envelope {
        version: PROTOCOL_VERSION,
        body,
    })
    .expect("protocol messages always serialise")
}

/// Decodes a message encoded by [`encode`], rejecting other versions and malformed bytes.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_since(bytes, PROTOCOL_VERSION)
}

/// [`decode`], also accepting the versions from `oldest` on: for what an earlier release wrote
/// (the job history's migrations), when `T`'s encoding has not changed since `oldest`.
pub fn decode_since<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    oldest: u16,
) -> Result<T, DecodeError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u16,
    }
    let v: VersionOnly = rmp_serde::from_slice(bytes)
        .map_err(|e| DecodeError(format!("not an mcp message: {e}")))?;
    if !(oldest..=PROTOCOL_VERSION).contains(&v.version) {
        return Err(DecodeError(format!(
            "message has protocol version {}, this mcp speaks version {PROTOCOL_VERSION}; run the \
             same mcp release on every machine",
            v.version
        )));
    }
    let e: Envelope<T> = rmp_serde::from_slice(bytes)
        .map_err(|e| DecodeError(format!("malformed mcp message: {e}")))?;
    Ok(e.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip() {
        let batch = ResultBatch {
            batch: ScenarioBatch {
                index: 3,
                start: 3072,
                count: 2,
            },
            moments: vec![Moments::of([1.0])],
            values: vec![vec![1.0]],
            failures: vec![ScenarioFailure {
                scenario: 3073,
                kind: FailureKind::OutOfFuel,
                message: "ran out of fuel".into(),
            }],
            eval_seconds: 0.5,
            sobol: Vec::new(),
            kept: vec![KeptScenario {
                scenario: 3073,
                inputs: vec![0.25, -1.0],
                outputs: vec![],
                failure: Some(ScenarioFailure {
                    scenario: 3073,
                    kind: FailureKind::OutOfFuel,
                    message: "ran out of fuel".into(),
                }),
            }],
            tornado: Some(TornadoBatch {
                inputs: 1,
                rho: vec![0.25],
                n: vec![1],
            }),
            sketches: Vec::new(),
        };
        let back: ResultBatch = decode(&encode(&batch)).unwrap();
        assert_eq!(back, batch);
        assert_eq!(back.succeeded(), 1);
    }

    #[test]
    fn a_sketched_batch_round_trips_and_a_forged_sketch_is_refused() {
        let values = vec![0.0, 0.0, 0.0, 1.5, 1.5, 7.25, 0.0, 0.0];
        let mut batch = ResultBatch {
            batch: ScenarioBatch {
                index: 0,
                start: 0,
                count: 8,
            },
            moments: vec![Moments::of_slice(&values)],
            values: vec![values.clone()],
            failures: vec![],
            eval_seconds: 0.0,
            sobol: Vec::new(),
            kept: vec![],
            tornado: None,
            sketches: Vec::new(),
        };
        let mut spec = Spec::parse(
            "[simulation]\nscenarios = 8\nseed = 1\npercentiles = \"sketch\"\n[variables]\n\
             [outputs.y]\nthresholds = [1.0]\n",
            "vars.toml",
        )
        .unwrap();
        Sketcher::of(&spec, &["y".into()])
            .unwrap()
            .sketch(&mut batch);
        assert!(batch.values.is_empty());
        assert_eq!(batch.sketches[0].above, vec![3]);
        assert_eq!(batch.sketches[0].part.buckets().len(), 3);
        let bytes = encode(&batch);
        assert_eq!(decode::<ResultBatch>(&bytes).unwrap(), batch);
        // A bucket's count of zero, set in the encoded bytes, fails the whole message.
        let wire = batch.sketches[0].part.to_bytes();
        let at = bytes.windows(wire.len()).position(|w| w == wire).unwrap();
        let mut forged = bytes.clone();
        forged[at + 8] = 0;
        let err = decode::<ResultBatch>(&forged).unwrap_err().0;
        assert!(err.contains("counts 0 values"), "{err}");
        // Without `percentiles = "sketch"`, a small job's values travel.
        spec.simulation.percentiles = mcp_spec::PercentileMode::Auto;
        assert!(Sketcher::of(&spec, &["y".into()]).is_none());
    }

    #[test]
    fn value_columns_travel_bit_for_bit_as_bytes() {
        let column = vec![-0.0, f64::MIN_POSITIVE / 4.0, 1e308, -1.5, 0.1 + 0.2];
        let batch = ResultBatch {
            batch: ScenarioBatch {
                index: 0,
                start: 0,
                count: 5,
            },
            moments: vec![Moments::of_slice(&column); 2],
            values: vec![column.clone(), column.iter().rev().copied().collect()],
            failures: vec![],
            eval_seconds: 0.0,
            sobol: Vec::new(),
            kept: vec![],
            tornado: None,
            sketches: Vec::new(),
        };
        let bytes = encode(&batch);
        let back: ResultBatch = decode(&bytes).unwrap();
        let bits = |c: &[f64]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.values[0]), bits(&column));
        let reversed: Vec<f64> = column.iter().rev().copied().collect();
        assert_eq!(bits(&back.values[1]), bits(&reversed));
        // The column is one byte string: 8 bytes a value, not a MessagePack float each.
        let raw: Vec<u8> = column.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(bytes.windows(raw.len()).any(|w| w == raw));
    }

    #[test]
    fn a_column_that_is_not_whole_values_is_refused() {
        #[derive(Serialize)]
        struct Forged {
            batch: ScenarioBatch,
            moments: Vec<Moments>,
            values: Vec<serde_bytes::ByteBuf>,
            failures: Vec<ScenarioFailure>,
            eval_seconds: f64,
        }
        let forged = encode(&Forged {
            batch: ScenarioBatch {
                index: 0,
                start: 0,
                count: 1,
            },
            moments: vec![Moments::default()],
            // Tag 0 (raw) and six bytes.
            values: vec![serde_bytes::ByteBuf::from(vec![0u8; 7])],
            failures: vec![],
            eval_seconds: 0.0,
        });
        let err = decode::<ResultBatch>(&forged).unwrap_err();
        assert!(
            err.0
                .contains("a raw value column of 6 bytes is not a whole number of f64 values"),
            "{err}"
        );
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        let err = decode::<ScenarioBatch>(b"\xff\x00garbage").unwrap_err();
        assert!(err.0.starts_with("not an mcp message"), "{err}");
        let future = rmp_serde::to_vec_named(&Envelope {
            version: 99,
            body: 1u8,
        })
        .unwrap();
        let err = decode::<ScenarioBatch>(&future).unwrap_err();
        assert_eq!(
            err.0,
            "message has protocol version 99, this mcp speaks version 5; run the same mcp \
             release on every machine"
        );
    }

    /// Whatever the bytes, decoding ends with a message or an error: no panic, no hang, no
    /// huge allocation from a forged length.
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

        fn all_kinds(bytes: &[u8]) {
            let _ = decode::<JobModel>(bytes);
            let _ = decode::<JobAnnouncement>(bytes);
            let _ = decode::<BatchMessage>(bytes);
            let _ = decode::<ResultMessage>(bytes);
            let _ = decode::<ControlCommand>(bytes);
            let _ = decode::<ConsumerStatus>(bytes);
            let _ = decode::<ProducerStatus>(bytes);
        }

        fn sample() -> Vec<u8> {
            encode(&ResultMessage {
                job: "job".into(),
                consumer: "c".into(),
                results: vec![ResultBatch {
                    batch: ScenarioBatch {
                        index: 1,
                        start: 8,
                        count: 3,
                    },
                    moments: vec![Moments::of_slice(&[1.0, 2.0])],
                    // One column in each encoding: raw, zeros, levels.
                    values: vec![
                        (0..20).map(|i| f64::from(i) + 0.5).collect(),
                        (0..20).map(|i| if i == 4 { 7.25 } else { 0.0 }).collect(),
                        (0..20).map(|i| f64::from(i % 2)).collect(),
                    ],
                    failures: vec![ScenarioFailure {
                        scenario: 9,
                        kind: FailureKind::Trap,
                        message: "unreachable".into(),
                    }],
                    eval_seconds: 0.1,
                    sobol: Vec::new(),
                    kept: vec![KeptScenario {
                        scenario: 8,
                        inputs: vec![1.0],
                        outputs: vec![0.5, 0.0, 0.0],
                        failure: None,
                    }],
                    tornado: None,
                    sketches: Vec::new(),
                }],
            })
        }

        #[test]
        fn the_sample_is_a_valid_message_with_every_column_encoding() {
            let message = decode::<ResultMessage>(&sample()).unwrap();
            assert_eq!(message.results[0].values.len(), 3);
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

            #[test]
            fn any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                all_kinds(&bytes);
            }

            #[test]
            fn a_valid_message_with_bytes_changed(
                changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                cut in any::<usize>(),
            ) {
                let mut bytes = sample();
                for (at, byte) in changes {
                    let at = at % bytes.len();
                    bytes[at] = byte;
                }
                bytes.truncate(cut % (bytes.len() + 1));
                all_kinds(&bytes);
            }
        }
    }
}
