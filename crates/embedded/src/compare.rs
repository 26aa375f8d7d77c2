//! A paired comparison in one process (`mcp compare`): the batches of one job evaluated in two
//! runs (two models, or one model under two specs) on worker threads, their shared outputs
//! paired scenario by scenario and merged in batch order.
//!
//! Both runs cut the job the same way and draw scenario `i` from the same seed, so a variable
//! both specs give the same distribution takes the same value in both runs (each variable draws
//! from its own stream): the difference of an output between the runs carries only the effect
//! of what changed. Workers take batch indices from a shared counter and send each paired batch
//! to the calling thread, which keeps those that arrive early until the batches before them are
//! in, so the result is the same to the bit for any number of workers.

use anyhow::{anyhow, bail};
use mcp_consumer::{MatchedOutputs, PairedBatch, PairedEvaluator};
use mcp_protocol::{FailureTally, JobModel, ScenarioBatch};
use mcp_sandbox::Sandbox;
use mcp_spec::Spec;
use mcp_stats::PairedMoments;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// What a comparison found.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// Which outputs were paired, and which only one model has.
    pub outputs: MatchedOutputs,
    /// Per shared output (in [`MatchedOutputs::shared`]'s order), the moments of its pairs.
    pub moments: Vec<PairedMoments>,
    /// Scenarios evaluated in both runs.
    pub scenarios: u64,
    /// Scenarios that succeeded in both runs: the pairs.
    pub pairs: u64,
    /// Failed scenarios of run A and of run B.
    pub failures: [FailureTally; 2],
    /// Whether the comparison ran past the specs' `limits.timeout_s` (the results then cover
    /// the batches finished before it, from the first on).
    pub timed_out: bool,
    /// Wall-clock time of the comparison, in seconds.
    pub elapsed_s: f64,
}

/// Checks that the specs `a` and `b` cut the same scenarios from the same seed: the same
/// `simulation.seed`, `scenarios`, `batch` and `sampling`. The error names the field and the
/// files.
pub fn check_paired(a: &Spec, b: &Spec) -> Result<(), String> {
    let (x, y) = (&a.simulation, &b.simulation);
    let differs = [
        ("seed", x.seed.to_string(), y.seed.to_string()),
        (
            "scenarios",
            x.scenarios.to_string(),
            y.scenarios.to_string(),
        ),
        ("batch", x.batch.to_string(), y.batch.to_string()),
        (
            "sampling",
            format!("{:?}", x.sampling).to_lowercase(),
            format!("{:?}", y.sampling).to_lowercase(),
        ),
    ]
    .into_iter()
    .find(|(_, x, y)| x != y);
    match differs {
        None => Ok(()),
        Some((field, x, y)) => Err(format!(
            "{}: simulation.{field} is {y}, but {} has {x}; a paired comparison needs the same \
             seed, scenario count, batch and sampling on both sides: set simulation.{field} = \
             {x} in {0}",
            b.source.origin, a.source.origin
        )),
    }
}

/// Evaluates every batch of `a`'s job in runs `a` and `b` on `workers` threads and pairs their
/// shared outputs, calling `on_progress` with the scenarios merged so far.
pub fn compare(
    sandbox: &Sandbox,
    a: &JobModel,
    b: &JobModel,
    workers: usize,
    on_progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Compared> {
    check_paired(&a.spec, &b.spec).map_err(anyhow::Error::msg)?;
    let outputs = MatchedOutputs::of(&a.info.outputs, &b.info.outputs);
    if outputs.shared.is_empty() {
        bail!(
            "models `{}` (outputs: {}) and `{}` (outputs: {}) have no output in common; compare \
             models that share an output name",
            a.info.name,
            a.info.outputs.join(", "),
            b.info.name,
            b.info.outputs.join(", ")
        );
    }
    let started = Instant::now();
    let simulation = a.spec.simulation;
    let timeout = Duration::from_secs(a.spec.limits.timeout_s.min(b.spec.limits.timeout_s));
    let next = AtomicU64::new(0);
    let abort = Arc::new(AtomicBool::new(false));
    let (send, results) = mpsc::channel::<anyhow::Result<PairedBatch>>();
    let mut merged = InOrder::new(outputs);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for worker in 0..workers.max(1) {
            let (send, next, stop) = (send.clone(), &next, abort.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("mcp-compare-{worker}"))
                .spawn_scoped(scope, move || {
                    let mut evaluator =
                        match PairedEvaluator::new(sandbox, a, b, Some(stop.clone())) {
                            Ok(evaluator) => evaluator,
                            Err(e) => {
                                let _ = send.send(Err(e));
                                return;
                            }
                        };
                    while !stop.load(Ordering::Relaxed) {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((start, count)) = simulation.batch_range(index) else {
                            break;
                        };
                        let batch = ScenarioBatch {
                            index,
                            start,
                            count,
                        };
                        let Some(paired) = evaluator.evaluate(batch) else {
                            break;
                        };
                        if send.send(Ok(paired)).is_err() {
                            break;
                        }
                    }
                });
            if let Err(e) = spawned {
                abort.store(true, Ordering::Relaxed);
                return Err(anyhow!("could not start a worker thread: {e}"));
            }
        }
        drop(send);
        loop {
            match results.recv_timeout(timeout.saturating_sub(started.elapsed())) {
                Ok(Ok(paired)) => {
                    merged.add(paired);
                    on_progress(merged.done.scenarios);
                }
                Ok(Err(e)) => {
                    abort.store(true, Ordering::Relaxed);
                    return Err(e.context("a worker failed"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    abort.store(true, Ordering::Relaxed);
                    merged.done.timed_out = true;
                    return Ok(());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    })?;
    let mut compared = merged.done;
    compared.elapsed_s = started.elapsed().as_secs_f64();
    Ok(compared)
}

/// Paired batches merged in batch order, whatever order they arrive in.
struct InOrder {
    next: u64,
    early: BTreeMap<u64, PairedBatch>,
    done: Compared,
}

impl InOrder {
    fn new(outputs: MatchedOutputs) -> InOrder {
        InOrder {
            next: 0,
            early: BTreeMap::new(),
            done: Compared {
                moments: vec![PairedMoments::default(); outputs.shared.len()],
                outputs,
                scenarios: 0,
                pairs: 0,
                failures: Default::default(),
                timed_out: false,
                elapsed_s: 0.0,
            },
        }
    }

    /// Keeps `paired` until every batch before it is in, then merges all it can.
    fn add(&mut self, paired: PairedBatch) {
        self.early.insert(paired.batch.index, paired);
        while let Some(paired) = self.early.remove(&self.next) {
            let done = &mut self.done;
            for (total, batch) in done.moments.iter_mut().zip(&paired.outputs) {
                total.merge(batch);
            }
            done.scenarios += u64::from(paired.batch.count);
            done.pairs += paired.pairs;
            for (tally, failures) in done.failures.iter_mut().zip(&paired.failures) {
                tally.add(failures);
            }
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_protocol::{FailureKind, ScenarioFailure};

    /// Batch `index` of 10 scenarios, with made-up pairs whose sums round differently in
    /// different orders.
    fn batch(index: u64) -> PairedBatch {
        let a: Vec<f64> = (0..10)
            .map(|i| (index * 10 + i) as f64 * 0.1 + 1e8)
            .collect();
        let b: Vec<f64> = a.iter().map(|x| x * 1.000_000_3 + 0.7).collect();
        PairedBatch {
            batch: ScenarioBatch {
                index,
                start: index * 10,
                count: 10,
            },
            outputs: vec![PairedMoments::of_slices(&a, &b)],
            pairs: 10,
            failures: [
                vec![],
                vec![ScenarioFailure {
                    scenario: index * 10 + 3,
                    kind: FailureKind::Panic,
                    message: "b".into(),
                }],
            ],
        }
    }

    fn merged(order: &[u64]) -> Compared {
        let outputs = MatchedOutputs::of(&["y".to_string()], &["y".to_string()]);
        let mut m = InOrder::new(outputs);
        for &i in order {
            m.add(batch(i));
        }
        assert!(m.early.is_empty(), "every batch merged");
        m.done
    }

    #[test]
    fn batches_arriving_in_any_order_merge_to_the_same_bits() {
        let forward: Vec<u64> = (0..40).collect();
        let backward: Vec<u64> = (0..40).rev().collect();
        let shuffled: Vec<u64> = (0..40).map(|i| (i * 17) % 40).collect();
        let want = merged(&forward);
        assert_eq!(want.scenarios, 400);
        assert_eq!(want.pairs, 400);
        assert_eq!(want.failures[1].total(), 40);
        for order in [backward, shuffled] {
            let got = merged(&order);
            assert_eq!(got, want);
            let bits = |m: &Compared| {
                let d = m.moments[0].diff;
                (d.mean.to_bits(), d.m2.to_bits())
            };
            assert_eq!(bits(&got), bits(&want));
        }
    }

    #[test]
    fn a_batch_waits_for_those_before_it() {
        let outputs = MatchedOutputs::of(&["y".to_string()], &["y".to_string()]);
        let mut m = InOrder::new(outputs);
        m.add(batch(1));
        m.add(batch(2));
        assert_eq!(m.done.scenarios, 0);
        m.add(batch(0));
        assert_eq!(m.done.scenarios, 30);
    }

    fn spec(text: &str, origin: &str) -> Spec {
        Spec::parse(
            &format!("[simulation]\n{text}\n[variables]\nx = {{ dist = \"normal\", mean = 0, std = 1 }}\n"),
            origin,
        )
        .unwrap()
    }

    #[test]
    fn specs_that_cut_other_scenarios_are_refused_naming_the_field() {
        let a = spec("scenarios = 10\nseed = 1", "a.toml");
        assert_eq!(
            check_paired(&a, &spec("scenarios = 10\nseed = 1", "b.toml")),
            Ok(())
        );
        assert_eq!(
            check_paired(&a, &spec("scenarios = 10\nseed = 2", "b.toml")),
            Err(
                "b.toml: simulation.seed is 2, but a.toml has 1; a paired comparison needs the \
                 same seed, scenario count, batch and sampling on both sides: set \
                 simulation.seed = 1 in b.toml"
                    .into()
            )
        );
        for (text, field) in [
            ("scenarios = 11\nseed = 1", "simulation.scenarios is 11"),
            (
                "scenarios = 10\nseed = 1\nbatch = 5",
                "simulation.batch is 5",
            ),
            (
                "scenarios = 10\nseed = 1\nsampling = \"lhs\"",
                "simulation.sampling is lhs",
            ),
        ] {
            let err = check_paired(&a, &spec(text, "b.toml")).unwrap_err();
            assert!(
                err.starts_with(&format!("b.toml: {field}, but a.toml has")),
                "{err}"
            );
        }
    }
}
