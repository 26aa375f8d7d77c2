//! The `mcp` binary.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = mcp_cli::args::Cli::parse();
    init_logging(cli.log_format);
    match mcp_cli::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(mcp_cli::commands::EXIT_INPUT)
        }
    }
}

/// Warnings and errors on stderr (the level from RUST_LOG), as text coloured only on a terminal
/// or as one JSON object a line. The AMQP client's own log is off unless `RUST_LOG` asks for
/// it: mcp says in its own words what a broker failure means and whether it waits for it.
fn init_logging(format: mcp_cli::args::LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        mcp_cli::args::LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        mcp_cli::args::LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}
