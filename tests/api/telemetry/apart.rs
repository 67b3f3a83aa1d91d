//! Two Graph-mode gateways in one process, each over its own fake Graph: the figures of the
//! parts a gateway is built on (its Graph client, the lookups it made) are its own, so each
//! `/metrics` page counts exactly the HTTP exchanges its gateway had with Graph.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use super::samples;
use crate::support::helpers::*;
use fake_graph::Match;

/// A Graph-mode gateway serving `/metrics` on its main router.
async fn graph_gateway() -> TestApp {
    let mut config = config();
    config.telemetry.metrics_on_main_port = true;
    TestApp::with_config(Mode::Graph, config).await
}

/// The sum of the `graph_requests_total` samples on `app`'s `/metrics` page.
async fn counted_graph_requests(app: &TestApp) -> u64 {
    let request = Request::get("/metrics")
        .body(Body::empty())
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().all_bytes().await;
    let page = String::from_utf8_lossy(&body);
    samples(&page, "gpo_gateway_graph_requests_total")
        .iter()
        .map(|sample| {
            let value = sample.rsplit(' ').next().expect("a value");
            value.parse::<u64>().expect("a count")
        })
        .sum()
}

/// Runs `times` lookups of one operation on `app`.
async fn look_up(app: &TestApp, times: usize) {
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    for _ in 0..times {
        app.data(GET, json!({ "f": file, "id": id })).await;
    }
}

#[tokio::test]
async fn two_graph_gateways_in_one_process_count_their_graph_requests_apart() {
    let first = graph_gateway().await;
    let second = graph_gateway().await;
    look_up(&first, 3).await;
    look_up(&second, 1).await;
    // Every HTTP exchange each fake Graph saw ($batch sub-requests ride in their envelope).
    let exchanges = |app: &TestApp| app.graph().count(&Match::any().in_batch(false)) as u64;
    let (first_seen, second_seen) = (exchanges(&first), exchanges(&second));
    assert!(
        first_seen > second_seen && second_seen > 0,
        "{first_seen} {second_seen}"
    );
    assert_eq!(counted_graph_requests(&first).await, first_seen);
    assert_eq!(counted_graph_requests(&second).await, second_seen);
}
