//! The `mcp` binary.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = mcp_cli::args::Cli::parse();
    init_logging();
    match mcp_cli::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(mcp_cli::commands::EXIT_INPUT)
        }
    }
}

/// Warnings and errors on stderr, colored only on a terminal. The AMQP client's own log is
/// off unless `RUST_LOG` asks for it: mcp says in its own words what a broker failure means
/// and whether it waits for it.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
