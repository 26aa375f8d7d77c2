//! The one shape every format writes: named, typed, nullable columns of equal length, plus a
//! table's job-level metadata. What the summary's and the scenarios' columns are, and their
//! names, is decided here and nowhere else.

use mcp_protocol::{JobSummary, KeptScenario, ModelInfo};
use mcp_stats::{OutputSummary, PercentileIntervals};

/// Named columns of equal length, and facts about the whole table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// Job-level facts as key-value pairs (Parquet's key-value metadata).
    pub metadata: Vec<(String, String)>,
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its cells; `None` is a missing value.
    pub cells: Cells,
}

/// A column's cells, of one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Real numbers (Parquet DOUBLE).
    Real(Vec<Option<f64>>),
    /// Counts and indices (Parquet INT64, unsigned).
    Count(Vec<Option<u64>>),
    /// Text (Parquet BYTE_ARRAY, UTF-8).
    Text(Vec<Option<String>>),
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Real(v) => v.len(),
            Cells::Count(v) => v.len(),
            Cells::Text(v) => v.len(),
        }
    }
}

impl Table {
    /// How many rows it has.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.cells.len())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Cells> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.cells)
    }

    fn push(&mut self, name: impl Into<String>, cells: Cells) {
        self.columns.push(Column {
            name: name.into(),
            cells,
        });
    }
}

/// The summary as a table of one row per output, in model order. Columns: `output`, `count`,
/// `mean`, `std`, `stderr`, `ci95_low`, `ci95_high`, `min`, `max`, `p1` … `p99`,
/// `percentile_error`, `p1_ci95_low`, `p1_ci95_high` … `p99_ci95_high`; then for the k-th
/// exceedance threshold of the spec's `[outputs.NAME]` (k from 1) `exceedance{k}_threshold`,
/// `_count`, `_probability`, `_ci95_low`, `_ci95_high`, and for its k-th VaR level
/// `var{k}_level`, `_value`, `_ci95_low`, `_ci95_high`, `_cvar`, `_tail` (empty for an output
/// with fewer). Its metadata is [`job_metadata`].
pub fn summary_table(summary: &JobSummary) -> Table {
    let outputs = &summary.outputs.0;
    let mut t = Table {
        metadata: job_metadata(summary),
        ..Table::default()
    };
    let real = |f: &dyn Fn(&OutputSummary) -> Option<f64>| {
        Cells::Real(outputs.iter().map(|(_, s)| f(s)).collect())
    };
    let count = |f: &dyn Fn(&OutputSummary) -> Option<u64>| {
        Cells::Count(outputs.iter().map(|(_, s)| f(s)).collect())
    };
    t.push(
        "output",
        Cells::Text(outputs.iter().map(|(n, _)| Some(n.clone())).collect()),
    );
    t.push("count", count(&|s| Some(s.count)));
    t.push("mean", real(&|s| Some(s.mean)));
    t.push("std", real(&|s| Some(s.std)));
    t.push("stderr", real(&|s| Some(s.stderr)));
    t.push("ci95_low", real(&|s| Some(s.ci95[0])));
    t.push("ci95_high", real(&|s| Some(s.ci95[1])));
    t.push("min", real(&|s| Some(s.min)));
    t.push("max", real(&|s| Some(s.max)));
    for (k, label) in PERCENTILE_LABELS.iter().enumerate() {
        t.push(*label, real(&|s| Some(s.percentiles.labelled()[k].1)));
    }
    t.push("percentile_error", real(&|s| Some(s.percentile_error)));
    for (k, label) in PERCENTILE_LABELS.iter().enumerate() {
        for (side, end) in [(0, "low"), (1, "high")] {
            t.push(
                format!("{label}_ci95_{end}"),
                real(&|s| s.percentile_ci95.map(|ci| interval(&ci, k)[side])),
            );
        }
    }
    let thresholds = outputs.iter().map(|(_, s)| s.exceedance.len()).max();
    for k in 0..thresholds.unwrap_or(0) {
        let e = |s: &OutputSummary| s.exceedance.get(k).copied();
        let name = |field: &str| format!("exceedance{}_{field}", k + 1);
        t.push(name("threshold"), real(&|s| e(s).map(|e| e.threshold)));
        t.push(name("count"), count(&|s| e(s).map(|e| e.count)));
        t.push(name("probability"), real(&|s| e(s).map(|e| e.probability)));
        t.push(name("ci95_low"), real(&|s| e(s).map(|e| e.ci95[0])));
        t.push(name("ci95_high"), real(&|s| e(s).map(|e| e.ci95[1])));
    }
    let levels = outputs.iter().map(|(_, s)| s.var.len()).max();
    for k in 0..levels.unwrap_or(0) {
        let v = |s: &OutputSummary| s.var.get(k).copied();
        let name = |field: &str| format!("var{}_{field}", k + 1);
        t.push(name("level"), real(&|s| v(s).map(|v| v.level)));
        t.push(name("value"), real(&|s| v(s).map(|v| v.var)));
        t.push(name("ci95_low"), real(&|s| v(s).map(|v| v.var_ci95[0])));
        t.push(name("ci95_high"), real(&|s| v(s).map(|v| v.var_ci95[1])));
        t.push(name("cvar"), real(&|s| v(s).map(|v| v.cvar)));
        t.push(name("tail"), count(&|s| v(s).map(|v| v.tail)));
    }
    t
}

/// The names of the summary's percentile columns, in order.
pub const PERCENTILE_LABELS: [&str; 7] = ["p1", "p5", "p25", "p50", "p75", "p95", "p99"];

/// Percentile `k`'s interval (in the order of [`PERCENTILE_LABELS`]).
fn interval(ci: &PercentileIntervals, k: usize) -> [f64; 2] {
    [ci.p1, ci.p5, ci.p25, ci.p50, ci.p75, ci.p95, ci.p99][k]
}

/// Job-level facts of a summary, for a table's metadata: `model`, `model_version`,
/// `model_digest`, `seed`, `scenarios`, `failed`, `elapsed_s`, `stopped` (when a rule stopped
/// it), and the provenance's `spec_digest`, `mcp_version`, `protocol_version`; each key
/// prefixed `mcp.`.
pub fn job_metadata(summary: &JobSummary) -> Vec<(String, String)> {
    let mut m = vec![
        ("model", summary.model.name.clone()),
        ("model_version", summary.model.version.clone()),
        ("model_digest", summary.model.digest.clone()),
        ("seed", summary.seed.to_string()),
        ("scenarios", summary.scenarios.to_string()),
        ("failed", summary.failed.to_string()),
        ("elapsed_s", crate::csv_format::real(summary.elapsed_s)),
    ];
    if let Some(stopped) = &summary.stopped {
        let reason = serde_json::to_value(stopped).expect("reasons serialise");
        m.push(("stopped", reason.as_str().unwrap_or_default().to_string()));
    }
    if let Some(p) = &summary.provenance {
        m.push(("spec_digest", p.spec_digest.clone()));
        m.push(("mcp_version", p.mcp_version.clone()));
        m.push(("protocol_version", p.protocol_version.to_string()));
    }
    m.into_iter()
        .map(|(k, v)| (format!("mcp.{k}"), v))
        .collect()
}

/// Kept scenarios as a table of one row per scenario, in the order given. Columns: `scenario`
/// (its index), one per input value (`name`, or `name[k]` for element `k` of a vector input),
/// one per output (empty when it failed), `failure_kind` and `failure_message` (empty when it
/// succeeded). When a model's input and output names collide (with each other or with these
/// columns), every input column is prefixed `input.` and every output column `output.`.
pub fn scenario_table(info: &ModelInfo, kept: &[KeptScenario]) -> Table {
    let mut inputs: Vec<String> = Vec::with_capacity(info.width());
    for (i, name) in info.inputs.iter().enumerate() {
        match info.size(i) {
            1 => inputs.push(name.clone()),
            n => inputs.extend((0..n).map(|k| format!("{name}[{k}]"))),
        }
    }
    let mut outputs = info.outputs.clone();
    let mut seen = std::collections::HashSet::new();
    let reserved = ["scenario", "failure_kind", "failure_message"];
    let collide = !inputs
        .iter()
        .chain(&outputs)
        .map(String::as_str)
        .chain(reserved)
        .all(|n| seen.insert(n));
    if collide {
        inputs.iter_mut().for_each(|n| *n = format!("input.{n}"));
        outputs.iter_mut().for_each(|n| *n = format!("output.{n}"));
    }
    let mut t = Table::default();
    t.push(
        "scenario",
        Cells::Count(kept.iter().map(|k| Some(k.scenario)).collect()),
    );
    for (j, name) in inputs.into_iter().enumerate() {
        t.push(
            name,
            Cells::Real(kept.iter().map(|k| k.inputs.get(j).copied()).collect()),
        );
    }
    for (j, name) in outputs.into_iter().enumerate() {
        t.push(
            name,
            Cells::Real(kept.iter().map(|k| k.outputs.get(j).copied()).collect()),
        );
    }
    let failure = |f: &dyn Fn(&mcp_protocol::ScenarioFailure) -> String| {
        Cells::Text(kept.iter().map(|k| k.failure.as_ref().map(f)).collect())
    };
    t.push("failure_kind", failure(&|f| f.kind.as_str().to_string()));
    t.push("failure_message", failure(&|f| f.message.clone()));
    t
}
