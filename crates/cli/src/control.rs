//! `mcp control`: pause, resume or drain consumers through the broker's control exchange.

use crate::args::{Action, ControlArgs};
use crate::commands::resolve_broker;
use anyhow::anyhow;
use mcp_broker::ControlLink;
use mcp_broker_amqp::AmqpController;
use mcp_protocol::{ControlAction, ControlCommand};

pub(crate) fn control(args: ControlArgs) -> anyhow::Result<()> {
    let action = match args.action {
        Action::Pause => ControlAction::Pause,
        Action::Resume => ControlAction::Resume,
        Action::Drain => ControlAction::Drain,
    };
    let command = ControlCommand::to(action, args.consumer);
    let url = resolve_broker(&args.broker, &args.connection)?;
    AmqpController::new(&url, &args.connection.prefix)
        .send(&command)
        .map_err(|e| anyhow!("{e}"))
}
