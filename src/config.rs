//! Start-up configuration: one clap struct, every flag also read from a `GPO_GATEWAY_*`
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Where the gateway keeps or finds group policy operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// In-process store with demo data: no tenant, no token, no network.
    Store,
    /// Microsoft Graph REST, with each caller's bearer token.
    Graph,
}

/// GraphQL gateway over Microsoft Graph's Intune groupPolicyOperation resource.
#[derive(Debug, Clone, Parser)]
#[command(name = "gpo-gateway", version, about)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "GPO_GATEWAY_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,

    /// Backend that serves the API.
    #[arg(long, env = "GPO_GATEWAY_BACKEND", value_enum, default_value_t = BackendKind::Store)]
    pub backend: BackendKind,

    /// Store mode: load this JSON seed instead of the demo data (format of src/backend/demo_seed.json).
    #[arg(long, env = "GPO_GATEWAY_SEED", conflicts_with = "no_seed")]
    pub seed: Option<PathBuf>,

    /// Store mode: start with an empty store.
    #[arg(long, env = "GPO_GATEWAY_NO_SEED")]
    pub no_seed: bool,

    /// Store mode: most operations the store holds before creates fail with LIMIT_EXCEEDED.
    #[arg(long, env = "GPO_GATEWAY_STORE_CAPACITY", default_value_t = 100_000)]
    pub store_capacity: usize,

    /// Store mode: seconds the simulated Intune takes to process an upload or a definition
    /// file action before the file ends AVAILABLE or failed (0 to 600).
    #[arg(long, env = "GPO_GATEWAY_STORE_PROCESSING_DELAY", default_value = "2", value_parser = crate::backend::store::processing_delay)]
    pub store_processing_delay: std::time::Duration,

    /// Largest POST body accepted when its bulk is in `variables` (definition file uploads,
    /// base64), in bytes. The rest of each request (query text, extensions) stays under
    /// --max-body-bytes.
    #[arg(long, env = "GPO_GATEWAY_MAX_VARIABLES_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_variables_bytes: usize,

    /// Graph mode: Graph's version root (national clouds use other hosts).
    #[arg(
        long,
        env = "GPO_GATEWAY_GRAPH_URL",
        default_value = "https://graph.microsoft.com/beta"
    )]
    pub graph_url: String,

    /// Graph mode: seconds allowed to open a connection to Graph.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_CONNECT_TIMEOUT", default_value_t = 5.0)]
    pub graph_connect_timeout: f64,

    /// Graph mode: seconds one GraphQL field may spend on Graph, retries and waits included.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_TIMEOUT", default_value_t = 30.0)]
    pub graph_timeout: f64,

    /// Graph mode: seconds between polls of a watched operation (jittered; longer after a 429).
    #[arg(long, env = "GPO_GATEWAY_POLL_INTERVAL", default_value_t = 5.0)]
    pub poll_interval: f64,

    /// Key that signs list cursors; set it so cursors survive restarts and work across replicas.
    #[arg(long, env = "GPO_GATEWAY_CURSOR_SECRET", hide_env_values = true)]
    pub cursor_secret: Option<Secret>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "GPO_GATEWAY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most operations in one HTTP batch (a JSON array of requests).
    #[arg(long, env = "GPO_GATEWAY_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Deepest selection nesting accepted per operation.
    #[arg(long, env = "GPO_GATEWAY_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,

    /// Highest complexity (selected fields) accepted per operation.
    #[arg(long, env = "GPO_GATEWAY_MAX_COMPLEXITY", default_value_t = 2000)]
    pub max_complexity: usize,

    /// Most automatic persisted queries remembered (least recently used are dropped).
    #[arg(long, env = "GPO_GATEWAY_APQ_CACHE_SIZE", default_value_t = 1000)]
    pub apq_cache_size: usize,

    /// Origins allowed to call the gateway from a browser (comma-separated; `*` for any).
    #[arg(long, env = "GPO_GATEWAY_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Most live subscriptions on one WebSocket connection.
    #[arg(
        long,
        env = "GPO_GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 25
    )]
    pub max_subscriptions_per_connection: usize,

    /// Most live subscriptions across all connections.
    #[arg(long, env = "GPO_GATEWAY_MAX_SUBSCRIPTIONS", default_value_t = 10_000)]
    pub max_subscriptions: usize,

    /// Seconds between keep-alive messages on WebSocket connections.
    #[arg(long, env = "GPO_GATEWAY_KEEPALIVE", default_value_t = 15.0)]
    pub keepalive: f64,

    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM before exiting.
    #[arg(long, env = "GPO_GATEWAY_SHUTDOWN_TIMEOUT", default_value_t = 10.0)]
    pub shutdown_timeout: f64,
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
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}
