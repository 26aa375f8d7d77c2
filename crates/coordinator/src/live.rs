//! What a live view shows of a running job: statistics in arrival order, cheap to read twice a
//! second. The exact, order-independent summary is still the [`Aggregator`]'s, at the end.
//!
//! [`Aggregator`]: crate::Aggregator

use mcp_protocol::{JobSummary, ResultBatch};
use mcp_spec::Spec;
use mcp_stats::{
    Exceedance, ExceedanceCounts, Histogram, Moments, Percentiles, SobolSummary, SobolSums,
    TailRisk, Tornado, TornadoSums, Z_975, order_ci_ranks,
};
use serde::Serialize;

/// Most points a convergence series keeps; when full, every other point is dropped.
const CONVERGENCE_POINTS: usize = 512;
/// Bins per decade of the time-per-scenario histogram.
const PER_DECADE: usize = 5;
/// The time-per-scenario histogram starts at 10^FROM_EXP seconds.
const FROM_EXP: i32 = -9;
/// Decades it covers (1 ns to 10 s).
const DECADES: usize = 10;

/// Live statistics of one job.
#[derive(Debug, Clone)]
pub struct Live {
    outputs: Vec<LiveOutput>,
    time_bins: Vec<u64>,
    /// Per output, the Sobol sums so far, when the spec asks for the indices (merged in
    /// arrival order: the exact ones are the summary's).
    sobol: Option<Vec<SobolSums>>,
    /// The model's inputs, naming the tornado's and the Sobol indices' rows.
    inputs: Vec<String>,
    /// The batches' rank correlations, added in arrival order (the summary's are in batch
    /// order).
    tornado: TornadoSums,
}

#[derive(Debug, Clone)]
struct LiveOutput {
    name: String,
    moments: Moments,
    histogram: Histogram,
    /// (scenarios with this output, mean, CI low, CI high), oldest first.
    convergence: Vec<[f64; 4]>,
    /// Counts above the thresholds of the spec's `[outputs.NAME]`: exact as far as they go.
    exceedance: ExceedanceCounts,
    /// VaR and CVaR levels of the spec's `[outputs.NAME]`.
    levels: Vec<f64>,
}

impl LiveOutput {
    /// VaR, its interval and CVaR at each level, from the histogram: the quantiles at the
    /// level and at the shares of the order-statistic interval's ranks, and the mean above.
    fn estimated_risks(&self) -> Vec<TailRisk> {
        let n = self.histogram.count();
        if n == 0 {
            return Vec::new();
        }
        let share = |rank: u64| rank as f64 / (n - 1).max(1) as f64;
        let at = |q: f64| self.histogram.quantile(q).unwrap_or(f64::NAN);
        self.levels
            .iter()
            .map(|&level| {
                let (lo, hi) = order_ci_ranks(n, level);
                TailRisk {
                    level,
                    var: at(level),
                    var_ci95: [at(share(lo)), at(share(hi))],
                    cvar: self.histogram.tail_mean(level).unwrap_or(f64::NAN),
                    tail: n - (((n - 1) as f64 * level).ceil() as u64).min(n - 1),
                }
            })
            .collect()
    }
}

/// One output as the live view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveOutputView {
    /// The output's name.
    pub name: String,
    /// Values so far.
    pub count: u64,
    /// Running mean.
    pub mean: f64,
    /// Running standard deviation.
    pub std: f64,
    /// 95% confidence interval of the mean.
    pub ci95: [f64; 2],
    /// Smallest value so far.
    pub min: f64,
    /// Largest value so far.
    pub max: f64,
    /// Percentiles: estimated from the histogram while the job runs, exact once it ended.
    pub percentiles: Percentiles,
    /// Whether the figures are the job's exact summary.
    pub exact: bool,
    /// Histogram of the values.
    pub histogram: Histogram,
    /// The running mean and its CI as scenarios accumulated: `[n, mean, low, high]`.
    pub convergence: Vec<[f64; 4]>,
    /// `P(output > t)` per threshold of the spec: counted exactly as batches arrive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceedance: Vec<Exceedance>,
    /// VaR and CVaR per level of the spec: estimated from the histogram while the job runs,
    /// exact once it ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub var: Vec<TailRisk>,
}

/// Histogram of time per scenario (each batch's mean, weighted by its scenarios), on a log
/// scale: bin `i` holds times in `[10^(from_exp + i/per_decade), 10^(from_exp + (i+1)/per_decade))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeHistogram {
    /// Decimal exponent of the first bin's left edge, in seconds.
    pub from_exp: i32,
    /// Bins per decade.
    pub per_decade: usize,
    /// Scenarios per bin.
    pub bins: Vec<u64>,
}

/// The live view of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveView {
    /// Per output, in model order.
    pub outputs: Vec<LiveOutputView>,
    /// Time per scenario.
    pub time_per_scenario: TimeHistogram,
    /// First-order and total Sobol indices with their intervals, when the spec asks for them:
    /// from the batches arrived so far while the job runs, the summary's once it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sobol: Option<SobolSummary>,
    /// Each input's rank correlation with each output: from the batches so far in arrival
    /// order while the job runs, the summary's once it ended; absent until a batch of enough
    /// scenarios arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tornado: Option<Tornado>,
}

impl Live {
    /// Live statistics for a job with these outputs.
    pub fn new(outputs: &[String]) -> Live {
        Live::with_risk(outputs, None)
    }

    /// Live statistics for a job with these outputs, with the exceedances and tail risks its
    /// spec's `[outputs.NAME]` tables ask for.
    pub fn with_risk(outputs: &[String], spec: Option<&Spec>) -> Live {
        Live {
            outputs: outputs
                .iter()
                .map(|name| {
                    let risk = spec.and_then(|s| s.output_risk(name)).cloned();
                    let risk = risk.unwrap_or_default();
                    LiveOutput {
                        name: name.clone(),
                        moments: Moments::default(),
                        histogram: Histogram::default(),
                        convergence: Vec::new(),
                        exceedance: ExceedanceCounts::new(&risk.thresholds),
                        levels: risk.var,
                    }
                })
                .collect(),
            time_bins: vec![0; DECADES * PER_DECADE],
            sobol: None,
            inputs: Vec::new(),
            tornado: TornadoSums::default(),
        }
    }

    /// Keeps the Sobol indices live too, when `spec` asks for them.
    pub fn with_sobol(mut self, spec: &Spec) -> Live {
        if spec.sensitivity.is_some() {
            self.sobol = Some(vec![SobolSums::default(); self.outputs.len()]);
        }
        self
    }

    /// These statistics with the tornado's and the Sobol indices' rows named after the model's
    /// `inputs`.
    pub fn with_inputs(mut self, inputs: &[String]) -> Live {
        self.inputs = inputs.to_vec();
        self
    }

    /// Counts a result batch (call once per batch, not for duplicates).
    pub fn add(&mut self, result: &ResultBatch) {
        for ((out, m), values) in self
            .outputs
            .iter_mut()
            .zip(&result.moments)
            .zip(&result.values)
        {
            out.moments.merge(m);
            out.histogram.add(values);
            out.exceedance.add(values);
        }
        for ((out, m), column) in self
            .outputs
            .iter_mut()
            .zip(&result.moments)
            .zip(&result.sketches)
        {
            out.moments.merge(m);
            out.histogram.add_part(&column.part);
            out.exceedance.merge(&column.above);
        }
        if let Some(sums) = &mut self.sobol {
            for (sum, batch) in sums.iter_mut().zip(&result.sobol) {
                sum.merge(batch);
            }
        }
        if let Some(tornado) = &result.tornado {
            self.tornado.add(tornado);
        }
        let count = result.batch.count.max(1);
        let per_scenario = result.eval_seconds / f64::from(count);
        if per_scenario > 0.0 {
            let at = (per_scenario.log10() - f64::from(FROM_EXP)) * PER_DECADE as f64;
            let i = (at.max(0.0) as usize).min(self.time_bins.len() - 1);
            self.time_bins[i] += u64::from(count);
        }
    }

    /// Adds a point to each output's convergence series.
    pub fn sample(&mut self) {
        for out in &mut self.outputs {
            let m = &out.moments;
            if m.count < 2 {
                continue;
            }
            let half = Z_975 * m.std() / (m.count as f64).sqrt();
            if out
                .convergence
                .last()
                .is_some_and(|p| p[0] == m.count as f64)
            {
                continue;
            }
            out.convergence
                .push([m.count as f64, m.mean, m.mean - half, m.mean + half]);
            if out.convergence.len() > CONVERGENCE_POINTS {
                let mut keep = false;
                out.convergence.retain(|_| {
                    keep = !keep;
                    keep
                });
            }
        }
    }

    /// The view, with the exact figures of `summary` when the job has ended.
    pub fn view(&self, summary: Option<&JobSummary>) -> LiveView {
        let outputs = self
            .outputs
            .iter()
            .enumerate()
            .map(|(i, out)| {
                let exact = summary.and_then(|s| s.outputs.0.get(i)).map(|(_, s)| s);
                let m = &out.moments;
                let std = m.std();
                let half = Z_975 * std / (m.count as f64).sqrt();
                let estimated =
                    Percentiles::from_fn(|q| out.histogram.quantile(q / 100.0).unwrap_or(f64::NAN));
                match exact {
                    Some(e) => LiveOutputView {
                        name: out.name.clone(),
                        count: e.count,
                        mean: e.mean,
                        std: e.std,
                        ci95: e.ci95,
                        min: e.min,
                        max: e.max,
                        percentiles: e.percentiles,
                        exact: true,
                        histogram: out.histogram.clone(),
                        convergence: out.convergence.clone(),
                        exceedance: e.exceedance.clone(),
                        var: e.var.clone(),
                    },
                    None => LiveOutputView {
                        name: out.name.clone(),
                        count: m.count,
                        mean: m.mean,
                        std,
                        ci95: [m.mean - half, m.mean + half],
                        min: m.min,
                        max: m.max,
                        percentiles: estimated,
                        exact: false,
                        histogram: out.histogram.clone(),
                        convergence: out.convergence.clone(),
                        exceedance: out.exceedance.exceedances(m.count),
                        var: out.estimated_risks(),
                    },
                }
            })
            .collect();
        let names: Vec<String> = self.outputs.iter().map(|o| o.name.clone()).collect();
        let sobol = self
            .sobol
            .as_ref()
            .map(|sums| match summary.and_then(|s| s.sobol.clone()) {
                Some(exact) => exact,
                None => SobolSummary::of(&self.inputs, &names, sums),
            });
        let tornado = match summary {
            Some(s) => s.tornado.clone(),
            None => self.tornado.finish(&self.inputs, &names),
        };
        LiveView {
            outputs,
            time_per_scenario: TimeHistogram {
                from_exp: FROM_EXP,
                per_decade: PER_DECADE,
                bins: self.time_bins.clone(),
            },
            sobol,
            tornado,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregator;
    use mcp_stats::TornadoBatch;
    use mcp_testkit::fixtures::{model_info, result, spec};

    #[test]
    fn the_tornado_shows_live_then_exact() {
        let info = model_info();
        let mut live = Live::new(&info.outputs).with_inputs(&info.inputs);
        let mut agg = Aggregator::new(info, &spec(200, 50));
        assert_eq!(live.view(None).tornado, None);
        for (i, rho) in [0.5, 0.7, 0.6, 0.2].into_iter().enumerate() {
            let mut r = result(i as u64, 50, vec![1.0; 50]);
            r.tornado = Some(TornadoBatch {
                inputs: 1,
                rho: vec![rho],
                n: vec![50],
            });
            live.add(&r);
            agg.add(r);
        }
        let running = live.view(None).tornado.unwrap();
        let row = &running.rows("y").unwrap()[0];
        assert_eq!((row.input.as_str(), running.blocks), ("x", 4));
        assert!((row.spearman - 0.5).abs() < 1e-12, "{row:?}");
        let summary = agg.into_summary(0.0);
        assert!(summary.tornado.is_some());
        assert_eq!(live.view(Some(&summary)).tornado, summary.tornado);
    }

    #[test]
    fn exceedance_and_tail_risk_show_live_then_exact() {
        let mut spec = spec(2000, 100);
        let text = "[simulation]\nscenarios = 1\nseed = 1\n[variables]\n\
                    [outputs.y]\nthresholds = [900.0]\nvar = [0.9]\n";
        spec.outputs = Spec::parse(text, "vars.toml").unwrap().outputs;
        let info = model_info();
        let mut live = Live::with_risk(&info.outputs, Some(&spec));
        let mut agg = Aggregator::new(info, &spec);
        for i in 0..20u64 {
            let values: Vec<f64> = (0..100).map(|j| (i * 100 + j) as f64 * 0.5).collect();
            let r = result(i, 100, values);
            live.add(&r);
            agg.add(r);
        }
        // Values 0, 0.5, …, 999.5: 199 of them above 900, exactly, live or not.
        let running = &live.view(None).outputs[0];
        assert!(!running.exact);
        assert_eq!(running.exceedance[0].count, 199);
        // The histogram's estimates are within a bin of the exact 0.9-quantile (899.55) and
        // of the mean above it (949.75).
        let width = live.outputs[0].histogram.width;
        let v = running.var[0];
        assert!((v.var - 899.55).abs() <= width, "{v:?}");
        assert!((v.cvar - 949.75).abs() <= width, "{v:?}");
        assert!(v.var_ci95[0] <= v.var && v.var <= v.var_ci95[1]);
        let summary = agg.into_summary(0.0);
        let ended = &live.view(Some(&summary)).outputs[0];
        assert!(ended.exact);
        assert_eq!(ended.var, summary.outputs.0[0].1.var);
        assert_eq!(ended.exceedance, summary.outputs.0[0].1.exceedance);
    }
}
