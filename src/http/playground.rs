//! Placeholder until the playground build lands.
use axum::Router;
use axum::routing::get;

/// Serves the playground.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(|| async { "playground" }))
}
