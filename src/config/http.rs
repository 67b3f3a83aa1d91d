//! The flags of the HTTP layer (bodies, batches, in-flight requests, browsers, WebSockets),
//! a group of their own: [`crate::http::HttpConfig::new`] is built from exactly these.

use std::time::Duration;

use clap::Args;
use clap::builder::RangedU64ValueParser;

use super::duration::{between, ms, secs};
use super::origins;

/// What one request, one batch and one WebSocket may bring and hold.
#[derive(Debug, Clone, Args)]
pub struct HttpFlags {
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

    /// Most automatic persisted queries remembered (least recently used are dropped).
    #[arg(long, env = "GPO_GATEWAY_APQ_CACHE_SIZE", default_value_t = 1000)]
    pub apq_cache_size: usize,

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

    /// Most GraphQL requests over HTTP being served at once; beyond it 503 with Retry-After.
    #[arg(long, env = "GPO_GATEWAY_MAX_IN_FLIGHT", default_value_t = 256,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_in_flight: usize,

    /// Time one GraphQL request over HTTP may take, body included; beyond it 504 with
    /// LIMIT_EXCEEDED (100ms to 1h).
    #[arg(long, env = "GPO_GATEWAY_REQUEST_TIMEOUT", default_value = "60s",
          value_name = "DURATION", value_parser = between(ms(100), secs(3600)))]
    pub request_timeout: Duration,

    /// Smallest `/graphql` response compressed (gzip, brotli or zstd, as `Accept-Encoding`
    /// allows); smaller ones are sent as they are.
    #[arg(long, env = "GPO_GATEWAY_COMPRESS_MIN_BYTES", default_value_t = 1024,
          value_parser = RangedU64ValueParser::<u16>::new())]
    pub compress_min_bytes: u16,
}
