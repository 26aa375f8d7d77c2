//! A consumer process over the in-memory transport: it evaluates every batch it is given, sends
//! heartbeats, and obeys pause, resume, cancel and drain; what it did is read where a
//! coordinator would read it.

use super::pricing_job;
use mcp_broker::{ControlLink, CoordinatorLink, InMemoryBroker, Incoming, ProducerLink};
use mcp_consumer::{ConsumerProcess, SessionEnd};
use mcp_protocol::{
    ConsumerState, ConsumerStatus, ControlAction, ControlCommand, ResultBatch, ScenarioBatch,
    ScenarioRun,
};
use mcp_sandbox::Sandbox;
use mcp_testkit::eventually;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

/// What reached the coordinator's side so far.
#[derive(Default)]
struct Seen {
    results: Vec<ResultBatch>,
    heartbeats: Vec<ConsumerStatus>,
}

impl Seen {
    fn read(&mut self, broker: &InMemoryBroker) {
        while let Some(message) = broker.next(Duration::ZERO).unwrap() {
            match message {
                Incoming::Results(d) => self.results.extend(d.body),
                Incoming::Consumer(status) => self.heartbeats.push(status),
                other => panic!("a consumer sent {other:?}"),
            }
        }
    }

    /// Waits until `done` holds of what was seen.
    fn until(&mut self, broker: &InMemoryBroker, what: &str, done: impl Fn(&Seen) -> bool) {
        eventually(what, PATIENCE, || {
            self.read(broker);
            done(self).then_some(())
        })
    }

    fn last_state(&self) -> Option<ConsumerState> {
        self.heartbeats.last().map(|h| h.state)
    }
}

/// Drains the process when dropped.
struct DrainOnDrop<'a>(&'a AtomicBool);

impl Drop for DrainOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Batch `index` of the pricing job (1024 scenarios each), alone in its message.
fn batch(index: u64) -> ScenarioRun {
    let (start, count) = pricing_job().spec.simulation.batch_range(index).unwrap();
    ScenarioBatch {
        index,
        start,
        count,
    }
    .into()
}

fn command(action: ControlAction, job: Option<&str>) -> ControlCommand {
    ControlCommand {
        job: job.map(str::to_string),
        ..ControlCommand::to(action, None)
    }
}

#[test]
fn a_consumer_process_evaluates_every_batch_and_ends_with_the_transport() {
    let broker = InMemoryBroker::new(8);
    broker.publish_model(Arc::new(pricing_job())).unwrap();
    for i in 0..6 {
        broker.publish_run(batch(i)).unwrap();
    }
    broker.finish().unwrap();
    let sandbox = Sandbox::new().unwrap();
    let drain = AtomicBool::new(false);
    let mut process = ConsumerProcess::new("p", 2);
    let end = process.run_session(&broker, &sandbox, &drain).unwrap();
    assert_eq!(end, SessionEnd::Finished);
    let mut seen = Seen::default();
    seen.read(&broker);
    let mut indices: Vec<u64> = seen.results.iter().map(|r| r.batch.index).collect();
    indices.sort();
    assert_eq!(indices, [0, 1, 2, 3, 4, 5]);
    let first = &seen.heartbeats[0];
    assert_eq!(
        (first.id.as_str(), first.state),
        ("p", ConsumerState::Active)
    );
}

#[test]
fn a_consumer_process_obeys_pause_resume_cancel_and_drain() {
    let broker = InMemoryBroker::new(64);
    let job = pricing_job();
    broker.publish_model(Arc::new(job.clone())).unwrap();
    let sandbox = Sandbox::new().unwrap();
    let drain = AtomicBool::new(false);
    let mut process = ConsumerProcess::new("p", 1);
    let mut seen = Seen::default();
    std::thread::scope(|scope| {
        let running = scope.spawn(|| process.run_session(&broker, &sandbox, &drain));
        // Should an assertion fail, the process still ends, and with it the scope.
        let _stop = DrainOnDrop(&drain);

        broker.send(&command(ControlAction::Pause, None)).unwrap();
        seen.until(&broker, "a paused heartbeat", |s| {
            s.last_state() == Some(ConsumerState::Paused)
        });
        for i in 0..3 {
            broker.publish_run(batch(i)).unwrap();
        }
        // Two more heartbeats while paused: a whole interval passed, and nothing was taken.
        let paused_beats = seen.heartbeats.len();
        seen.until(&broker, "two more heartbeats", |s| {
            s.heartbeats.len() >= paused_beats + 2
        });
        assert!(seen.results.is_empty(), "a paused consumer took a batch");
        assert!(
            seen.heartbeats[paused_beats..]
                .iter()
                .all(|h| h.state == ConsumerState::Paused && h.scenarios == 0)
        );

        broker.send(&command(ControlAction::Resume, None)).unwrap();
        seen.until(&broker, "the three results", |s| s.results.len() == 3);

        // A cancelled job's batches are dropped unevaluated, and counted as expired.
        broker
            .send(&command(ControlAction::Cancel, Some(&job.job)))
            .unwrap();
        let cancelled_from = seen.heartbeats.len();
        seen.until(&broker, "a heartbeat after the cancel", |s| {
            s.heartbeats.len() > cancelled_from
        });
        for i in 3..5 {
            broker.publish_run(batch(i)).unwrap();
        }
        seen.until(&broker, "the expired batches", |s| {
            s.heartbeats.last().is_some_and(|h| h.expired == 2 * 1024)
        });
        assert_eq!(seen.results.len(), 3, "no result for a cancelled job");

        broker.send(&command(ControlAction::Drain, None)).unwrap();
        let end = running.join().unwrap().unwrap();
        assert_eq!(end, SessionEnd::Drained);
    });
    seen.read(&broker);
    assert_eq!(seen.last_state(), Some(ConsumerState::Stopped));
    let last = seen.heartbeats.last().unwrap();
    assert_eq!((last.scenarios, last.expired), (3 * 1024, 2 * 1024));
}

#[test]
fn a_run_of_batches_gives_each_batch_the_result_it_gives_alone() {
    let sandbox = Sandbox::new().unwrap();
    let results = |runs: &[ScenarioRun]| {
        let broker = InMemoryBroker::new(8);
        broker.publish_model(Arc::new(pricing_job())).unwrap();
        for run in runs {
            broker.publish_run(*run).unwrap();
        }
        broker.finish().unwrap();
        let drain = AtomicBool::new(false);
        let end = ConsumerProcess::new("p", 2)
            .run_session(&broker, &sandbox, &drain)
            .unwrap();
        assert_eq!(end, SessionEnd::Finished);
        let mut seen = Seen::default();
        seen.read(&broker);
        let mut results = seen.results;
        for r in &mut results {
            r.eval_seconds = 0.0;
        }
        results.sort_by_key(|r| r.batch.index);
        results
    };
    let alone = results(&(0..7).map(batch).collect::<Vec<_>>());
    let mut four = batch(0);
    let mut three = batch(4);
    for i in 1..4 {
        assert!(four.push(batch(i).batches().next().unwrap()));
    }
    for i in 5..7 {
        assert!(three.push(batch(i).batches().next().unwrap()));
    }
    let packed = results(&[four, three]);
    assert_eq!(packed.len(), 7);
    assert_eq!(packed, alone, "the same results, to the bit");
}

#[test]
fn a_batch_that_is_not_one_of_its_jobs_is_set_aside_and_the_consumer_carries_on() {
    let broker = InMemoryBroker::new(8);
    broker.publish_model(Arc::new(pricing_job())).unwrap();
    // Forged: before batches were checked, this count made the consumer reserve tens of GB
    // and abort.
    let forged = ScenarioBatch {
        index: 0,
        start: 0,
        count: u32::MAX,
    };
    broker.publish_run(forged.into()).unwrap();
    // A run whose second batch is not the job's.
    let misaligned = ScenarioRun {
        batch: 1000,
        count: 2000,
        ..batch(2)
    };
    broker.publish_run(misaligned).unwrap();
    broker.publish_run(batch(1)).unwrap();
    broker.finish().unwrap();
    let sandbox = Sandbox::new().unwrap();
    let drain = AtomicBool::new(false);
    let end = ConsumerProcess::new("p", 1)
        .run_session(&broker, &sandbox, &drain)
        .unwrap();
    assert_eq!(end, SessionEnd::Finished);
    let mut seen = Seen::default();
    seen.read(&broker);
    let indices: Vec<u64> = seen.results.iter().map(|r| r.batch.index).collect();
    assert_eq!(
        indices,
        [1],
        "the forged batch and run are not evaluated, the next one is"
    );
}

#[test]
fn a_job_over_the_consumers_ceilings_is_refused_its_batches_given_back_until_the_next_job() {
    let broker = InMemoryBroker::new(8);
    let refused = pricing_job();
    let memory = refused.spec.limits.memory_mib;
    broker.publish_model(Arc::new(refused.clone())).unwrap();
    for i in 0..3 {
        broker.publish_run(batch(i)).unwrap();
    }
    let sandbox = Sandbox::new().unwrap();
    let drain = AtomicBool::new(false);
    let ceilings = mcp_spec::Ceilings {
        memory_mib: memory - 1,
        ..mcp_spec::Ceilings::default()
    };
    let mut process = ConsumerProcess::new("small", 2).with_ceilings(ceilings);
    let mut seen = Seen::default();
    std::thread::scope(|scope| {
        let running = scope.spawn(|| process.run_session(&broker, &sandbox, &drain));
        let _stop = DrainOnDrop(&drain);
        // It says why, in its heartbeat, and evaluates nothing.
        seen.until(&broker, "a heartbeat refusing the job", |s| {
            s.heartbeats.last().is_some_and(|h| h.refused.is_some())
        });
        let why = seen.heartbeats.last().unwrap().refused.clone().unwrap();
        assert_eq!(why.job, refused.job);
        assert_eq!(
            why.error,
            format!(
                "limits.memory_mib is {memory}, more than this consumer allows ({}); lower it \
                 or ask the operator to raise --max-memory-mib",
                memory - 1
            )
        );
        // A job within its ceilings replaces it: the refused job's batches, given back
        // rather than lost or dead-lettered, are now discarded as expired, and the new job's
        // are evaluated.
        let mut next = pricing_job();
        next.job = "within".into();
        next.spec.limits.memory_mib = memory - 1;
        broker.publish_model(Arc::new(next)).unwrap();
        for i in 0..2 {
            broker.publish_run(batch(i)).unwrap();
        }
        seen.until(&broker, "the new job's results", |s| s.results.len() == 2);
        seen.until(&broker, "the refused job's batches expired", |s| {
            s.heartbeats
                .last()
                .is_some_and(|h| h.expired == 3 * 1024 && h.refused.is_none())
        });
        broker.finish().unwrap();
        assert_eq!(running.join().unwrap().unwrap(), SessionEnd::Finished);
    });
    let evaluated: u64 = seen.results.iter().map(|r| u64::from(r.batch.count)).sum();
    assert_eq!(evaluated, 2 * 1024);
}
