//! A job's `[stop]` rule, judged on the contiguous prefix of its batches.
//!
//! With a rule, the aggregator holds every result batch until the batches before it have
//! arrived, and folds them into the summary strictly in batch order. After the prefix `0..b`
//! is folded the rule is judged when `b` is a checkpoint: a multiple of `check_every` (the
//! precision), or the first prefix of `max_scenarios` or more scenarios (the cap). The prefix's
//! moments (and, for a rule on a percentile, the sketch of the watched output's values, whose
//! counts do not depend on the order they are added in; for a rule on a Sobol index, the Sobol
//! sums) are a function of (spec, seed) alone, so the batch the job stops after is the same
//! for any number of consumers and any arrival order; batches past it that arrived anyway stay
//! held and never reach the summary.

use mcp_protocol::{ModelInfo, ResultBatch};
use mcp_spec::{SobolOrder, Spec, StopReason, StopRule};
use mcp_stats::{Moments, Sketch, SobolSums};
use std::collections::BTreeMap;

/// The rule, the batches that wait for their predecessors, and the verdict once reached.
#[derive(Debug)]
pub(crate) struct Stopping {
    rule: StopRule,
    /// The watched output's position among the model's outputs (`None`: a model without it,
    /// which only a producer that skipped validation can announce; then only the cap stops).
    output: Option<usize>,
    /// For a rule on a Sobol index: the input group's position among the model's inputs, and
    /// the index's order.
    sobol: Option<(Option<usize>, SobolOrder)>,
    held: BTreeMap<u64, ResultBatch>,
    /// With `percentile = P`: a sketch of the watched output's values over the prefix, on
    /// which P's interval is judged.
    prefix: Option<Sketch>,
    reason: Option<StopReason>,
}

impl Stopping {
    /// The spec's rule for a job of `info`'s model, if it has one.
    pub(crate) fn of(info: &ModelInfo, spec: &Spec) -> Option<Stopping> {
        let rule = spec.stop.clone()?;
        let sobol = rule
            .sobol
            .as_ref()
            .map(|t| (info.inputs.iter().position(|i| *i == t.input), t.order));
        Some(Stopping {
            output: info.outputs.iter().position(|o| *o == rule.output),
            prefix: rule.percentile.map(|_| Sketch::default()),
            sobol,
            rule,
            held: BTreeMap::new(),
            reason: None,
        })
    }

    /// Holds a batch until its predecessors are folded.
    pub(crate) fn hold(&mut self, result: ResultBatch) {
        self.held.insert(result.batch.index, result);
    }

    /// Whether batch `index` is held.
    pub(crate) fn holds(&self, index: u64) -> bool {
        self.held.contains_key(&index)
    }

    /// The next batch of the prefix (`index`), when it has arrived and the rule has not
    /// stopped the job.
    pub(crate) fn next(&mut self, index: u64) -> Option<ResultBatch> {
        if self.reason.is_some() {
            return None;
        }
        let result = self.held.remove(&index)?;
        if let (Some(sketch), Some(o)) = (&mut self.prefix, self.output) {
            match result.sketches.get(o) {
                Some(column) => sketch.merge(&column.part),
                None => sketch.add(&result.values[o]),
            }
        }
        Some(result)
    }

    /// Every batch still held, in batch order: for the partial summary of a job that ended
    /// another way (timed out, cancelled) before its rule stopped it.
    pub(crate) fn rest(&mut self) -> Vec<ResultBatch> {
        if self.reason.is_some() {
            return Vec::new();
        }
        std::mem::take(&mut self.held).into_values().collect()
    }

    /// Judges the rule on the prefix of `batches` batches, `scenarios` scenarios of the job's
    /// `total`, with the prefix's merged `moments` and Sobol sums (`sobol`, empty when the
    /// job has none) per output.
    pub(crate) fn judge(
        &mut self,
        batches: u64,
        scenarios: u64,
        total: u64,
        moments: &[Moments],
        sobol: &[SobolSums],
    ) {
        if self.reason.is_some() || scenarios >= total {
            // A job that ran every scenario was not stopped.
            return;
        }
        let checkpoint = batches.is_multiple_of(self.rule.check_every);
        let precise = checkpoint
            && match (self.sobol, self.rule.percentile, &self.prefix) {
                (Some((group, order)), _, _) => {
                    let sums = self.output.and_then(|o| sobol.get(o));
                    sums.zip(group).is_some_and(|(sums, m)| {
                        let e = match order {
                            SobolOrder::First => sums.first(m),
                            SobolOrder::Total => sums.total(m),
                        };
                        self.rule.holds(e.value, e.half_width)
                    })
                }
                (None, Some(p), Some(sketch)) => sketch
                    .percentile_interval(p)
                    .is_some_and(|(at, lo, hi)| self.rule.precise_interval(at, lo, hi)),
                _ => self
                    .output
                    .map(|o| &moments[o])
                    .is_some_and(|m| self.rule.precise(m.count, m.mean, m.std())),
            };
        self.reason = if precise {
            Some(StopReason::Precision)
        } else if self.rule.max_scenarios.is_some_and(|max| scenarios >= max) {
            Some(StopReason::MaxScenarios)
        } else {
            None
        };
    }

    /// Why the rule stopped the job, once it has.
    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.reason
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregator::{Added, Aggregator};
    use crate::job::{EndCause, JobState};
    use crate::{Book, Job};
    use mcp_protocol::{JobSummary, ResultBatch, StopCause};
    use mcp_spec::{Precision, Spec, StopReason, StopRule};
    use mcp_testkit::fixtures::{announcement, model_info, result, spec};

    const BATCH: u32 = 10;
    const SCENARIOS: u64 = 10_000;

    /// Batch `index`'s values: uniforms on [0, 1) from a fixed 64-bit LCG, a function of the
    /// scenario index alone.
    fn batch(index: u64) -> ResultBatch {
        let values = (0..u64::from(BATCH))
            .map(|k| {
                let i = index * u64::from(BATCH) + k;
                let x = i
                    .wrapping_add(1)
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        result(index, BATCH, values)
    }

    fn ruled(precision: Precision, max_scenarios: Option<u64>, check_every: u64) -> Spec {
        let mut spec = spec(SCENARIOS, BATCH);
        spec.stop = Some(StopRule {
            output: "y".into(),
            precision,
            percentile: None,
            sobol: None,
            max_scenarios,
            check_every,
        });
        spec
    }

    /// Feeds the batches in `order` until the rule stops the job; the summary.
    fn run(spec: &Spec, order: impl Iterator<Item = u64>) -> (Option<StopReason>, JobSummary) {
        let mut agg = Aggregator::new(model_info(), spec);
        for i in order {
            assert_eq!(agg.add(batch(i)), Added::New);
        }
        (agg.stopped(), agg.into_summary(0.0))
    }

    /// The summary of the first `batches` batches of a job without a rule.
    fn prefix(batches: u64) -> JobSummary {
        run(&spec(SCENARIOS, BATCH), 0..batches).1
    }

    fn half_width(s: &JobSummary) -> f64 {
        let y = &s.outputs.0[0].1;
        (y.ci95[1] - y.ci95[0]) / 2.0
    }

    #[test]
    fn the_precision_rule_stops_after_the_same_prefix_in_any_arrival_order() {
        // Uniforms have std 1/√12 ≈ 0.289: a half-width of 0.02 needs about
        // (1.96 · 0.289 / 0.02)² ≈ 800 scenarios, 80 batches, well inside the 1000.
        let target = 0.02;
        let spec = ruled(Precision::Ci95HalfWidth(target), None, 4);
        let all = SCENARIOS / u64::from(BATCH);
        let (reason, forward) = run(&spec, 0..all);
        assert_eq!(reason, Some(StopReason::Precision));
        assert_eq!(forward.stopped, Some(StopReason::Precision));
        let stopped_at = forward.scenarios / u64::from(BATCH);
        assert_eq!(
            forward.scenarios % (4 * u64::from(BATCH)),
            0,
            "a checkpoint"
        );
        assert!(
            (400..=1600).contains(&forward.scenarios),
            "{}",
            forward.scenarios
        );
        // Within tolerance: at the stop the half-width is at most the target, at the
        // checkpoint before it was above.
        assert!(half_width(&forward) <= target);
        assert!(half_width(&prefix(stopped_at - 4)) > target);
        // The summary is exactly that of the prefix: batches past it never reach it.
        assert_eq!(forward.outputs, prefix(stopped_at).outputs);
        // Backwards (nothing folds until batch 0 arrives) and interleaved: the same bits.
        let (_, backward) = run(&spec, (0..all).rev());
        let (_, shuffled) = run(&spec, (0..all).map(|i| (i * 37) % all));
        for other in [backward, shuffled] {
            assert_eq!(other.stopped, Some(StopReason::Precision));
            assert_eq!(other.scenarios, forward.scenarios);
            assert_eq!(
                serde_json::to_string(&other.outputs).unwrap(),
                serde_json::to_string(&forward.outputs).unwrap()
            );
        }
    }

    #[test]
    fn a_relative_rule_compares_the_half_width_with_the_mean() {
        // |mean| ≈ 0.5, so relative 0.04 is the half-width 0.02 of the test above.
        let spec = ruled(Precision::Relative(0.04), None, 1);
        let (reason, s) = run(&spec, 0..1000);
        assert_eq!(reason, Some(StopReason::Precision));
        let y = &s.outputs.0[0].1;
        assert!(half_width(&s) <= 0.04 * y.mean.abs());
        let before = prefix(s.scenarios / u64::from(BATCH) - 1);
        assert!(half_width(&before) > 0.04 * before.outputs.0[0].1.mean.abs());
    }

    #[test]
    fn a_rule_on_a_percentile_judges_its_interval_on_the_prefix_in_any_order() {
        // p95 of uniforms: its 95% interval's half-width is about 1.96 · √(0.95 · 0.05 / n),
        // so 0.03 needs some 200 scenarios, 20 batches, well inside the 1000.
        let target = 0.03;
        let mut spec = ruled(Precision::Ci95HalfWidth(target), None, 2);
        spec.stop.as_mut().unwrap().percentile = Some(95.0);
        let all = SCENARIOS / u64::from(BATCH);
        let (reason, forward) = run(&spec, 0..all);
        assert_eq!(reason, Some(StopReason::Precision));
        let stopped_at = forward.scenarios / u64::from(BATCH);
        assert!((10..=60).contains(&stopped_at), "{stopped_at} batches");
        // At the stop the interval judged (the sketch's, a little wider than the exact one)
        // is within the target; at the checkpoint before it was not.
        let judged = |batches: u64| {
            let mut sketch = mcp_stats::Sketch::default();
            for i in 0..batches {
                sketch.add(&batch(i).values[0]);
            }
            let (_, lo, hi) = sketch.percentile_interval(95.0).unwrap();
            (hi - lo) / 2.0
        };
        assert!(judged(stopped_at) <= target);
        assert!(judged(stopped_at - 2) > target);
        let exact = forward.outputs.0[0].1.percentile_ci95.as_ref().unwrap();
        let [lo, hi] = exact.labelled()[5].1;
        assert!(
            (hi - lo) / 2.0 <= target,
            "the exact p95 interval is narrower still"
        );
        assert_eq!(forward.outputs, prefix(stopped_at).outputs);
        let (_, shuffled) = run(&spec, (0..all).map(|i| (i * 37) % all));
        assert_eq!(shuffled.scenarios, forward.scenarios);
        assert_eq!(shuffled.outputs, forward.outputs);
    }

    #[test]
    fn a_rule_on_a_percentile_stops_sketched_batches_where_it_stops_their_values() {
        let mut spec = ruled(Precision::Ci95HalfWidth(0.03), None, 2);
        spec.stop.as_mut().unwrap().percentile = Some(95.0);
        spec.simulation.percentiles = mcp_spec::PercentileMode::Sketch;
        let all = SCENARIOS / u64::from(BATCH);
        let (reason, from_values) = run(&spec, 0..all);
        assert_eq!(reason, Some(StopReason::Precision));
        // The same batches as a consumer in sketch mode sends them, arriving shuffled.
        let mut parts = mcp_stats::SketchParts::default();
        let mut agg = Aggregator::new(model_info(), &spec);
        for i in (0..all).map(|i| (i * 37) % all) {
            let mut r = batch(i);
            let part = parts.of(&r.values[0]);
            r.values = Vec::new();
            r.sketches = vec![mcp_protocol::SketchedColumn {
                part,
                above: Vec::new(),
            }];
            assert_eq!(agg.add(r), Added::New);
        }
        assert_eq!(agg.stopped(), reason);
        let from_parts = agg.into_summary(0.0);
        assert_eq!(from_parts.scenarios, from_values.scenarios);
        assert_eq!(from_parts.outputs, from_values.outputs);
    }

    #[test]
    fn max_scenarios_stops_at_the_first_whole_batch_that_reaches_it() {
        // A precision no prefix reaches: only the cap stops the job, at 95 rounded up to a
        // whole batch of 10, whatever `check_every` says.
        let spec = ruled(Precision::Ci95HalfWidth(1e-9), Some(95), 4);
        let (reason, s) = run(&spec, (0..1000).rev());
        assert_eq!((reason, s.scenarios), (Some(StopReason::MaxScenarios), 100));
        assert_eq!(s.outputs, prefix(10).outputs);
        // A cap of a whole number of batches is exact.
        let (_, s) = run(&ruled(Precision::Ci95HalfWidth(1e-9), Some(60), 4), 0..1000);
        assert_eq!(s.scenarios, 60);
    }

    #[test]
    fn a_job_whose_rule_never_holds_runs_every_scenario_and_says_nothing() {
        let spec = ruled(Precision::Ci95HalfWidth(1e-9), Some(SCENARIOS), 4);
        let (reason, s) = run(&spec, 0..1000);
        assert_eq!((reason, s.scenarios, s.stopped), (None, SCENARIOS, None));
        assert_eq!(s.outputs, prefix(1000).outputs);
    }

    #[test]
    fn a_stopped_job_ends_completed_and_is_stopped_everywhere() {
        let mut a = announcement("j", SCENARIOS, BATCH, 0);
        a.spec = ruled(Precision::Ci95HalfWidth(1e-9), Some(20), 1);
        let mut job = Job::new(a.clone(), false);
        job.add(batch(0));
        assert_eq!(job.settled(1), None);
        job.add(batch(1));
        let cause = job.settled(1).unwrap();
        assert_eq!(
            cause,
            EndCause::Stopped {
                reason: StopReason::MaxScenarios
            }
        );
        assert_eq!(
            cause.stop(None),
            Some(StopCause::Finished {
                reason: StopReason::MaxScenarios
            })
        );
        let ended = job.end(cause, 2);
        assert_eq!((ended.state, ended.message), (JobState::Completed, None));
        assert_eq!(ended.summary.scenarios, 20);

        // Through the book: the job ends when the batch that completes the prefix is
        // recorded, its producer and consumers are told, and later batches are dropped.
        let mut book = Book::in_memory(false).unwrap();
        book.announce(a, 0).unwrap();
        let record = |book: &mut Book, i| book.record(vec![("j".into(), batch(i))], 1).unwrap();
        record(&mut book, 1);
        record(&mut book, 2);
        assert!(book.ended("j").is_none());
        assert_eq!(book.take_stops(), []);
        record(&mut book, 0);
        let ended = book.ended("j").unwrap();
        assert_eq!(ended.state, JobState::Completed);
        assert_eq!(ended.summary.stopped, Some(StopReason::MaxScenarios));
        assert_eq!(ended.summary.scenarios, 20);
        let finished = StopCause::Finished {
            reason: StopReason::MaxScenarios,
        };
        assert_eq!(book.take_stops(), [("j".to_string(), finished.clone())]);
        // A follower hearing `mcp serve` say so does not end its job on hearsay.
        let mut b = announcement("k", SCENARIOS, BATCH, 0);
        b.spec = ruled(Precision::Ci95HalfWidth(1e-9), Some(20), 1);
        book.announce(b, 5).unwrap();
        assert!(!book.stopped("k", finished, 6).unwrap());
        assert!(book.running("k").is_some());
    }
}

#[cfg(test)]
mod sobol_tests {
    use crate::aggregator::{Added, Aggregator};
    use mcp_protocol::{JobSummary, ResultBatch, SobolSums};
    use mcp_spec::{
        Precision, Sensitivity, SensitivityMethod, SobolOrder, SobolTarget, Spec, StopReason,
        StopRule,
    };
    use mcp_testkit::fixtures::{model_info, result, spec};

    /// Rows of 3 runs (the fixture's one input `x`), 10 rows per batch.
    const BATCH: u32 = 30;

    fn uniform(i: u64) -> f64 {
        let x = (i + 1)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Batch `index` of a design where `f(AB) = f(B)` plus noise: `x`'s total index is below
    /// 1, estimated more precisely as rows accumulate.
    fn batch(index: u64) -> ResultBatch {
        let rows = u64::from(BATCH) / 3;
        let values = (index * rows..(index + 1) * rows)
            .flat_map(|j| {
                let (a, b) = (uniform(2 * j), uniform(2 * j + 1));
                [a, b, b + 0.5 * uniform(1 << 40 | j) - 0.25]
            })
            .collect();
        let mut r = result(index, BATCH, values);
        r.sobol = vec![SobolSums::of_batch(&r.values[0], &[], BATCH as usize, 1)];
        r
    }

    fn run(spec: &Spec, order: impl Iterator<Item = u64>) -> (Option<StopReason>, JobSummary) {
        let mut agg = Aggregator::new(model_info(), spec);
        for i in order {
            assert_eq!(agg.add(batch(i)), Added::New);
        }
        (agg.stopped(), agg.into_summary(0.0))
    }

    #[test]
    fn a_rule_on_a_sobol_index_stops_after_the_same_prefix_in_any_arrival_order() {
        let mut spec = spec(30_000, BATCH);
        spec.sensitivity = Some(Sensitivity {
            method: SensitivityMethod::Sobol,
        });
        spec.stop = Some(StopRule {
            output: "y".into(),
            precision: Precision::Ci95HalfWidth(0.02),
            percentile: None,
            sobol: Some(SobolTarget {
                order: SobolOrder::Total,
                input: "x".into(),
            }),
            max_scenarios: None,
            check_every: 5,
        });
        let all = 1000;
        let (reason, forward) = run(&spec, 0..all);
        assert_eq!(reason, Some(StopReason::Precision));
        let n = forward.scenarios;
        assert_eq!(n % (5 * u64::from(BATCH)), 0, "{n} is not a checkpoint");
        assert!(n > 5 * u64::from(BATCH) && n < 30_000, "{n}");
        let x = &forward.sobol.as_ref().unwrap().outputs.0[0].1[0];
        assert!((x.total_ci95[1] - x.total_ci95[0]) / 2.0 <= 0.02, "{x:?}");
        let backward = run(&spec, (0..all).rev()).1;
        let interleaved = run(&spec, (0..all).map(|i| i ^ 1)).1;
        for other in [backward, interleaved] {
            assert_eq!(
                serde_json::to_string(&other).unwrap(),
                serde_json::to_string(&forward).unwrap()
            );
        }
    }
}
