//! Subcommands: one-off tasks the binary runs instead of serving. Adding one is a variant here
//! and an arm in `main.rs`.

use clap::{Args, Subcommand, ValueEnum};

/// A one-off task.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print the client schema (SDL), identical to `schema.graphql`, and exit without serving.
    Schema(SchemaArgs),
    /// Store mode: write the store (the --store-path database, or the seed) to FILE as seed
    /// JSON, each file with its own bytes, and exit. Load it with --seed FILE.
    ExportStore(ExportStoreArgs),
}

/// Arguments of `gpo-gateway export-store`; the store flags (`--store-path`, `--seed`, ...)
/// may come before or after it.
#[derive(Debug, Clone, Args)]
pub struct ExportStoreArgs {
    /// Where the seed JSON is written (replaced if it exists).
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
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
