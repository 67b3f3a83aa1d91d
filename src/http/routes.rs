//! The router: which path and method reach which handler, and the layers every request passes
//! (body limit, CORS, request logs; load shedding and response compression on `/graphql`), and
//! the metrics endpoint (on its own listener, or on the public port when enabled).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Extensions, HeaderMap, Version};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::trace::TraceLayer;

use super::handlers::{graphql_get, graphql_post};
use super::negotiation::GRAPHQL_RESPONSE_JSON;
use super::{AppState, admission, idempotency, playground};
use crate::telemetry;

/// The router: `/graphql` (POST, GET, WebSocket), `/healthz`, `/readyz` and the playground.
pub fn router(state: AppState) -> Router {
    let cors = state.inner.config.origins.layer();
    let body_limit = state.inner.config.body_limit();
    let counted = &state.inner.metrics;
    let shedder = admission::LoadShedder::new(&state.inner.config, counted.clone());
    let bodies = admission::BodyAdmission::new(&state.inner.config, counted.clone());
    let compression = compression_layer(state.inner.config.compress_min_bytes);
    let request_lines = telemetry::logs::RequestLines::new(state.inner.config.request_log_sample);
    let keyed = idempotency::Guard {
        keys: Arc::clone(&state.inner.keys),
        backend: Arc::clone(&state.inner.backend),
        max_body_bytes: body_limit,
        max_answer_bytes: state.inner.config.idempotency.max_answer_bytes,
        wait: state.inner.config.idempotency_wait,
    };
    let mut routes = Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                // Innermost: after admission and the in-flight cap, before compression.
                .route_layer(from_fn_with_state(keyed, idempotency::idempotency))
                .route_layer(from_fn_with_state(shedder, admission::shed_load))
                .route_layer(compression),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    if state.inner.config.metrics_on_main_port {
        routes = routes.route("/metrics", get(metrics));
    }
    routes
        .with_state(state)
        .merge(playground::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(bodies, admission::admit_body))
        .layer(cors)
        // The span records method, path and ids only: never headers or the query string, so
        // a bearer token cannot reach the logs.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::logs::request_span)
                .on_response(request_lines),
        )
}

/// The router of the separate metrics listener: `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Prometheus metrics, in the text exposition format.
async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = &state.inner.metrics;
    metrics.websocket_figures(state.open_websockets(), state.live_subscriptions());
    let (text, content_type) = metrics.render();
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// gzip, brotli or zstd, as the client's `Accept-Encoding` prefers, for JSON answers of at least
/// `min_bytes`. Never for a WebSocket upgrade (its 101 has no body to compress; messages are
/// not compressed either, see the README).
fn compression_layer(min_bytes: u16) -> CompressionLayer<impl Predicate> {
    let json = |status: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions| {
        status != StatusCode::SWITCHING_PROTOCOLS
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.starts_with("application/json") || v.starts_with(GRAPHQL_RESPONSE_JSON)
                })
    };
    CompressionLayer::new()
        .no_deflate()
        .compress_when(SizeAbove::new(min_bytes).and(json))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.inner.ready.load(Ordering::SeqCst) && state.inner.backend.ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
