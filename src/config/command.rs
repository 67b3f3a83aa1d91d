//! Subcommands: one-off tasks the binary runs instead of serving. Adding one is a variant here
//! and an arm in `main.rs`.

use clap::{Args, Subcommand, ValueEnum};

/// A one-off task.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print the client schema (SDL), identical to `schema.graphql`, and exit without serving.
    Schema(SchemaArgs),
}

/// Arguments of `gpo-gateway schema`.
#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// Print the Apollo Federation subgraph SDL instead (what a router reads from
    /// `_service { sdl }`).
    #[arg(long = "federation", id = "schema_federation")]
    pub federation: bool,
}

/// Format of the logs on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}
