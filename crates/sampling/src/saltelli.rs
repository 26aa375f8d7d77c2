//! Saltelli's design for Sobol indices, as ordinary scenario indices.
//!
//! A job of `N (d + 2)` scenarios with `d` input groups (one per model input; a vector input's
//! elements are one group) is `N` rows of `d + 2` runs. Scenario `i = j (d + 2) + k` is, for row
//! `j`: `A_j` when `k = 0`, `B_j` when `k = 1`, and `A_j` with group `m = k − 2` taken from
//! `B_j` (written `AB_j^m`) otherwise. `A_j` and `B_j` are the generator's plain rows of the
//! virtual indices `2j` and `2j + 1`, so each is an exact, independent draw of the spec's
//! distributions and any scenario is still a function of (spec, seed, i) alone: a batch, or one
//! scenario replayed, is generated without the rest of the design.

use std::ops::Range;

/// The shape of a job's Saltelli design: where each input group's values sit in a row.
#[derive(Debug, Clone)]
pub(crate) struct Design {
    /// Each group's columns, in the model's input order.
    groups: Vec<Range<usize>>,
}

impl Design {
    /// The design over these groups of columns.
    pub(crate) fn new(groups: Vec<Range<usize>>) -> Design {
        Design { groups }
    }

    /// Runs per row: `d + 2`.
    pub(crate) fn runs(&self) -> u64 {
        self.groups.len() as u64 + 2
    }

    /// The design rows scenarios `start .. start + count` draw from, as the first virtual
    /// index of their base rows and how many base rows (two per design row) they need.
    pub(crate) fn base_rows(&self, start: u64, count: usize) -> (u64, usize) {
        let runs = self.runs();
        let first = start / runs;
        let last = (start + count.max(1) as u64 - 1) / runs;
        (2 * first, 2 * (last - first + 1) as usize)
    }

    /// Writes scenarios `start .. start + count` into `out` (rows of `width`), from `base`, the
    /// plain rows given by [`base_rows`](Design::base_rows).
    pub(crate) fn assemble(
        &self,
        start: u64,
        count: usize,
        width: usize,
        base: &[f64],
        out: &mut [f64],
    ) {
        let runs = self.runs();
        let first = start / runs;
        for (r, row) in out.chunks_exact_mut(width.max(1)).take(count).enumerate() {
            let i = start + r as u64;
            let (j, k) = ((i / runs - first) as usize, i % runs);
            let a = &base[2 * j * width..(2 * j + 1) * width];
            let b = &base[(2 * j + 1) * width..(2 * j + 2) * width];
            if k == 1 {
                row.copy_from_slice(b);
                continue;
            }
            row.copy_from_slice(a);
            if k >= 2 {
                let group = self.groups[(k - 2) as usize].clone();
                row[group.clone()].copy_from_slice(&b[group]);
            }
        }
    }
}
