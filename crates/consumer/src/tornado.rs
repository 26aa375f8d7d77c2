//! The consumer's share of the tornado: while a batch is evaluated a call's worth of scenarios
//! at a time, each model input's value per scenario is set aside (a vector input's elements
//! summed into one value), and once the batch is done, the successful scenarios' inputs and
//! outputs are ranked and correlated ([`BatchRanker`]). Only the inputs stay here: the
//! coordinator never sees them.

use mcp_protocol::{ModelInfo, ScenarioFailure};
use mcp_stats::{BatchRanker, TORNADO_MIN_SCENARIOS, TornadoBatch, tornado_ranks};

/// A batch's input columns and the buffers to rank them, reused from batch to batch.
#[derive(Debug)]
pub(crate) struct InputColumns {
    /// Per model input, its first value's position in a row and its number of values.
    groups: Vec<(usize, usize)>,
    /// Row width.
    width: usize,
    /// Per model input, its value (or its elements' sum) per scenario of the batch so far.
    columns: Vec<Vec<f64>>,
    /// Whether this batch is large enough to be ranked.
    wanted: bool,
    ranker: BatchRanker,
}

impl InputColumns {
    /// Columns for the inputs of `info`'s model.
    pub(crate) fn new(info: &ModelInfo) -> InputColumns {
        let mut start = 0;
        let groups = (0..info.inputs.len())
            .map(|i| {
                let group = (start, info.size(i));
                start += info.size(i);
                group
            })
            .collect();
        InputColumns {
            groups,
            width: info.width(),
            columns: vec![Vec::new(); info.inputs.len()],
            wanted: false,
            ranker: BatchRanker::default(),
        }
    }

    /// Starts batch `index`, of `count` scenarios: set aside only when it is large enough and
    /// one of the batches the tornado ranks ([`tornado_ranks`]).
    pub(crate) fn start(&mut self, index: u64, count: usize) {
        self.wanted = count >= TORNADO_MIN_SCENARIOS && tornado_ranks(index);
        for column in &mut self.columns {
            column.clear();
        }
    }

    /// Sets aside the inputs of the next scenarios, `rows` row-major as the model gets them.
    pub(crate) fn push(&mut self, rows: &[f64]) {
        if !self.wanted || self.width == 0 {
            return;
        }
        for (column, &(at, size)) in self.columns.iter_mut().zip(&self.groups) {
            let values = rows.chunks_exact(self.width);
            if size == 1 {
                column.extend(values.map(|row| row[at]));
            } else {
                column.extend(values.map(|row| row[at..at + size].iter().sum::<f64>()));
            }
        }
    }

    /// The batch's rank correlations over its successful scenarios (`outputs` holds their
    /// values; the batch starts at scenario `start`); `None` for a batch too small or with too
    /// few successes.
    pub(crate) fn finish(
        &mut self,
        start: u64,
        failures: &[ScenarioFailure],
        outputs: &[Vec<f64>],
    ) -> Option<TornadoBatch> {
        if !self.wanted {
            return None;
        }
        if !failures.is_empty() {
            // Keep the rows of the scenarios that succeeded, in order.
            for column in &mut self.columns {
                let mut failed = failures.iter().map(|f| f.scenario - start).peekable();
                let mut at = 0u64;
                column.retain(|_| {
                    let keep = failed.peek() != Some(&at);
                    if !keep {
                        failed.next();
                    }
                    at += 1;
                    keep
                });
            }
        }
        self.ranker.partial(&self.columns, outputs)
    }
}
