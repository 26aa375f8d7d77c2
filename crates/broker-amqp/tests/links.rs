//! The role links over a real RabbitMQ: what a producer publishes, consumers and a result
//! listener receive, with the job attached; garbage goes to the dead-letter queue.

use super::{broker_url, setup};
use mcp_broker::{ConsumerLink, CoordinatorLink, Polled, ProducerLink};
use mcp_broker_amqp::AmqpBroker;
use mcp_protocol::{JobModel, ModelInfo, ResultBatch, ScenarioBatch};
use mcp_spec::Spec;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn job(id: &str) -> Arc<JobModel> {
    let spec = Spec::parse(
        "[simulation]\nscenarios = 30\nseed = 1\nbatch = 10\n[variables]\nx = { dist = \"constant\", value = 1 }\n",
        "vars.toml",
    )
    .unwrap();
    Arc::new(JobModel {
        job: id.to_string(),
        info: ModelInfo {
            name: "m".into(),
            version: "1".into(),
            inputs: vec!["x".into()],
            outputs: vec!["y".into()],
            digest: "sha256:00".into(),
        },
        spec,
        wasm: vec![0, 97, 115, 109],
    })
}

fn batch(index: u64) -> ScenarioBatch {
    ScenarioBatch {
        index,
        start: index * 10,
        count: 10,
    }
}

fn next(consumer: &dyn ConsumerLink) -> mcp_broker::Delivery<ScenarioBatch> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no batch arrived");
        if let Polled::Ready(d) = consumer.next_batch(Duration::from_millis(200)).unwrap() {
            return d;
        }
    }
}

#[test]
fn batches_and_results_carry_their_job() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    let listener = broker.result_listener("job-1").unwrap();
    let producer = broker.producer().unwrap();
    producer.publish_model(job("job-1")).unwrap();
    for i in 0..3 {
        producer.publish_batch(batch(i)).unwrap();
    }
    producer.finish().unwrap();

    let a = broker.consumer("a", 1).unwrap();
    let b = broker.consumer("b", 1).unwrap();
    // The model stays current for everyone who looks.
    assert_eq!(a.current_model().unwrap().unwrap().job, "job-1");
    assert_eq!(b.current_model().unwrap().unwrap().job, "job-1");

    let mut seen = Vec::new();
    for consumer in [&a as &dyn ConsumerLink, &b, &a] {
        let d = next(consumer);
        assert_eq!(d.job, "job-1");
        seen.push(d.body.index);
        let result = ResultBatch {
            batch: d.body,
            moments: vec![mcp_stats::Moments::of([1.0])],
            values: vec![vec![1.0]],
            failures: vec![],
            eval_seconds: 0.0,
        };
        consumer.publish_result(&d.job, result).unwrap();
        consumer.ack_batch(d.tag).unwrap();
    }
    seen.sort();
    assert_eq!(seen, [0, 1, 2]);

    let mut results = Vec::new();
    while results.len() < 3 {
        let r = listener
            .next_result(Duration::from_secs(20))
            .unwrap()
            .expect("a result");
        assert_eq!(r.job, "job-1");
        results.push(r.body.batch.index);
        listener.ack_result(r.tag).unwrap();
    }
    results.sort();
    assert_eq!(results, [0, 1, 2]);
    cleanup(&prefix);
}

#[test]
fn a_new_model_replaces_the_old_one() {
    let prefix = setup_prefix();
    let broker = AmqpBroker::connect(&broker_url(), &prefix, "links-test").unwrap();
    let producer = broker.producer().unwrap();
    producer.publish_model(job("old")).unwrap();
    producer.publish_model(job("new")).unwrap();
    let consumer = broker.consumer("c", 1).unwrap();
    assert_eq!(consumer.current_model().unwrap().unwrap().job, "new");
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
