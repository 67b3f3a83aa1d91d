//! The in-flight cap and the request deadline: requests over the cap get 503 while the health
//! probes are still answered, and a request past its deadline gets 504 `LIMIT_EXCEEDED`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use gpo_gateway::Config;
use serde_json::{Value, json};

use super::BOUND;
use crate::support::helpers::{GET, Mode, TestApp, code, config, guid};
use fake_graph::Match;

/// A Graph-mode gateway whose Graph answers reads only after a long delay.
async fn slow_graph_app(tune: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = config();
    tune(&mut config);
    let app = TestApp::with_config(Mode::Graph, config).await;
    app.graph()
        .set_delay(Match::method("GET"), Duration::from_secs(30));
    app
}

/// Starts a request that waits on the slow Graph, in the background.
fn start_slow_request(app: &TestApp) -> tokio::task::JoinHandle<()> {
    let request = app
        .post_request()
        .body(Body::from(
            json!({ "query": GET, "variables": { "f": guid(), "id": guid() } }).to_string(),
        ))
        .expect("a request");
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = tower::ServiceExt::oneshot(router, request).await;
    })
}

/// A GraphQL request that needs no Graph call, over POST or GET.
async fn typename(app: &TestApp, method: Method) -> (StatusCode, axum::http::HeaderMap, Value) {
    if method == Method::POST {
        return app.post(json!({ "query": "{ __typename }" })).await;
    }
    let request = Request::builder()
        .uri("/graphql?query=%7B__typename%7D")
        .body(Body::empty())
        .expect("a request");
    app.send(request).await
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_get_503_while_health_probes_are_answered() {
    let app = slow_graph_app(|c| c.http.max_in_flight = 2).await;
    let slow = [start_slow_request(&app), start_slow_request(&app)];
    // The slow requests take their permits as soon as they are scheduled; until then a quick
    // request still fits under the cap and passes.
    let started = Instant::now();
    let (status, headers, body) = loop {
        let answer = typename(&app, Method::POST).await;
        if answer.0 != StatusCode::OK {
            break answer;
        }
        assert_eq!(answer.2["data"]["__typename"], "Query");
        assert!(started.elapsed() < BOUND, "the cap never filled");
        // Lets the slow requests' tasks run on this single-threaded runtime.
        tokio::task::yield_now().await;
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("maximum of 2 requests")),
        "{body}"
    );
    let (status, _, body) = typename(&app, Method::GET).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "GET counts too: {body}"
    );

    for probe in ["/healthz", "/readyz"] {
        let request = Request::builder()
            .uri(probe)
            .body(Body::empty())
            .expect("a request");
        let (status, _, body) = app.send(request).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{probe} while the cap is full: {body}"
        );
    }

    // One slow request gone: one in flight, just under the cap, and requests pass again.
    slow[0].abort();
    let started = Instant::now();
    while typename(&app, Method::POST).await.0 != StatusCode::OK {
        assert!(
            started.elapsed() < BOUND,
            "the freed permit never came back"
        );
        tokio::task::yield_now().await;
    }
    slow[1].abort();
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_504_limit_exceeded() {
    let mut config = config();
    config.http.request_timeout = Duration::from_secs(1);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let quick_file = guid();
    // The first matching delay applies: reads of `quick_file` finish under the deadline.
    app.graph()
        .set_delay(Match::path(&quick_file), Duration::from_millis(300));
    app.graph()
        .set_delay(Match::method("GET"), Duration::from_secs(30));

    let (status, _, body) = app
        .post(json!({ "query": GET, "variables": { "f": quick_file, "id": guid() } }))
        .await;
    assert_eq!(status, StatusCode::OK, "just under the deadline: {body}");

    let started = Instant::now();
    let (status, _, body) = app
        .post(json!({ "query": GET, "variables": { "f": guid(), "id": guid() } }))
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("deadline")),
        "{body}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
