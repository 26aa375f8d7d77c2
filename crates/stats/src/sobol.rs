//! Sobol indices from a Saltelli design, as sums that merge: no matrix of runs is ever kept.
//!
//! Row `j` of the design has the runs `a = f(A_j)`, `b = f(B_j)` and, per input group `m`,
//! `c_m = f(AB_j^m)` (`A_j` with group `m` from `B_j`). Each batch of whole rows is reduced, per
//! output, to a fixed set of sums over its rows ([`SobolSums`]), and sums of batches add, so
//! the coordinator's memory does not grow with the design and, merged in batch order, the
//! result is the same bits however the batches were spread. From the per-row quantities
//!
//! - `v = (a − b)² / 2`, whose mean estimates the variance `V` (A and B are independent draws),
//! - `d_m = c_m − a`, `p_m = (b − s) d_m` and `w = (a + b)/2 − s`, for the first-order
//!   numerator `V_m = mean((b − μ̂) (c_m − a)) = p̄_m − w̄ d̄_m` (Saltelli et al. 2010, with
//!   `f_B` centred on the estimated mean `μ̂ = s + w̄`),
//! - `q_m = d_m² / 2`, for the total numerator `VT_m = q̄_m` (Jansen 1999),
//!
//! the indices are `S_m = V_m / V` and `ST_m = VT_m / V`. Their 95% intervals are asymptotic:
//! the delta method on the means of those quantities, whose covariances come from the sums of
//! their products, so the interval includes the uncertainty of `V`. (A bootstrap would need
//! every row; batch means would need many batches; these need neither.)
//!
//! `s` is a shift that keeps the sums small next to the outputs' spread: each batch takes the
//! `a` of its first complete row, and a merge moves the added batch's sums to the running
//! shift exactly (they are polynomials in it), so an output of mean 10⁹ and spread 1 loses no
//! more precision than one of mean 0.

mod summary;

pub use summary::{SobolIndex, SobolOutputs, SobolSummary};

use crate::Z_975;
use serde::{Deserialize, Serialize};

/// Sums over one group's quantities `d`, `p`, `q` and their products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Σd, Σp, Σq, Σp², Σpd, Σpw, Σpv, Σd², Σdw, Σdv, Σq², Σqv.
pub struct GroupSums {
    pub d: f64,
    pub p: f64,
    pub q: f64,
    pub pp: f64,
    pub pd: f64,
    pub pw: f64,
    pub pv: f64,
    pub dd: f64,
    pub dw: f64,
    pub dv: f64,
    pub qq: f64,
    pub qv: f64,
}

/// One output's sums over some rows of a Saltelli design.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SobolSums {
    /// Rows whose runs all succeeded: those summed.
    pub rows: u64,
    /// Rows left out because one of their runs failed.
    pub skipped: u64,
    /// The origin `s` of `w` and `p`.
    pub shift: f64,
    /// Σv.
    pub v: f64,
    /// Σv².
    pub vv: f64,
    /// Σw.
    pub w: f64,
    /// Σw².
    pub ww: f64,
    /// Σwv.
    pub wv: f64,
    /// Per input group, in the model's input order.
    pub groups: Vec<GroupSums>,
}

/// One index and the half-width of its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The index.
    pub value: f64,
    /// `1.96 ×` its standard error (NaN with fewer than two rows).
    pub half_width: f64,
}

impl Estimate {
    /// `[value − half_width, value + half_width]`.
    pub fn ci95(&self) -> [f64; 2] {
        [self.value - self.half_width, self.value + self.half_width]
    }
}

impl SobolSums {
    /// The sums of the whole rows among scenarios `0 .. count` of a batch that starts a design
    /// row, for one output with `groups` input groups: `values` are the output's values of the
    /// scenarios that succeeded, in order, and `failed` the positions (from 0, ascending) of
    /// those that did not. Rows are summed in order; a trailing partial row is ignored.
    pub fn of_batch(values: &[f64], failed: &[usize], count: usize, groups: usize) -> SobolSums {
        let runs = groups + 2;
        let mut sums = SobolSums {
            groups: vec![GroupSums::default(); groups],
            ..SobolSums::default()
        };
        let (mut next_value, mut failures) = (0, failed.iter().peekable());
        let mut row = vec![0.0; runs];
        let mut shift = None;
        for first in (0..count / runs).map(|j| j * runs) {
            let mut complete = true;
            for (k, slot) in row.iter_mut().enumerate() {
                if failures.next_if(|&&f| f == first + k).is_some() {
                    complete = false;
                } else {
                    *slot = values.get(next_value).copied().unwrap_or(f64::NAN);
                    next_value += 1;
                }
            }
            if !complete {
                sums.skipped += 1;
                continue;
            }
            let s = *shift.get_or_insert(row[0]);
            sums.add_row(&row, s);
        }
        sums.shift = shift.unwrap_or(0.0);
        sums
    }

    /// Adds one row's runs `[a, b, c_0, c_1, ..]` with shift `s`.
    fn add_row(&mut self, row: &[f64], s: f64) {
        let (a, b) = (row[0], row[1]);
        let v = (a - b) * (a - b) / 2.0;
        let w = (a + b) / 2.0 - s;
        self.rows += 1;
        self.v += v;
        self.vv += v * v;
        self.w += w;
        self.ww += w * w;
        self.wv += w * v;
        for (g, &c) in self.groups.iter_mut().zip(&row[2..]) {
            let d = c - a;
            let p = (b - s) * d;
            let q = d * d / 2.0;
            g.d += d;
            g.p += p;
            g.q += q;
            g.pp += p * p;
            g.pd += p * d;
            g.pw += p * w;
            g.pv += p * v;
            g.dd += d * d;
            g.dw += d * w;
            g.dv += d * v;
            g.qq += q * q;
            g.qv += q * v;
        }
    }

    /// Adds the sums of other rows (in batch order, for the same bits every time): `other`'s
    /// are first moved to this accumulator's shift.
    pub fn merge(&mut self, other: &SobolSums) {
        let skipped = self.skipped + other.skipped;
        if self.rows == 0 {
            *self = other.clone();
            self.skipped = skipped;
            return;
        }
        self.skipped = skipped;
        if other.rows == 0 {
            return;
        }
        // w' = w − δ and p' = p − δ d, with δ the difference of the shifts.
        let delta = self.shift - other.shift;
        let n = other.rows as f64;
        self.rows += other.rows;
        self.v += other.v;
        self.vv += other.vv;
        self.w += other.w - delta * n;
        self.ww += other.ww - 2.0 * delta * other.w + delta * delta * n;
        self.wv += other.wv - delta * other.v;
        if self.groups.len() != other.groups.len() {
            // A stranger's sums: counted rows, but no group can be trusted; the caller checks
            // shapes before merging.
            return;
        }
        for (g, o) in self.groups.iter_mut().zip(&other.groups) {
            g.d += o.d;
            g.p += o.p - delta * o.d;
            g.q += o.q;
            g.pp += o.pp - 2.0 * delta * o.pd + delta * delta * o.dd;
            g.pd += o.pd - delta * o.dd;
            g.pw += o.pw - delta * o.p - delta * o.dw + delta * delta * o.d;
            g.pv += o.pv - delta * o.dv;
            g.dd += o.dd;
            g.dw += o.dw - delta * o.d;
            g.dv += o.dv;
            g.qq += o.qq;
            g.qv += o.qv;
        }
    }

    /// The variance `V` of the output, estimated from the rows' `A` and `B` runs.
    pub fn variance(&self) -> f64 {
        self.v / self.rows as f64
    }

    /// The first-order index of group `m` and its interval.
    pub fn first(&self, m: usize) -> Estimate {
        let Some(g) = self.groups.get(m) else {
            return Estimate::unknown();
        };
        let n = self.rows as f64;
        let (vbar, wbar, dbar, pbar) = (self.v / n, self.w / n, g.d / n, g.p / n);
        let value = (pbar - wbar * dbar) / vbar;
        // Gradient of (p̄ − w̄ d̄) / v̄ in (p̄, w̄, d̄, v̄), and the quantities' covariances.
        let grad = [1.0 / vbar, -dbar / vbar, -wbar / vbar, -value / vbar];
        let sums = [g.p, self.w, g.d, self.v];
        let products = [
            [g.pp, g.pw, g.pd, g.pv],
            [g.pw, self.ww, g.dw, self.wv],
            [g.pd, g.dw, g.dd, g.dv],
            [g.pv, self.wv, g.dv, self.vv],
        ];
        let mut var = 0.0;
        for i in 0..4 {
            for j in 0..4 {
                var += grad[i] * grad[j] * covariance(products[i][j], sums[i], sums[j], n);
            }
        }
        self.estimate(value, var)
    }

    /// The total index of group `m` and its interval.
    pub fn total(&self, m: usize) -> Estimate {
        let Some(g) = self.groups.get(m) else {
            return Estimate::unknown();
        };
        let n = self.rows as f64;
        let vbar = self.v / n;
        let value = g.q / n / vbar;
        let var = (covariance(g.qq, g.q, g.q, n) - 2.0 * value * covariance(g.qv, g.q, self.v, n)
            + value * value * covariance(self.vv, self.v, self.v, n))
            / (vbar * vbar);
        self.estimate(value, var)
    }

    /// `value` with the half-width of a mean-like estimator whose quantities vary by `var`.
    fn estimate(&self, value: f64, var: f64) -> Estimate {
        if self.rows < 2 {
            return Estimate::unknown();
        }
        Estimate {
            value,
            half_width: Z_975 * (var.max(0.0) / self.rows as f64).sqrt(),
        }
    }
}

impl Estimate {
    fn unknown() -> Estimate {
        Estimate {
            value: f64::NAN,
            half_width: f64::NAN,
        }
    }
}

/// The sample covariance of two quantities from their sums and the sum of their products.
fn covariance(product: f64, x: f64, y: f64, n: f64) -> f64 {
    (product - x * y / n) / (n - 1.0)
}

#[cfg(test)]
mod tests;
