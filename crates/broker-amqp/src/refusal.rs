//! What retrying cannot fix: RabbitMQ refused the login, has no such vhost, or refused the
//! user a permission. These end a role at once with what to do, instead of "waiting for
//! RabbitMQ" forever; refused or dropped connections, a broker starting up and resource alarms
//! still heal, and are waited for.

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use mcp_broker::BrokerError;

/// The user and vhost a broker URL names (`guest` and `/` when it names none), for messages.
pub fn user_and_vhost(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (credentials, host) = rest.rsplit_once('@').unwrap_or(("", rest));
    let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
    let user = if user.is_empty() { "guest" } else { user };
    let vhost = host
        .split_once('/')
        .map(|(_, v)| v.split('?').next().unwrap_or_default())
        .filter(|v| !v.is_empty())
        .map_or_else(|| "/".to_string(), percent_decode);
    (percent_decode(user), vhost)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The refusal in `e`, if it is one, said for the user of `url` (at connection time; later the
/// broker's own words name user and vhost), with the fix.
pub(crate) fn refusal(e: &lapin::Error, url: Option<&str>) -> Option<String> {
    let lapin::ErrorKind::ProtocolError(amqp) = e.kind() else {
        return None;
    };
    let message = amqp.get_message().as_str();
    let (user, vhost) = url.map_or_else(|| ("?".into(), "?".into()), user_and_vhost);
    let at = url.map_or_else(|| "the broker".to_string(), crate::redact);
    match amqp.kind() {
        AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
            if message.contains("Login was refused") =>
        {
            Some(format!(
                "RabbitMQ at {at} refused the login of user `{user}`: the user name or the \
                 password is wrong; give the right ones in the URL, in MCP_BROKER or in the \
                 --broker-credentials file (`rabbitmqctl authenticate_user {user} PASSWORD` \
                 checks a pair)"
            ))
        }
        AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED) => Some(format!(
            "RabbitMQ refused: {}; grant the user mcp's queues and exchanges (SECURITY.md, \
             \"Broker users and permissions\", gives the `rabbitmqctl set_permissions` command \
             for each role)",
            message.trim_start_matches("ACCESS_REFUSED - ")
        )),
        AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
            if message.contains("larger than configured max size") =>
        {
            Some(format!(
                "RabbitMQ refused a message: {}; the broker's max_message_size (16 MiB by \
                 default on RabbitMQ 4) is below what this job sends: give the broker's limit \
                 with --max-message-mib (MCP_MAX_MESSAGE_MIB) so that such jobs are refused at \
                 submission, or raise max_message_size in rabbitmq.conf",
                message.trim_start_matches("PRECONDITION_FAILED - ")
            ))
        }
        AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED) if message.contains("vhost") => {
            Some(format!(
                "RabbitMQ at {at} has no vhost `{vhost}` for user `{user}`: create it \
                 (`rabbitmqctl add_vhost {vhost}`) and let the user in (`rabbitmqctl \
                 set_permissions -p {vhost} {user} ...`), or name an existing vhost in the URL"
            ))
        }
        _ => None,
    }
}

/// Whether `e` is RabbitMQ refusing a permission (not a login).
pub(crate) fn is_access_refused(e: &lapin::Error) -> bool {
    let lapin::ErrorKind::ProtocolError(amqp) = e.kind() else {
        return false;
    };
    matches!(
        amqp.kind(),
        AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
    ) && !amqp.get_message().as_str().contains("Login was refused")
}

/// A topology error met after connecting (declaring or binding): a refused permission is
/// [`BrokerError::Misconfigured`], an inequivalent queue too, anything else passes.
pub(crate) fn topology_err(e: crate::TopologyError) -> BrokerError {
    match &e {
        crate::TopologyError::Inequivalent { .. } => BrokerError::Misconfigured(e.to_string()),
        crate::TopologyError::Broker { source, .. } => match refusal(source, None) {
            Some(message) => BrokerError::Misconfigured(message),
            None => BrokerError::Other(e.to_string()),
        },
    }
}

/// A lapin error as a [`BrokerError`]: a refusal is [`BrokerError::Misconfigured`] (retrying
/// cannot help), anything else [`BrokerError::Other`] with `context`.
pub(crate) fn classify(e: &lapin::Error, url: Option<&str>, context: &str) -> BrokerError {
    match refusal(e, url) {
        Some(message) => BrokerError::Misconfigured(message),
        None => BrokerError::Other(format!("{context}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_and_vhost_come_from_the_url() {
        let cases = [
            ("amqp://guest:guest@127.0.0.1:5672/%2f", ("guest", "/")),
            ("amqp://mcp%40x:p@host/prod", ("mcp@x", "prod")),
            ("amqps://u:p@host:5671/a%2Fb?heartbeat=10", ("u", "a/b")),
            ("amqp://host", ("guest", "/")),
            ("amqp://host/", ("guest", "/")),
        ];
        for (url, (user, vhost)) in cases {
            assert_eq!(
                user_and_vhost(url),
                (user.to_string(), vhost.to_string()),
                "{url}"
            );
        }
    }
}
