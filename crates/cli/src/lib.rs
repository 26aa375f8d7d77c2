//! The `mcp` command line: argument parsing, terminal output and exit codes, over the roles.
//!
//! Everything here is glue: reading files, building the parts a command needs (a broker
//! connection, the roles, the HTTP server), choosing where output goes (summaries on stdout,
//! progress and logs on stderr), and formatting the summary table. One module per command; the
//! work is done by the role crates, `mcp-embedded` and `mcp-server`. Only this crate knows clap.

mod api;
pub mod args;
pub mod commands;
mod compare;
mod consumer;
mod control;
mod fit;
mod inspect;
mod interrupt;
mod job_source;
mod new;
mod replay;
mod report;
mod rerun;
mod results;
mod risk_table;
mod serve;
mod sobol_table;
mod submit;
pub mod table;
mod tornado_table;
