//! What retrying cannot fix ends a role at once, saying which refusal it met and how to fix it:
//! a wrong password, a vhost that does not exist, a permission the broker user lacks. And the
//! permissions SECURITY.md gives for a broker user are enough to run a whole job, and no more.

use crate::support::broker::*;
use crate::support::serve::Serve;
use crate::support::*;
use mcp_broker_amqp::{BrokerRole, Topology};
use std::process::{Command, Stdio};

/// The command lines of every role on `broker` under `prefix`, each with a name.
fn roles(broker: &str, prefix: &Prefix, dir: &std::path::Path) -> Vec<(&'static str, Command)> {
    let mut serve = Serve::command(broker, prefix, &dir.join("history.sqlite3"));
    serve.stdout(Stdio::null());
    let mut control = mcp_command(&[
        "control", "pause", "--broker", broker, "--prefix", &prefix.0,
    ]);
    control.stdout(Stdio::null());
    vec![
        ("consumer", consumer_command(broker, prefix, "c")),
        ("serve", serve),
        ("submit", submit_wait_command(broker, prefix, "10000")),
        ("control", control),
    ]
}

/// Runs `command` to its end; its exit code and what it printed on stderr.
fn refused_run(mut command: Command) -> (Option<i32>, String) {
    command.stdout(Stdio::null()).env_remove("RUST_LOG");
    let mut role = Role::spawn(command);
    let (status, _) = role.finish();
    (status.code(), role.stderr.text().to_string())
}

#[test]
fn a_wrong_password_or_a_missing_vhost_ends_every_role_at_once_with_the_fix() {
    let _broker = shared();
    let prefix = Prefix::new();
    let dir = tempfile::tempdir().unwrap();
    let url = broker_url();
    let host = url.rsplit_once('@').unwrap().1;
    let wrong_password = format!("amqp://guest:not-the-password@{host}");
    for (role, command) in roles(&wrong_password, &prefix, dir.path()) {
        let (code, stderr) = refused_run(command);
        assert_eq!(code, Some(1), "mcp {role}: {stderr}");
        assert!(
            stderr.contains(
                "refused the login of user `guest`: the user name or the password is wrong"
            ),
            "mcp {role}: {stderr}"
        );
        assert!(
            !stderr.contains("waiting for RabbitMQ"),
            "mcp {role} waited: {stderr}"
        );
        assert!(
            !stderr.contains("lapin"),
            "mcp {role} printed the client's log: {stderr}"
        );
        assert!(
            !stderr.contains("not-the-password"),
            "mcp {role} printed the password"
        );
    }
    let host = host.split('/').next().unwrap();
    let no_vhost = format!("amqp://guest:guest@{host}/no-such-vhost");
    for (role, command) in roles(&no_vhost, &prefix, dir.path()).into_iter().take(1) {
        let (code, stderr) = refused_run(command);
        assert_eq!(code, Some(1), "mcp {role}: {stderr}");
        assert!(
            stderr.contains("has no vhost `no-such-vhost` for user `guest`: create it (`rabbitmqctl add_vhost no-such-vhost`)"),
            "mcp {role}: {stderr}"
        );
    }
}

/// Whether the user of `url` may do `what` (an operation on a fresh confirming channel);
/// `Err` with the broker's words when it is refused.
fn may<F, Fut>(url: &str, what: F) -> Result<(), String>
where
    F: FnOnce(lapin::Channel) -> Fut,
    Fut: std::future::Future<Output = Result<(), lapin::Error>>,
{
    runtime().block_on(async {
        let conn = mcp_broker_amqp::connect(url, "permission probe")
            .await
            .map_err(|e| e.to_string())?;
        let ch = confirming_channel(&conn).await;
        what(ch).await.map_err(|e| e.to_string())
    })
}

/// Whether the user of `url` may publish to `exchange` (confirmed).
fn may_publish(url: &str, exchange: &str) -> Result<(), String> {
    may(url, |ch| async move {
        ch.basic_publish(
            exchange.into(),
            "".into(),
            lapin::options::BasicPublishOptions::default(),
            b"probe",
            lapin::BasicProperties::default(),
        )
        .await?
        .await
        .map(|_| ())
    })
}

/// Whether the user of `url` may take messages from `queue`.
fn may_read(url: &str, queue: &str) -> Result<(), String> {
    may(url, |ch| async move {
        ch.basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: false },
        )
        .await
        .map(|_| ())
    })
}

fn assert_refused(outcome: Result<(), String>, what: &str) {
    match outcome {
        Err(e) if e.contains("ACCESS_REFUSED") => {}
        other => panic!("{what} was not refused: {other:?}"),
    }
}

#[test]
fn every_role_runs_with_a_broker_user_of_its_own_that_may_do_nothing_else() {
    let _broker = shared();
    let prefix = Prefix::new();
    let topology = prefix.topology();
    let users: Vec<(BrokerRole, BrokerUser)> = BrokerRole::ALL
        .iter()
        .map(|&role| {
            let [c, w, r] = topology.permissions(role);
            (role, BrokerUser::new(role.name(), [&c, &w, &r]))
        })
        .collect();
    let url = |role: BrokerRole| users.iter().find(|(r, _)| *r == role).unwrap().1.url();

    // A consumer started before the coordinator may not declare the topology: it waits for it,
    // saying what to start.
    let mut consumer = Role::spawn(consumer_command(&url(BrokerRole::Consumer), &prefix, "c"));
    consumer
        .stderr
        .wait_for("may not declare it: start `mcp serve` under the same --prefix");
    let dir = tempfile::tempdir().unwrap();
    let serve_command = Serve::command(
        &url(BrokerRole::Serve),
        &prefix,
        &dir.path().join("h.sqlite3"),
    );
    let serve = Serve::spawn(serve_command);
    serve.wait_for("/api/consumers", |c| c.as_array().unwrap().len() == 1);
    let mut submit = Role::spawn(submit_wait_command(
        &url(BrokerRole::Producer),
        &prefix,
        "20000",
    ));
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "20000");
    let control = mcp(&[
        "control",
        "pause",
        "--broker",
        &url(BrokerRole::Control),
        "--prefix",
        &prefix.0,
    ]);
    assert!(control.status.success(), "{}", stderr(&control));
    serve.wait_for("/api/consumers", |c| c[0]["state"] == "paused");
    assert!(consumer.process.running());

    // Each user may do its role's work and nothing else.
    let consumer_url = url(BrokerRole::Consumer);
    assert_refused(
        may_publish(&consumer_url, &topology.jobs_exchange()),
        "a consumer announcing a job",
    );
    assert_refused(
        may_publish(&consumer_url, &topology.model_exchange()),
        "a consumer publishing a model",
    );
    assert_refused(
        may_publish(&consumer_url, &topology.control_exchange()),
        "a consumer sending a command",
    );
    assert_refused(
        may_read(&consumer_url, &topology.results_queue()),
        "a consumer reading results",
    );
    let producer_url = url(BrokerRole::Producer);
    assert_refused(
        may_publish(&producer_url, &topology.results_exchange()),
        "a producer publishing a result",
    );
    assert_refused(
        may_publish(&producer_url, &topology.consumer_stats_exchange()),
        "a producer sending a heartbeat",
    );
    assert_refused(
        may_publish(&producer_url, &topology.control_exchange()),
        "a producer sending a command",
    );
    assert_refused(
        may_read(&producer_url, &topology.results_queue()),
        "a producer reading the results",
    );
    assert_refused(
        may_read(&producer_url, &topology.scenarios_queue()),
        "a producer taking batches",
    );
    let control_url = url(BrokerRole::Control);
    assert_refused(
        may_publish(&control_url, &topology.jobs_exchange()),
        "the operator's user announcing a job",
    );
    assert_refused(
        may_read(&control_url, &topology.model_queue()),
        "the operator's user reading the model",
    );
    // What they may do, they may: the probes above are not refused for another reason.
    assert_eq!(
        may_publish(&producer_url, &topology.producer_stats_exchange()),
        Ok(())
    );
    assert_eq!(may_read(&consumer_url, &topology.model_queue()), Ok(()));

    // And no user reaches another installation's prefix.
    let other = Prefix::new();
    let (runtime, conn) = connect("other prefix");
    runtime.block_on(async {
        let ch = conn.create_channel().await.unwrap();
        other.topology().declare(&ch).await.unwrap();
    });
    let (code, stderr) = refused_run(consumer_command(&url(BrokerRole::Serve), &other, "c"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("refused for user 'mcp-test-"), "{stderr}");
    assert!(stderr.contains("SECURITY.md"), "{stderr}");
}

#[test]
fn security_md_gives_the_grant_commands_the_code_makes() {
    let text = std::fs::read_to_string(mcp_testkit::project_file("SECURITY.md")).unwrap();
    for role in BrokerRole::ALL {
        let user = format!("mcp-{}", role.name());
        let command = Topology::new("mcp").grant_command("/", &user, role);
        assert!(text.contains(&command), "SECURITY.md lacks:\n{command}");
    }
}

/// Sets RabbitMQ's `max_message_size` (for new channels) until dropped, then puts back 3.x's
/// default of 128 MiB.
struct MaxMessageSize;

impl MaxMessageSize {
    fn set(bytes: usize) -> MaxMessageSize {
        let set = format!("application:set_env(rabbit, max_message_size, {bytes}).");
        rabbitmqctl(&["eval", &set]);
        MaxMessageSize
    }
}

impl Drop for MaxMessageSize {
    fn drop(&mut self) {
        rabbitmqctl(&[
            "eval",
            "application:set_env(rabbit, max_message_size, 134217728).",
        ]);
    }
}

#[test]
fn a_message_over_the_brokers_limit_is_refused_at_submission_or_ends_the_producer_at_once() {
    let prefix = Prefix::new();
    let (model, spec) = pricing();
    let args = submit_args(
        &prefix,
        model.to_str().unwrap(),
        spec.to_str().unwrap(),
        "1000",
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Told the limit, mcp refuses the job before publishing anything.
    let told = mcp(&[&args[..], &["--max-message-mib", "0"]].concat());
    assert_eq!(told.status.code(), Some(1));
    assert!(
        stderr(&told).contains("more than the broker's message limit of 0.0 MiB"),
        "{}",
        stderr(&told)
    );
    assert_eq!(queue_state(&prefix.topology().model_queue()).0, 0);
    // Not told, the broker's refusal ends the producer at once, saying what to do, rather
    // than a retry that can never succeed.
    let _broker = exclusive();
    let _limit = MaxMessageSize::set(64 << 10);
    let refused = mcp(&args);
    assert_eq!(refused.status.code(), Some(1));
    let said = stderr(&refused);
    assert!(
        said.contains("is larger than configured max size 65536")
            && said.contains("--max-message-mib")
            && !said.contains("waiting for RabbitMQ"),
        "{said}"
    );
}
