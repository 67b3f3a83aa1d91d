//! The router: which path and method reach which handler, and the layers every request passes
//! (body limit, CORS, request logs; load shedding on `/graphql`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use super::handlers::{graphql_get, graphql_post};
use super::{AppState, CLIENT_REQUEST_ID, admission, playground};

/// The router: `/graphql` (POST, GET, WebSocket), `/healthz`, `/readyz` and the playground.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.inner.config.cors_origins);
    let body_limit = state.inner.config.max_body_bytes;
    let shedder = admission::LoadShedder::new(&state.inner.config);
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .route_layer(from_fn_with_state(shedder, admission::shed_load)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(playground::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(
            body_limit,
            admission::refuse_oversized_body,
        ))
        .layer(cors)
        // The default span records method, URI and version only: never headers, so a bearer
        // token cannot reach the logs.
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            CLIENT_REQUEST_ID,
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
        ])
        .expose_headers([CLIENT_REQUEST_ID])
        .max_age(Duration::from_secs(600))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.inner.ready.load(Ordering::SeqCst) && state.inner.backend.ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
