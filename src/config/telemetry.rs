//! The flags of what the gateway tells its operator (metrics listener, log format, request-line
//! sampling), a group of
//! their own: start-up reads them before anything else is built.

use std::net::SocketAddr;

use clap::Args;

use super::LogFormat;

/// Where metrics are served and how logs are written.
#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
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

    /// Log one in N request lines of answers under 400 that took under a second (1: every
    /// one); error statuses and slow requests are always logged.
    #[arg(long, env = "GPO_GATEWAY_REQUEST_LOG_SAMPLE", default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..))]
    pub request_log_sample: u64,
}
