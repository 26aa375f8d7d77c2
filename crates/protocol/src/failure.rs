//! Failed scenarios: what kind of failure, and tallies of them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a scenario failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The model returned an error for the scenario.
    ModelError,
    /// The model panicked.
    Panic,
    /// The model executed `unreachable`.
    Unreachable,
    /// Integer division by zero.
    DivideByZero,
    /// The call stack overflowed (deep recursion).
    StackOverflow,
    /// Another WebAssembly trap (out-of-bounds access, bad conversion, ...).
    Trap,
    /// The scenario used more than its fuel.
    OutOfFuel,
    /// The scenario ran past its wall-clock limit.
    Timeout,
    /// The model tried to grow its memory past the limit.
    MemoryLimit,
    /// An output was NaN or infinite.
    NonFiniteOutput,
    /// The model returned the wrong number of outputs.
    WrongOutputCount,
}

impl FailureKind {
    /// Every kind, in order.
    pub const ALL: [FailureKind; 11] = [
        FailureKind::ModelError,
        FailureKind::Panic,
        FailureKind::Unreachable,
        FailureKind::DivideByZero,
        FailureKind::StackOverflow,
        FailureKind::Trap,
        FailureKind::OutOfFuel,
        FailureKind::Timeout,
        FailureKind::MemoryLimit,
        FailureKind::NonFiniteOutput,
        FailureKind::WrongOutputCount,
    ];

    /// The kind's name as it appears in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::ModelError => "model_error",
            FailureKind::Panic => "panic",
            FailureKind::Unreachable => "unreachable",
            FailureKind::DivideByZero => "divide_by_zero",
            FailureKind::StackOverflow => "stack_overflow",
            FailureKind::Trap => "trap",
            FailureKind::OutOfFuel => "out_of_fuel",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory_limit",
            FailureKind::NonFiniteOutput => "non_finite_output",
            FailureKind::WrongOutputCount => "wrong_output_count",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioFailure {
    /// The scenario's index in the job.
    pub scenario: u64,
    /// How it failed.
    pub kind: FailureKind,
    /// The details, e.g. the model's error or panic message.
    pub message: String,
}

/// Counts of failures per kind, and the first few failures in scenario order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureTally {
    /// Failures per kind.
    pub counts: BTreeMap<FailureKind, u64>,
    /// The failures with the lowest scenario indices, at most [`FailureTally::KEEP`].
    pub first: Vec<ScenarioFailure>,
}

impl FailureTally {
    /// How many individual failures a tally keeps.
    pub const KEEP: usize = 20;
    /// The longest failure message a tally keeps, in bytes; longer ones are cut.
    pub const MESSAGE_BYTES: usize = 1024;

    /// Adds the failures of one batch, in scenario order (every result is checked to list them
    /// so); which ones are kept does not depend on the order batches are added in. Only the
    /// first [`KEEP`](Self::KEEP) of a batch can be among the job's first, so no more are
    /// copied, and their messages are cut at [`MESSAGE_BYTES`](Self::MESSAGE_BYTES).
    pub fn add(&mut self, failures: &[ScenarioFailure]) {
        for f in failures {
            *self.counts.entry(f.kind).or_default() += 1;
        }
        self.first
            .extend(failures.iter().take(Self::KEEP).map(|f| ScenarioFailure {
                message: clip(&f.message, Self::MESSAGE_BYTES),
                ..*f
            }));
        self.first.sort_by_key(|f| f.scenario);
        self.first.truncate(Self::KEEP);
    }

    /// Total failures.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// `text` cut to at most `bytes` bytes (at a character boundary), marked with `…` when cut.
pub fn clip(text: &str, bytes: usize) -> String {
    if text.len() <= bytes {
        return text.to_string();
    }
    format!("{}…", &text[..text.floor_char_boundary(bytes)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(scenario: u64, message: String) -> ScenarioFailure {
        ScenarioFailure {
            scenario,
            kind: FailureKind::ModelError,
            message,
        }
    }

    #[test]
    fn a_tally_keeps_a_few_short_messages_whatever_a_batch_holds() {
        let mut tally = FailureTally::default();
        let many: Vec<_> = (0..100_000)
            .map(|s| failure(s, "x".repeat(10_000)))
            .collect();
        tally.add(&many);
        assert_eq!(tally.total(), 100_000);
        assert_eq!(tally.first.len(), FailureTally::KEEP);
        assert!(
            tally
                .first
                .iter()
                .all(|f| f.message.len() <= 1024 + "…".len())
        );
        assert_eq!(clip("héllo", 2), "h…");
        assert_eq!(clip("short", 10), "short");
    }
}
