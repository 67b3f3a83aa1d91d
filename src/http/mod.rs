//! The HTTP face of the gateway, split by job: [`routes`] (paths and layers), [`negotiation`]
//! (`Accept`/`Content-Type`, CSRF), [`handlers`] (POST and GET), [`response`] (the one place an
//! error is shaped for clients), [`admission`] and [`serve`] (limits), [`apq`], [`playground`]
//! and the WebSocket protocols.
//!
//! Data flows one way: a request is checked here (size, CSRF, batch cap, persisted query),
//! given its per-request data (caller, DataLoader), executed by the schema, and answered in the
//! media type the client accepts. Nothing below this layer sees HTTP.

pub(crate) mod admission;
pub(crate) mod apq;
mod body_limits;
pub(crate) mod cors;
mod flowing;
mod handlers;
mod idempotency;
mod negotiation;
pub mod playground;
mod response;
mod routes;
pub mod serve;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderName;

use crate::backend::Backend;
use crate::graphql::GatewaySchema;
use crate::idempotency::KeyStore;
use crate::telemetry::metrics::Metrics;
use apq::PersistedQueries;

pub use idempotency::{HEADER as IDEMPOTENCY_KEY, REPLAYED as IDEMPOTENT_REPLAYED};
pub use routes::{metrics_router, router};
pub use ws::WebSocketLimits;

/// Header that correlates a request with Graph's logs; echoed on every response.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// Limits and switches of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes, unless the excess is in `variables`
    /// (`--max-body-bytes`); more gets 413.
    pub max_body_bytes: usize,
    /// Largest body when the excess over `max_body_bytes` is all in `variables` (uploads).
    pub max_variables_bytes: usize,
    /// Most requests at once with a body over `max_body_bytes`.
    pub max_large_bodies: usize,
    /// Bytes per second a body over `max_body_bytes` must bring to keep its slot (0: any).
    pub large_body_min_rate: usize,
    /// Most operations in one HTTP batch (`--max-batch`).
    pub max_batch: usize,
    /// Most automatic persisted queries remembered (`--apq-cache-size`).
    pub apq_cache_size: usize,
    /// Browser origins allowed over HTTP (CORS) and WebSocket.
    pub origins: cors::AllowedOrigins,
    /// Most live subscriptions on one WebSocket (`--max-subscriptions-per-connection`).
    pub max_subscriptions_per_connection: usize,
    /// Most live subscriptions across all connections (`--max-subscriptions`).
    pub max_subscriptions: usize,
    /// Time between keep-alive messages on WebSockets (`--keepalive`).
    pub keepalive: Duration,
    /// Most GraphQL requests over HTTP served at once; more get 503 (`--max-in-flight`).
    pub max_in_flight: usize,
    /// Time one GraphQL request over HTTP may take, body included; then 504 (`--request-timeout`).
    pub request_timeout: Duration,
    /// Most Microsoft Graph requests one GraphQL request may cause (`--graph-request-budget`).
    pub graph_request_budget: usize,
    /// Limits of the WebSocket endpoint.
    pub websocket: WebSocketLimits,
    /// Whether `/metrics` is also served on the public port (`--metrics-on-main-port`).
    pub metrics_on_main_port: bool,
    /// Smallest `/graphql` response compressed, in bytes (`--compress-min-bytes`).
    pub compress_min_bytes: u16,
    /// What `Idempotency-Key`s may hold.
    pub idempotency: crate::idempotency::Limits,
    /// How long a repeat waits for the first request with its `Idempotency-Key`.
    pub idempotency_wait: Duration,
    /// One in this many ordinary request lines is logged.
    pub request_log_sample: u64,
}

impl HttpConfig {
    /// The HTTP layer as `flags` and `keys` set it; the browsers allowed by default depend on
    /// `backend`, the per-request Graph budget and the public `/metrics` come from the Graph
    /// and telemetry groups.
    pub fn new(
        flags: &crate::config::HttpFlags,
        keys: &crate::config::keys::IdempotencyConfig,
        backend: crate::BackendKind,
        graph_request_budget: usize,
        telemetry: &crate::config::TelemetryConfig,
    ) -> Self {
        HttpConfig {
            max_body_bytes: flags.max_body_bytes,
            max_variables_bytes: flags.max_variables_bytes,
            max_large_bodies: flags.max_large_bodies,
            large_body_min_rate: flags.large_body_min_rate,
            max_batch: flags.max_batch,
            apq_cache_size: flags.apq_cache_size,
            origins: cors::AllowedOrigins::new(&flags.cors_origins, backend),
            max_subscriptions_per_connection: flags.max_subscriptions_per_connection,
            max_subscriptions: flags.max_subscriptions,
            keepalive: flags.keepalive,
            max_in_flight: flags.max_in_flight,
            request_timeout: flags.request_timeout,
            graph_request_budget,
            websocket: WebSocketLimits::new(flags),
            metrics_on_main_port: telemetry.metrics_on_main_port,
            compress_min_bytes: flags.compress_min_bytes,
            idempotency: keys.limits(),
            idempotency_wait: keys.wait,
            request_log_sample: telemetry.request_log_sample,
        }
    }
}

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    schema: GatewaySchema,
    backend: Arc<dyn Backend>,
    apq: PersistedQueries,
    config: HttpConfig,
    ready: AtomicBool,
    subscriptions: ws::Slots,
    websockets: ws::OpenWebSockets,
    keys: Arc<dyn KeyStore>,
    /// This gateway's figures: its schema's, handed over when the state is built on it.
    metrics: Metrics,
}

impl AppState {
    /// State for a router serving `schema` over `backend`, its idempotency keys in memory.
    pub fn new(schema: GatewaySchema, backend: Arc<dyn Backend>, config: HttpConfig) -> Self {
        let keys = Arc::new(crate::idempotency::MemoryKeys::new(config.idempotency));
        AppState::with_keys(schema, backend, config, keys)
    }

    /// State for a router serving `schema` over `backend`, its idempotency keys in `keys`.
    pub fn with_keys(
        schema: GatewaySchema,
        backend: Arc<dyn Backend>,
        config: HttpConfig,
        keys: Arc<dyn KeyStore>,
    ) -> Self {
        let metrics = schema.data::<Metrics>().cloned().unwrap_or_default();
        AppState {
            inner: Arc::new(Inner {
                apq: PersistedQueries::new(
                    config.apq_cache_size,
                    16 * 1024 * 1024,
                    metrics.clone(),
                ),
                metrics,
                subscriptions: ws::Slots::new(config.max_subscriptions),
                websockets: ws::OpenWebSockets::new(&config.websocket),
                schema,
                backend,
                config,
                ready: AtomicBool::new(true),
                keys,
            }),
        }
    }

    /// This gateway's metrics, the figures its `/metrics` page shows.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Which browser origins may call the gateway, in words (for the start-up banner).
    pub fn allowed_origins(&self) -> &str {
        self.inner.config.origins.summary()
    }

    /// The persisted-query cache (to add the replicas' shared tier to it).
    pub fn persisted_queries(&self) -> &PersistedQueries {
        &self.inner.apq
    }

    /// Marks the gateway as draining: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        self.inner.ready.store(false, Ordering::SeqCst);
    }
}
