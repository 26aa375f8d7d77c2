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

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
