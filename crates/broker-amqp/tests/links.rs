//! The role links over a real RabbitMQ: what a producer publishes, consumers and a follower
//! receive, with the job attached; what the operator's link sends reaches a consumer session.

use super::{broker_url, setup};
use mcp_broker::{
    ConsumerLink, ConsumerSession, ControlLink, CoordinatorLink, Incoming, Polled, ProducerLink,
};
use mcp_broker_amqp::{AmqpBroker, AmqpController};
use mcp_protocol::{ControlAction, ControlCommand, ScenarioBatch, ScenarioRun, StopCause};
use mcp_testkit::{eventually, fixtures};
use std::time::Duration;

fn batch(index: u64) -> ScenarioRun {
    ScenarioBatch {
        index,
        start: index * 10,
        count: 10,
    }
    .into()
}

/// A broker link under `prefix` on which job `job-1`'s model and its batch 0 are published.
fn job_1_with_batch_0(prefix: &str) -> std::sync::Arc<AmqpBroker> {
    let broker = AmqpBroker::connect(&broker_url(), prefix, "links-test").unwrap();
    let producer = broker.producer().unwrap();
    producer
        .publish_model(fixtures::job_model("job-1", 30, 10))
        .unwrap();
    producer.publish_run(batch(0)).unwrap();
    producer.finish().unwrap();
    broker
}

fn next(consumer: &dyn ConsumerLink) -> mcp_broker::Delivery<ScenarioRun> {
    eventually("a batch", Duration::from_secs(20), || {
        match consumer.next_run(Duration::from_millis(200)).unwrap() {
            Polled::Ready(d) => Some(d),
            _ => None,
        }
    })
}

/// The next message the coordinator's link brings.
fn incoming(link: &dyn CoordinatorLink) -> Incoming {
    link.next(Duration::from_secs(20))
        .unwrap()
        .expect("a message")
}

#[test]
fn runs_of_batches_and_their_results_carry_their_job() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    let follower = broker.follower("job-1").unwrap();
    let producer = broker.producer().unwrap();
    producer
        .publish_model(fixtures::job_model("job-1", 30, 10))
        .unwrap();
    // Batches 0 and 1 in one message, 2 alone.
    let mut first = batch(0);
    assert!(first.push(ScenarioBatch {
        index: 1,
        start: 10,
        count: 10
    }));
    producer.publish_run(first).unwrap();
    producer.publish_run(batch(2)).unwrap();
    producer.finish().unwrap();

    let session = broker.consumer_session("s", 1).unwrap();
    let a = session.consumer("a").unwrap();
    let b = session.consumer("b").unwrap();
    // The model stays current for everyone who looks.
    assert_eq!(a.current_model().unwrap().unwrap().job, "job-1");
    assert_eq!(b.current_model().unwrap().unwrap().job, "job-1");

    let mut seen = Vec::new();
    for consumer in [&a as &dyn ConsumerLink, &b] {
        let d = next(consumer);
        assert_eq!(d.job, "job-1");
        seen.push((d.body.index, d.body.len()));
        let results = d
            .body
            .batches()
            .map(|b| fixtures::result(b.index, 10, vec![1.0; 10]))
            .collect();
        consumer.publish_results(&d.job, results).unwrap();
        consumer.ack_run(d.tag).unwrap();
    }
    seen.sort();
    assert_eq!(seen, [(0, 2), (2, 1)]);

    let mut results = Vec::new();
    while results.len() < 3 {
        let Incoming::Results(r) = incoming(&follower) else {
            panic!("only results were published")
        };
        assert_eq!(r.job, "job-1");
        results.extend(r.body.iter().map(|r| r.batch.index));
        follower.ack(r.tag).unwrap();
    }
    results.sort();
    assert_eq!(results, [0, 1, 2]);
    broker.delete_follower("job-1").unwrap();
    cleanup(&prefix);
}

#[test]
fn a_follower_hears_newer_jobs_and_a_session_hears_the_operator() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    broker.prepare_follower("job-1").unwrap();
    let producer = broker.producer().unwrap();
    producer
        .announce(&fixtures::announcement("job-2", 10, 10, 2))
        .unwrap();
    let follower = broker.follower("job-1").unwrap();
    match incoming(&follower) {
        Incoming::Job(d) => assert_eq!(d.body.job, "job-2"),
        other => panic!("{other:?}"),
    }

    let session = broker.consumer_session("s", 1).unwrap();
    let controller = AmqpController::new(&broker_url(), &prefix);
    let pause = ControlCommand::to(ControlAction::Pause, Some("s".into()));
    controller.send(&pause).unwrap();
    let command = eventually("the command", Duration::from_secs(20), || {
        session.next_command(Duration::from_millis(200)).unwrap()
    });
    assert_eq!(command, pause);

    // Cancelling retires the job's model, and tells consumers to drop its batches.
    producer
        .publish_model(fixtures::job_model("job-2", 10, 10))
        .unwrap();
    controller.cancel("job-2").unwrap();
    let consumer = session.consumer("c").unwrap();
    assert!(consumer.current_model().unwrap().is_none());
    let cancel = eventually("the cancel command", Duration::from_secs(20), || {
        session.next_command(Duration::from_millis(200)).unwrap()
    });
    assert_eq!(
        (cancel.action, cancel.job.as_deref()),
        (ControlAction::Cancel, Some("job-2"))
    );
    broker.delete_follower("job-1").unwrap();
    cleanup(&prefix);
}

#[test]
fn a_batch_set_aside_goes_to_the_dead_letters_as_it_came_with_why() {
    let prefix = setup_prefix();
    let broker = job_1_with_batch_0(&prefix);
    let consumer = broker
        .consumer_session("s", 1)
        .unwrap()
        .consumer("c")
        .unwrap();
    let d = next(&consumer);
    consumer
        .reject_run(d.tag, "not a batch of job job-1")
        .unwrap();
    let topology = mcp_broker_amqp::Topology::new(&prefix);
    // The dead letter was confirmed before the batch was acknowledged: it is there now.
    let letter = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (_conn, ch, _) = setup().await;
        let m = super::get(&ch, &topology.dead_letter_queue())
            .await
            .expect("the dead letter");
        let headers = m.delivery.properties.headers().clone().unwrap_or_default();
        (m.delivery.data.clone(), headers)
    });
    let message: mcp_protocol::BatchMessage = mcp_protocol::decode(&letter.0).unwrap();
    assert_eq!((message.job.as_str(), message.run), ("job-1", batch(0)));
    let header = |name: &str| match letter.1.inner().get(name) {
        Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(
        header(mcp_broker_amqp::REASON_HEADER),
        "not a batch of job job-1"
    );
    assert_eq!(
        header(mcp_broker_amqp::QUEUE_HEADER),
        topology.scenarios_queue()
    );
    cleanup(&prefix);
}

#[test]
fn a_new_model_replaces_the_old_one() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    let producer = broker.producer().unwrap();
    producer
        .publish_model(fixtures::job_model("old", 30, 10))
        .unwrap();
    producer
        .publish_model(fixtures::job_model("new", 30, 10))
        .unwrap();
    let consumer = broker
        .consumer_session("s", 1)
        .unwrap()
        .consumer("c")
        .unwrap();
    assert_eq!(consumer.current_model().unwrap().unwrap().job, "new");
    cleanup(&prefix);
}

#[test]
fn a_producer_hears_its_job_stopped_or_superseded_and_a_follower_hears_why() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    // A job announced before ours is older: it stops nothing.
    let earlier = broker.producer().unwrap();
    let producer = broker.producer().unwrap();
    earlier
        .announce(&fixtures::announcement("older", 10, 10, 1))
        .unwrap();
    broker.prepare_follower("ours").unwrap();
    producer
        .announce(&fixtures::announcement("ours", 10, 10, 2))
        .unwrap();
    let heard = |p: &dyn ProducerLink| {
        eventually("the producer to hear", Duration::from_secs(20), || {
            p.stopped("ours").unwrap()
        })
    };
    assert_eq!(producer.stopped("ours").unwrap(), None);
    // `mcp serve` stops it: the producer and the follower hear why.
    let why = StopCause::Failed {
        reason: "no consumer can run it".into(),
    };
    let coordinator = broker.coordinator(8).unwrap();
    coordinator.stop_job("ours", &why).unwrap();
    assert_eq!(heard(&producer), why);
    let follower = broker.follower("ours").unwrap();
    let stopped = eventually(
        "the follower to hear",
        Duration::from_secs(20),
        || match follower.next(Duration::from_millis(200)).unwrap() {
            Some(Incoming::Stopped { job, cause }) => Some((job, cause)),
            _ => None,
        },
    );
    assert_eq!(stopped, ("ours".to_string(), why));
    // A job announced after ours supersedes it, for a producer that announced it and for one
    // that resumes on a new link (which never heard its own announcement).
    let other = broker.producer().unwrap();
    let resumed = broker.producer().unwrap();
    let mine = broker.producer().unwrap();
    mine.announce(&fixtures::announcement("mine", 10, 10, 3))
        .unwrap();
    other
        .announce(&fixtures::announcement("newer", 10, 10, 0))
        .unwrap();
    let superseded = StopCause::Superseded { by: "newer".into() };
    assert_eq!(
        eventually("to hear the newer job", Duration::from_secs(20), || {
            mine.stopped("mine").unwrap()
        }),
        superseded
    );
    assert_eq!(
        eventually("to hear it on a new link", Duration::from_secs(20), || {
            resumed.stopped("mine").unwrap()
        }),
        superseded
    );
    broker.delete_follower("ours").unwrap();
    cleanup(&prefix);
}

#[test]
fn a_batch_given_back_goes_to_another_consumer_without_counting_as_a_delivery() {
    let prefix = setup_prefix();
    let broker = job_1_with_batch_0(&prefix);
    let session = broker.consumer_session("s", 1).unwrap();
    let refusing = session.consumer("refusing").unwrap();
    // Given back more often than the queue's delivery limit: never dead-lettered.
    for _ in 0..mcp_broker_amqp::topology::DELIVERY_LIMIT + 5 {
        let d = next(&refusing);
        assert_eq!((d.job.as_str(), d.body), ("job-1", batch(0)));
        refusing.release_run(&d.job, d.body, d.tag).unwrap();
    }
    refusing.set_paused(true).unwrap();
    // The broker may have sent the batch back to `refusing` before the pause took effect: it
    // then waits in that consumer's stream (a paused consumer finishes what it holds). Given
    // back once more, it goes to the next consumer.
    while let Polled::Ready(d) = refusing.next_run(Duration::from_millis(200)).unwrap() {
        refusing.release_run(&d.job, d.body, d.tag).unwrap();
    }
    let able = session.consumer("able").unwrap();
    let d = next(&able);
    assert_eq!(d.body, batch(0));
    able.ack_run(d.tag).unwrap();
    let topology = mcp_broker_amqp::Topology::new(&prefix);
    let dead = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (_conn, ch, _) = setup().await;
        super::get(&ch, &topology.dead_letter_queue())
            .await
            .is_some()
    });
    assert!(!dead, "nothing was dead-lettered");
    cleanup(&prefix);
}

fn setup_prefix() -> String {
    let (_conn, _ch, topo) = tokio::runtime::Runtime::new().unwrap().block_on(setup());
    topo.model_queue().trim_end_matches(".model").to_string()
}

fn cleanup(prefix: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (_conn, ch, _) = setup().await;
        mcp_broker_amqp::Topology::new(prefix)
            .delete(&ch)
            .await
            .unwrap();
    });
}
