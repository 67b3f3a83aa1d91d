//! The Graph-mode flags, a group of their own: the Graph backend is built from exactly these
//! (see [`crate::backend::graph::GraphBackend::new`]), and knows no other flag.

use std::time::Duration;

use clap::Args;
use clap::builder::RangedU64ValueParser;

use super::duration::{between, ms, secs};

/// Where Microsoft Graph is, how long it may take, and how much of it one request may use.
#[derive(Debug, Clone, Args)]
pub struct GraphConfig {
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

    /// Graph mode: most Microsoft Graph requests one GraphQL request may cause (each $batch
    /// sub-request, list page and retry counts; an HTTP batch shares one budget, each WebSocket
    /// operation has its own). Fields beyond it get LIMIT_EXCEEDED.
    #[arg(long, env = "GPO_GATEWAY_GRAPH_REQUEST_BUDGET", default_value_t = 200,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub graph_request_budget: usize,
}
