//! Correlated variables: a `[[correlation]]` group drawn through its copula, scenario by
//! scenario.
//!
//! Scenario `i` of a group: each member's own stream (the one it would draw from alone) gives a
//! uniform `u_k`, made standard normal `z_k = Φ⁻¹(u_k)`; the Cholesky factor `L` of the copula's
//! matrix correlates them, `x = L z`; the Student t copula divides by `√(W/ν)` with `W ~ χ²(ν)`
//! drawn from the group's own stream; each `x_k` goes back to a uniform through Φ (or the t CDF)
//! and through the member's quantile function to its value. Everything is a function of the
//! seed, the names and `i`: no other scenario, no batch, no stored sample (which Iman–Conover,
//! reordering a whole sample, would need). Each margin is exact: the uniform it inverts is exactly
//! uniform whatever the correlations. The Archimedean copulas of two variables take the same
//! members' uniforms and join them by conditional inversion instead (`archimedean.rs`).

use crate::archimedean::Pair;
use crate::{Column, GeneratorError, scenario_rng, stream_key};
use mcp_spec::{Copula, Correlation};
use rand::distr::Distribution as _;
use statrs::distribution as sd;
use statrs::distribution::ContinuousCDF;

/// One group, ready to draw.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Each member's position in a scenario's row, in the group's order.
    pub(crate) positions: Vec<usize>,
    /// Each member's column: its stream, its sampler (whose quantile function the group uses)
    /// and its part of the sampling plan (which places the uniform behind the member's normal,
    /// so the margins are stratified too).
    members: Vec<Column>,
    /// The lower-triangular Cholesky factor, row-major.
    l: Vec<f64>,
    /// For the t copula: its degrees of freedom and the stream of its `W`.
    t: Option<(f64, u64, sd::ChiSquared, sd::StudentsT)>,
    /// For an Archimedean copula (two members): the copula with its parameter.
    pair: Option<Pair>,
}

impl Group {
    /// The group of `correlation` over the model's `inputs`, whose first columns are `starts`
    /// (of `columns`).
    pub(crate) fn new(
        seed: u64,
        correlation: &Correlation,
        inputs: &[String],
        starts: &[usize],
        columns: &[Column],
    ) -> Result<Group, GeneratorError> {
        let error = |variable: &str, message: String| GeneratorError {
            variable: variable.to_string(),
            message,
        };
        let first = &correlation.variables[0];
        let l = correlation
            .cholesky()
            .map_err(|m| error(first, format!("correlation: {m}")))?;
        let mut positions = Vec::new();
        for name in &correlation.variables {
            let at = inputs.iter().position(|i| i == name).ok_or_else(|| {
                error(name, "is correlated but the model has no such input".into())
            })?;
            let at = starts[at];
            if !columns[at].sampler.has_quantile() {
                return Err(error(name, "a constant cannot be correlated".into()));
            }
            positions.push(at);
        }
        let t = match correlation.copula {
            Copula::Gaussian | Copula::Clayton | Copula::Gumbel | Copula::Frank => None,
            Copula::StudentT { df } => {
                let chi = sd::ChiSquared::new(df).map_err(|e| error(first, e.to_string()))?;
                let t =
                    sd::StudentsT::new(0.0, 1.0, df).map_err(|e| error(first, e.to_string()))?;
                let key = stream_key(
                    seed,
                    &format!("correlation:{}", correlation.variables.join(",")),
                );
                Some((df, key, chi, t))
            }
        };
        let pair = match correlation.copula.archimedean() {
            None => None,
            Some(_) => Some(
                Pair::new(correlation.copula, correlation.matrix[0][1])
                    .map_err(|m| error(first, format!("correlation: {m}")))?,
            ),
        };
        Ok(Group {
            members: positions.iter().map(|&p| columns[p].clone()).collect(),
            positions,
            l,
            t,
            pair,
        })
    }

    /// Writes scenario `index`'s values of the group into `row` (a whole scenario's inputs).
    pub(crate) fn fill(&self, index: u64, row: &mut [f64], z: &mut Vec<f64>) {
        let n = self.positions.len();
        let unit = sd::Normal::standard();
        // `z` holds each member's uniform, then (for the elliptical copulas) its normal.
        z.clear();
        z.extend(self.members.iter().map(|member| member.uniform(index)));
        if let Some(pair) = &self.pair {
            let (u, w) = (z[0], z[1]);
            let v = pair.conditional_inverse(u, w);
            row[self.positions[0]] = self.members[0].sampler.quantile(u);
            row[self.positions[1]] = self.members[1].sampler.quantile(inside(v));
            return;
        }
        for x in z.iter_mut() {
            *x = unit.inverse_cdf(*x);
        }
        let scale = match &self.t {
            None => 1.0,
            Some((df, key, chi, _)) => {
                let mut rng = scenario_rng(*key, index);
                let w: f64 = chi.sample(&mut rng);
                (w / df).sqrt().max(f64::MIN_POSITIVE)
            }
        };
        for k in 0..n {
            let x: f64 = (0..=k).map(|j| self.l[k * n + j] * z[j]).sum::<f64>() / scale;
            let u = match &self.t {
                None => unit.cdf(x),
                Some((_, _, _, t)) => t.cdf(x),
            };
            row[self.positions[k]] = self.members[k].sampler.quantile(inside(u));
        }
    }
}

/// `u` kept inside (0, 1): the quantile of 0 or 1 may be infinite.
fn inside(u: f64) -> f64 {
    u.clamp(f64::EPSILON / 2.0, 1.0 - f64::EPSILON / 2.0)
}
