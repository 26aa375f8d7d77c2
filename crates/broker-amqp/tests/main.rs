//! The topology against a real RabbitMQ. The broker comes from `MCP_TEST_BROKER` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`, which `cargo xtask test` starts); without one these
//! tests fail, they never skip. Each test works under its own prefix and deletes it at the end.

mod links;

use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection};
use mcp_broker_amqp::{Topology, TopologyError, connect, topology::DELIVERY_LIMIT};
use mcp_testkit::eventually;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

fn broker_url() -> String {
    std::env::var("MCP_TEST_BROKER")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A connection, a confirming channel and a fresh topology prefix.
async fn setup() -> (Connection, Channel, Topology) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = broker_url();
    let conn = connect(&url, "mcp-broker-amqp-tests")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no RabbitMQ at {url} ({e}); start one with `rabbitmq-server -detached` or run the \
             tests with `cargo xtask test`, which starts it"
            )
        });
    let channel = conn.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let prefix = format!(
        "mcp-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    (conn, channel, Topology::new(&prefix))
}

async fn publish(channel: &Channel, queue: &str, body: &[u8], properties: BasicProperties) {
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn get(channel: &Channel, queue: &str) -> Option<lapin::message::BasicGetMessage> {
    channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
}

#[tokio::test]
async fn declaring_twice_is_harmless() {
    let (_conn, ch, topo) = setup().await;
    topo.declare(&ch).await.unwrap();
    topo.declare(&ch).await.unwrap();
    topo.delete(&ch).await.unwrap();
}

#[tokio::test]
async fn the_model_queue_keeps_only_the_newest_model() {
    let (_conn, ch, topo) = setup().await;
    topo.declare(&ch).await.unwrap();
    let q = topo.model_queue();
    publish(&ch, &q, b"model 1", BasicProperties::default()).await;
    publish(&ch, &q, b"model 2", BasicProperties::default()).await;
    let newest = get(&ch, &q).await.expect("a model");
    assert_eq!(newest.delivery.data, b"model 2");
    assert_eq!(newest.message_count, 0);
    assert!(get(&ch, &q).await.is_none());
    topo.delete(&ch).await.unwrap();
}

#[tokio::test]
async fn a_model_past_its_time_to_live_is_gone() {
    let (_conn, ch, topo) = setup().await;
    topo.declare(&ch).await.unwrap();
    let q = topo.model_queue();
    // A TTL of 0 expires a message at once unless a consumer is waiting for it.
    publish(
        &ch,
        &q,
        b"expired",
        BasicProperties::default().with_expiration("0".into()),
    )
    .await;
    assert!(get(&ch, &q).await.is_none());
    publish(
        &ch,
        &q,
        b"live",
        BasicProperties::default().with_expiration("600000".into()),
    )
    .await;
    assert_eq!(
        get(&ch, &q).await.expect("live model").delivery.data,
        b"live"
    );
    topo.delete(&ch).await.unwrap();
}

#[test]
fn a_batch_rejected_too_often_is_dead_lettered() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_conn, ch, topo) = runtime.block_on(setup());
    let (work, dead) = (topo.scenarios_queue(), topo.dead_letter_queue());
    runtime.block_on(async {
        topo.declare(&ch).await.unwrap();
        publish(&ch, &work, b"garbage", BasicProperties::default()).await;
    });
    let mut deliveries = 0;
    let letter = eventually(
        &format!("the batch in {dead}"),
        Duration::from_secs(30),
        || {
            runtime.block_on(async {
                if let Some(m) = ch
                    .basic_get(work.as_str().into(), BasicGetOptions { no_ack: false })
                    .await
                    .unwrap()
                {
                    deliveries += 1;
                    m.delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        })
                        .await
                        .unwrap();
                }
                // Dead-lettering happens after the last reject, asynchronously: poll for it.
                get(&ch, &dead).await
            })
        },
    );
    assert_eq!(letter.delivery.data, b"garbage");
    assert_eq!(
        deliveries,
        DELIVERY_LIMIT + 1,
        "delivered once, then redelivered up to the limit"
    );
    runtime.block_on(topo.delete(&ch)).unwrap();
}

#[tokio::test]
async fn stats_queues_are_bounded() {
    let (_conn, ch, topo) = setup().await;
    topo.declare(&ch).await.unwrap();
    let q = topo.consumer_stats_queue();
    for i in 0..1010u32 {
        publish(&ch, &q, &i.to_le_bytes(), BasicProperties::default()).await;
    }
    let state = ch
        .queue_declare(
            q.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    assert_eq!(state.message_count(), 1000);
    // The oldest were dropped: the head is message 10.
    assert_eq!(
        get(&ch, &q).await.unwrap().delivery.data,
        10u32.to_le_bytes()
    );
    topo.delete(&ch).await.unwrap();
}

#[tokio::test]
async fn stats_queues_are_durable_so_rabbitmq_4_accepts_them() {
    // RabbitMQ 4.3 refuses non-durable, non-exclusive queues by default. A durable
    // redeclaration with the same arguments is accepted only if the queue is durable.
    let (conn, ch, topo) = setup().await;
    topo.declare(&ch).await.unwrap();
    let mut stats = FieldTable::default();
    stats.insert("x-max-length".into(), AMQPValue::LongLongInt(1000));
    stats.insert("x-message-ttl".into(), AMQPValue::LongLongInt(60_000));
    for q in [topo.producer_stats_queue(), topo.consumer_stats_queue()] {
        ch.queue_declare(
            q.as_str().into(),
            QueueDeclareOptions::durable(),
            stats.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{q} is not a durable queue with these arguments: {e}"));
    }
    // And the redeclaration check can fail: a non-durable one is refused.
    let refused = ch
        .queue_declare(
            topo.consumer_stats_queue().as_str().into(),
            QueueDeclareOptions::default(),
            stats,
        )
        .await;
    assert!(refused.is_err());
    let ch = conn.create_channel().await.unwrap();
    topo.delete(&ch).await.unwrap();
}

#[tokio::test]
async fn a_queue_with_other_arguments_is_named_with_the_fix() {
    let (conn, ch, topo) = setup().await;
    let mut other = FieldTable::default();
    other.insert("x-max-length".into(), AMQPValue::LongLongInt(7));
    ch.queue_declare(
        topo.results_queue().as_str().into(),
        QueueDeclareOptions::durable(),
        other,
    )
    .await
    .unwrap();
    let err = topo.declare(&ch).await.unwrap_err();
    let TopologyError::Inequivalent { what, name, .. } = &err else {
        panic!("expected an inequivalent-arguments error, got {err}");
    };
    assert_eq!(
        (*what, name.as_str()),
        ("queue", topo.results_queue().as_str())
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "queue `{}` already exists with other arguments (",
            topo.results_queue()
        )),
        "{text}"
    );
    assert!(text.ends_with(&format!(
        "); delete it (`rabbitmqctl delete_queue {}` for a queue) or choose another prefix",
        topo.results_queue()
    )));
    // The failed declaration closed the channel; clean up on a new one.
    let ch = conn.create_channel().await.unwrap();
    topo.delete(&ch).await.unwrap();
}
