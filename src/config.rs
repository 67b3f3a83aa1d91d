//! Start-up configuration: one clap struct, every flag also read from a `GPO_GATEWAY_*`
//! environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Parser, ValueEnum};

pub mod cluster;
pub mod command;
pub mod duration;
pub mod keys;
pub mod origins;

pub use command::{Command, LogFormat};

use duration::between;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

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

    /// Store mode: time the simulated Intune takes to process an upload or a definition file
    /// action before the file ends AVAILABLE or failed (0 to 10m).
    #[arg(long, env = "GPO_GATEWAY_STORE_PROCESSING_DELAY", default_value = "2s",
          value_name = "DURATION", value_parser = between(Duration::ZERO, secs(600)))]
    pub store_processing_delay: Duration,

    /// Largest POST body accepted when its bulk is in `variables` (definition file uploads,
    /// base64), in bytes. The rest of each request (query text, extensions) stays under
    /// --max-body-bytes.
    #[arg(long, env = "GPO_GATEWAY_MAX_VARIABLES_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_variables_bytes: usize,

    /// Most requests at once whose body is over --max-body-bytes (uploads); more get 503 with
    /// Retry-After. Such a body must declare its length: without one, --max-body-bytes applies.
    #[arg(long, env = "GPO_GATEWAY_MAX_LARGE_BODIES", default_value_t = 4,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_large_bodies: usize,

    /// Bytes per second a body over --max-body-bytes must keep bringing, measured each second,
    /// to keep its slot; a slower one gets 408 and its connection closes (0: no minimum).
    #[arg(long, env = "GPO_GATEWAY_LARGE_BODY_MIN_RATE", default_value_t = 16 * 1024)]
    pub large_body_min_rate: usize,

    /// Store mode: keep the store in this SQLite file (created if missing) so it survives
    /// restarts and crashes; every write is on disk before it is answered. Unset: in memory.
    #[arg(long, env = "GPO_GATEWAY_STORE_PATH", value_name = "FILE")]
    pub store_path: Option<std::path::PathBuf>,

    /// Store mode: most bytes the store holds (files' ADMX and ADML contents, work being
    /// processed, and 128 bytes plus the statusDetails of each operation); a write that would
    /// go over fails with LIMIT_EXCEEDED.
    #[arg(long, env = "GPO_GATEWAY_STORE_MAX_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub store_max_bytes: usize,

    /// Store mode: write the store (the --store-path database, or the seed) to FILE as seed
    /// JSON, each file with its own bytes, and exit. Load it with --seed FILE.
    #[arg(long, env = "GPO_GATEWAY_EXPORT_STORE", value_name = "FILE")]
    pub export_store: Option<std::path::PathBuf>,

    /// `Idempotency-Key` records: how many, how large, how long a repeat waits.
    #[command(flatten)]
    pub idempotency: keys::IdempotencyConfig,

    /// Graph mode: Graph's version root (national clouds use other hosts).
    #[arg(
        long,
        env = "GPO_GATEWAY_GRAPH_URL",
        default_value = "https://graph.microsoft.com/beta"
    )]
    pub graph_url: String,

    /// Graph mode: time allowed to open a connection to Graph (100ms to 5m).
    #[arg(long, env = "GPO_GATEWAY_GRAPH_CONNECT_TIMEOUT", default_value = "5s",
          value_name = "DURATION", value_parser = between(ms(100), secs(300)))]
    pub graph_connect_timeout: Duration,

    /// Graph mode: time one GraphQL field may spend on Graph, retries and waits included
    /// (100ms to 10m).
    #[arg(long, env = "GPO_GATEWAY_GRAPH_TIMEOUT", default_value = "30s",
          value_name = "DURATION", value_parser = between(ms(100), secs(600)))]
    pub graph_timeout: Duration,

    /// Graph mode: time between polls of a watched operation (jittered; longer after a 429;
    /// 50ms to 1h).
    #[arg(long, env = "GPO_GATEWAY_POLL_INTERVAL", default_value = "5s",
          value_name = "DURATION", value_parser = between(ms(50), secs(3600)))]
    pub poll_interval: Duration,

    /// Graph mode: read operations through the `groupPolicyOperations` navigation routes
    /// (`GET .../{fileId}/groupPolicyOperations[/{id}]`, `$top`, nextLinks) instead of the
    /// file's `$expand=groupPolicyOperations`, for tenants where Intune serves them.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_NAVIGATION_READS")]
    pub graph_navigation_reads: bool,

    /// Graph mode: largest answer body read from Graph, in bytes; a larger one is refused as
    /// UPSTREAM_ERROR without being held in memory.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024,
          value_parser = RangedU64ValueParser::<usize>::new().range(1024..))]
    pub graph_max_body_bytes: usize,

    /// Graph mode: most bytes of Graph answers being read at once, all requests together; an
    /// answer waits for room (a larger one, or one of unknown length with no room left, is
    /// LIMIT_EXCEEDED). Keep it at least --graph-max-body-bytes.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_ANSWER_BYTES_IN_FLIGHT", default_value_t = 64 * 1024 * 1024,
          value_parser = RangedU64ValueParser::<usize>::new().range(1024..=u64::from(u32::MAX)))]
    pub graph_answer_bytes_in_flight: usize,

    /// Key that signs list cursors; set it so cursors survive restarts and work across replicas.
    #[arg(long, env = "GPO_GATEWAY_CURSOR_SECRET", hide_env_values = true)]
    pub cursor_secret: Option<Secret>,

    /// Graph mode: most Microsoft Graph requests one GraphQL request may cause (each $batch
    /// sub-request, list page and retry counts; an HTTP batch shares one budget, each WebSocket
    /// operation has its own). Fields beyond it get LIMIT_EXCEEDED.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_REQUEST_BUDGET", default_value_t = 200,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub graph_request_budget: usize,

    /// Time a WebSocket client has to send `connection_init` before it is closed with 4408
    /// (100ms to 5m).
    #[arg(long, env = "GPO_GATEWAY_WS_INIT_TIMEOUT", default_value = "5s",
          value_name = "DURATION", value_parser = between(ms(100), secs(300)))]
    pub ws_init_timeout: Duration,

    /// Most open WebSocket connections in total; more get 503 with Retry-After.
    #[arg(long, env = "GPO_GATEWAY_MAX_WEBSOCKETS", default_value_t = 256,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_websockets: usize,

    /// Most open WebSocket connections from one client IP address; more get 503 with
    /// Retry-After (raise it behind a reverse proxy).
    #[arg(long, env = "GPO_GATEWAY_MAX_WEBSOCKETS_PER_ADDRESS", default_value_t = 32,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_websockets_per_address: usize,

    /// Most bytes waiting to be sent to one WebSocket client; beyond it the connection pauses
    /// until the client reads.
    #[arg(long, env = "GPO_GATEWAY_WS_MAX_QUEUED_BYTES", default_value_t = 256 * 1024,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub ws_max_queued_bytes: usize,

    /// Time a WebSocket client may leave more than --ws-max-queued-bytes unread, or one
    /// message unsent, before it is disconnected (100ms to 10m).
    #[arg(long, env = "GPO_GATEWAY_WS_STALL_TIMEOUT", default_value = "10s",
          value_name = "DURATION", value_parser = between(ms(100), secs(600)))]
    pub ws_stall_timeout: Duration,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "GPO_GATEWAY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most operations in one HTTP batch (a JSON array of requests).
    #[arg(long, env = "GPO_GATEWAY_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Deepest selection nesting accepted per operation.
    #[arg(long, env = "GPO_GATEWAY_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,

    /// Highest cost accepted per operation: fields after expanding fragments, the selection of
    /// a paged field counted `first` times (25 when omitted).
    #[arg(long, env = "GPO_GATEWAY_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,

    /// Most GraphQL tokens in one document, counted before it is parsed (parsing costs about
    /// 1 µs per token).
    #[arg(long, env = "GPO_GATEWAY_MAX_TOKENS", default_value_t = 5_000)]
    pub max_tokens: usize,

    /// Most aliased fields per operation, after expanding fragments.
    #[arg(long, env = "GPO_GATEWAY_MAX_ALIASES", default_value_t = 500)]
    pub max_aliases: usize,

    /// Most root fields per operation, after expanding fragments.
    #[arg(long, env = "GPO_GATEWAY_MAX_ROOT_FIELDS", default_value_t = 500)]
    pub max_root_fields: usize,

    /// Most directives in one document (`@skip`, `@include`).
    #[arg(long, env = "GPO_GATEWAY_MAX_DIRECTIVES", default_value_t = 100)]
    pub max_directives: usize,

    /// Largest response of one operation (or subscription event), in bytes of JSON.
    #[arg(long, env = "GPO_GATEWAY_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Largest answer to one HTTP batch, in bytes of JSON.
    #[arg(long, env = "GPO_GATEWAY_MAX_BATCH_RESPONSE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_batch_response_bytes: usize,

    /// Most errors in one response; further errors are summed up in one more.
    #[arg(long, env = "GPO_GATEWAY_MAX_ERRORS", default_value_t = 100)]
    pub max_errors: usize,

    /// Production profile: no introspection and no "did you mean" suggestions.
    #[arg(long, env = "GPO_GATEWAY_PRODUCTION")]
    pub production: bool,

    /// Serve Apollo Federation's `_service` and `_entities` (for a federated router).
    #[arg(long, env = "GPO_GATEWAY_FEDERATION")]
    pub federation: bool,

    /// Most automatic persisted queries remembered (least recently used are dropped).
    #[arg(long, env = "GPO_GATEWAY_APQ_CACHE_SIZE", default_value_t = 1000)]
    pub apq_cache_size: usize,

    /// Most parsed GraphQL documents kept for reuse, so a repeated query is not parsed again
    /// (least recently used are dropped; 0 turns the cache off).
    #[arg(long, env = "GPO_GATEWAY_DOCUMENT_CACHE_SIZE", default_value_t = 1000)]
    pub document_cache_size: usize,

    /// Most bytes the parsed-document cache may hold, estimated as each query's length plus
    /// 96 bytes per token.
    #[arg(long, env = "GPO_GATEWAY_DOCUMENT_CACHE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub document_cache_bytes: usize,

    /// Browser origins allowed to call the gateway over HTTP and WebSocket (comma-separated
    /// scheme://host[:port]; `:*` for any port, `*.` for subdomains, `*` for any origin).
    /// Unset: store mode allows http://localhost:* and http://127.0.0.1:*, graph mode none.
    #[arg(long, env = "GPO_GATEWAY_CORS_ORIGINS", value_delimiter = ',',
          value_parser = origins::flag_value)]
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

    /// Time between keep-alive messages on WebSocket connections (100ms to 1h).
    #[arg(long, env = "GPO_GATEWAY_KEEPALIVE", default_value = "15s",
          value_name = "DURATION", value_parser = between(ms(100), secs(3600)))]
    pub keepalive: Duration,

    /// Time to let in-flight requests finish after SIGINT/SIGTERM before exiting; the exit
    /// status is non-zero when requests had to be cut off (0 to 1h).
    #[arg(long, env = "GPO_GATEWAY_SHUTDOWN_TIMEOUT", default_value = "10s",
          value_name = "DURATION", value_parser = between(Duration::ZERO, secs(3600)))]
    pub shutdown_timeout: Duration,

    /// Time a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open); then the connection is closed (100ms to 5m).
    #[arg(long, env = "GPO_GATEWAY_HEADER_READ_TIMEOUT", default_value = "5s",
          value_name = "DURATION", value_parser = between(ms(100), secs(300)))]
    pub header_read_timeout: Duration,

    /// Time a client has to send a whole request body; then it gets 408 and the connection is
    /// closed (100ms to 10m).
    #[arg(long, env = "GPO_GATEWAY_BODY_READ_TIMEOUT", default_value = "10s",
          value_name = "DURATION", value_parser = between(ms(100), secs(600)))]
    pub body_read_timeout: Duration,

    /// Time an answer may wait for its client to read any of it; then the connection is
    /// closed (100ms to 10m).
    #[arg(long, env = "GPO_GATEWAY_WRITE_TIMEOUT", default_value = "30s",
          value_name = "DURATION", value_parser = between(ms(100), secs(600)))]
    pub write_timeout: Duration,

    /// Most answer bytes waiting for slow readers, over all connections; beyond it a new
    /// answer over 64 KiB is replaced by 503 with Retry-After.
    #[arg(long, env = "GPO_GATEWAY_MAX_PENDING_RESPONSE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_pending_response_bytes: usize,

    /// Most open connections (WebSockets included); beyond it a client gets 503 with
    /// Retry-After and the connection is closed.
    #[arg(long, env = "GPO_GATEWAY_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,

    /// Most open connections from one client IP address (raise it behind a reverse proxy).
    #[arg(long, env = "GPO_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections_per_address: usize,

    /// Most GraphQL requests over HTTP being served at once; beyond it 503 with Retry-After.
    #[arg(long, env = "GPO_GATEWAY_MAX_IN_FLIGHT", default_value_t = 256,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_in_flight: usize,

    /// Time one GraphQL request over HTTP may take, body included; beyond it 504 with
    /// LIMIT_EXCEEDED (100ms to 1h).
    #[arg(long, env = "GPO_GATEWAY_REQUEST_TIMEOUT", default_value = "60s",
          value_name = "DURATION", value_parser = between(ms(100), secs(3600)))]
    pub request_timeout: Duration,

    // Operability (issue 12): metrics, logs, compression, subcommands.
    /// Address and port of a separate listener that serves Prometheus metrics on `/metrics`
    /// (the usual production choice); no metrics listener when unset.
    #[arg(long, env = "GPO_GATEWAY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Also serve `/metrics` on the public port (off by default: figures about traffic are
    /// for the operator, not for every client).
    #[arg(long, env = "GPO_GATEWAY_METRICS_ON_MAIN_PORT")]
    pub metrics_on_main_port: bool,

    /// Format of the logs on stderr: `text` for people, `json` (one object per line) for a
    /// log collector.
    #[arg(long, env = "GPO_GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Smallest `/graphql` response compressed (gzip, brotli or zstd, as `Accept-Encoding`
    /// allows); smaller ones are sent as they are.
    #[arg(long, env = "GPO_GATEWAY_COMPRESS_MIN_BYTES", default_value_t = 1024,
          value_parser = RangedU64ValueParser::<u16>::new())]
    pub compress_min_bytes: u16,

    // The tenant's Graph budget and Redis (issue 18).
    #[command(flatten)]
    pub budget: cluster::BudgetConfig,

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
