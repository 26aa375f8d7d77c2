//! The `mcp` command line: argument parsing, terminal output and exit codes, over the roles.
//!
//! Everything here is glue: reading files, choosing where output goes (summaries on stdout,
//! progress and logs on stderr), and formatting the summary table. The work is done by
//! `mcp-embedded` and the crates below it. Only this crate knows clap.

pub mod args;
pub mod cluster;
pub mod commands;
pub mod dashboard;
pub mod serve;
pub mod table;
