//! The flags of the serving loop (listening, connections, their timeouts, the drain), a group
//! of their own: [`crate::http::serve::serve`] is handed exactly these.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};

use super::duration::{between, ms, secs};

/// Where the gateway listens and how long and how many connections it keeps.
#[derive(Debug, Clone, Args)]
pub struct ConnectionConfig {
    /// Address and port to listen on.
    #[arg(long, env = "GPO_GATEWAY_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,

    /// How connections are run: `shared` (one multi-thread runtime) or `per-core` (one
    /// single-thread runtime and SO_REUSEPORT listener per core, caps still counted over all).
    #[arg(long, env = "GPO_GATEWAY_RUNTIME", value_enum, default_value_t = RuntimeKind::Shared)]
    pub runtime: RuntimeKind,

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
}

/// How the serving loop is laid out over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// One multi-thread runtime runs every connection and background task.
    Shared,
    /// One current-thread runtime per core, each accepting on its own listener bound with
    /// SO_REUSEPORT (the kernel spreads connections); background tasks keep a small
    /// multi-thread runtime of their own.
    PerCore,
}
