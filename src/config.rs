//! Start-up configuration: one clap struct made of one group per layer, every flag also read
//! from a `GPO_GATEWAY_*` environment variable.

use clap::{Parser, ValueEnum};

pub mod cluster;
pub mod command;
pub mod connections;
pub mod duration;
pub mod graph;
pub mod http;
pub mod keys;
pub mod origins;
pub mod query;
pub mod store;
pub mod telemetry;

pub use command::{Command, LogFormat};
pub use connections::ConnectionConfig;
pub use graph::GraphConfig;
pub use http::HttpFlags;
pub use query::QueryConfig;
pub use store::StoreConfig;
pub use telemetry::TelemetryConfig;

/// Where the gateway keeps or finds group policy operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// In-process store with demo data: no tenant, no token, no network.
    Store,
    /// Microsoft Graph REST, with each caller's bearer token.
    Graph,
}

/// GraphQL gateway over Microsoft Graph's Intune groupPolicyOperation resource.
///
/// One group of flags per layer, each flattened so every flag stays a top-level flag and each
/// layer is handed its own group whole when it is built.
#[derive(Debug, Clone, Parser)]
#[command(name = "gpo-gateway", version, about)]
pub struct Config {
    /// Backend that serves the API.
    #[arg(long, env = "GPO_GATEWAY_BACKEND", value_enum, default_value_t = BackendKind::Store)]
    pub backend: BackendKind,

    /// Listening, connections and the drain (the serving loop).
    #[command(flatten)]
    pub connections: connections::ConnectionConfig,

    /// Bodies, batches, browsers and WebSockets (the HTTP layer).
    #[command(flatten)]
    pub http: http::HttpFlags,

    /// Caps on one operation and its answer (the GraphQL layer).
    #[command(flatten)]
    pub query: query::QueryConfig,

    /// The in-process store (store mode).
    #[command(flatten)]
    pub store: store::StoreConfig,

    /// Microsoft Graph (graph mode).
    #[command(flatten)]
    pub graph: graph::GraphConfig,

    /// `Idempotency-Key` records: how many, how large, how long a repeat waits.
    #[command(flatten)]
    pub idempotency: keys::IdempotencyConfig,

    /// Key that signs list cursors; set it so cursors survive restarts and work across replicas.
    #[arg(long, env = "GPO_GATEWAY_CURSOR_SECRET", hide_env_values = true)]
    pub cursor_secret: Option<Secret>,

    /// Metrics listener and log format.
    #[command(flatten)]
    pub telemetry: telemetry::TelemetryConfig,

    // The tenant's Graph budget and Redis (issue 18).
    /// The tenant's Graph budget: its rates, the pollers' share and how long a request waits.
    #[command(flatten)]
    pub budget: cluster::BudgetConfig,

    /// The Redis through which replicas share budgets, persisted queries and idempotency keys.
    #[command(flatten)]
    pub redis: cluster::RedisConfig,

    /// A one-off task instead of serving (see `gpo-gateway help`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Config {
    /// The defaults, as if started with no flags and no environment (for tests and embedding).
    pub fn defaults() -> Self {
        Config::parse_from(["gpo-gateway"])
    }
}

/// A configured secret: usable, but never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    /// An empty key would sign cursors anyone can forge: refused, like a missing value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err("must not be empty (unset it to get a random key per process)".to_owned());
        }
        Ok(Secret(s.to_owned()))
    }
}

#[cfg(test)]
mod tests;
