//! What retrying cannot fix ends a role at once, saying which refusal it met and how to fix it:
//! a wrong password, a vhost that does not exist, a permission the broker user lacks. And the
//! permissions SECURITY.md gives for a broker user are enough to run a whole job, and no more.

use crate::support::broker::*;
use crate::support::serve::Serve;
use crate::support::*;
use mcp_broker_amqp::Topology;
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

#[test]
fn a_user_with_the_documented_permissions_runs_a_job_and_touches_no_other_prefix() {
    let _broker = shared();
    let prefix = Prefix::new();
    let [configure, write, read] = prefix.topology().permissions();
    let user = BrokerUser::new("confined", [&configure, &write, &read]);
    let url = user.url();
    let dir = tempfile::tempdir().unwrap();
    let _serve = Serve::spawn(Serve::command(&url, &prefix, &dir.path().join("h.sqlite3")));
    let _consumer = Process::spawn(consumer_command(&url, &prefix, "c"));
    let mut submit = Role::spawn(submit_wait_command(&url, &prefix, "20000"));
    let (status, stdout) = submit.finish();
    assert!(status.success(), "{}", submit.stderr.text());
    check_same_as_embedded(&serde_json::from_str(&stdout).unwrap(), "20000");

    let other = Prefix::new();
    let (code, stderr) = refused_run(consumer_command(&url, &other, "c"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("refused for user '{}'", user.name)),
        "{stderr}"
    );
    assert!(stderr.contains("SECURITY.md"), "{stderr}");
}

#[test]
fn security_md_gives_the_grant_command_the_code_makes() {
    let text = std::fs::read_to_string(mcp_testkit::project_file("SECURITY.md")).unwrap();
    let command = Topology::new("mcp").grant_command("/", "mcp-cluster");
    assert!(text.contains(&command), "SECURITY.md lacks:\n{command}");
}
