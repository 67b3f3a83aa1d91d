//! Subscriptions over WebSocket: both protocols, completion rules, limits, and in Graph mode
//! the shared pollers (one upstream GET per interval per token and operation).

mod limits;
mod protocol;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use crate::support::helpers::*;
use crate::support::ws::*;
use fake_graph::{Canned, Match};

/// A store-mode gateway on a socket, one operation in `status`, and a connection speaking
/// `protocol` that has completed its handshake.
async fn watching(protocol: &str, status: &str) -> (TestApp, Socket, String, String) {
    let app = TestApp::store().await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", status, None).await;
    let addr = serve_tcp(app.router.clone()).await;
    let socket = ready(addr, protocol, json!({})).await;
    (app, socket, file, id)
}

#[tokio::test]
async fn graphql_transport_ws_streams_each_change_then_completes_after_success() {
    let (app, mut socket, file, id) = watching("graphql-transport-ws", "IN_PROGRESS").await;
    subscribe(&mut socket, "1", &file, &id).await;
    let first = next(&mut socket).await;
    assert_eq!(first["type"], "next");
    assert_eq!(first["id"], "1");
    assert_eq!(status_of(&first), "IN_PROGRESS");

    app.update(&file, &id, json!({ "statusDetails": "half way" }))
        .await;
    let second = next(&mut socket).await;
    assert_eq!(status_of(&second), "IN_PROGRESS");
    assert_eq!(
        second["payload"]["data"]["groupPolicyOperationChanged"]["statusDetails"],
        "half way"
    );

    app.update(&file, &id, json!({ "operationStatus": "SUCCESS" }))
        .await;
    assert_eq!(status_of(&next(&mut socket).await), "SUCCESS");
    assert_complete(&mut socket, "1").await;
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let (app, mut socket, file, id) = watching("graphql-ws", "IN_PROGRESS").await;
    send(
        &mut socket,
        json!({ "id": "a", "type": "start", "payload": { "query": CHANGED, "variables": { "f": file, "id": id } } }),
    )
    .await;
    let first = next(&mut socket).await;
    assert_eq!(first["type"], "data");
    assert_eq!(status_of(&first), "IN_PROGRESS");
    app.update(&file, &id, json!({ "operationStatus": "FAILED" }))
        .await;
    assert_eq!(status_of(&next(&mut socket).await), "FAILED");
    assert_complete(&mut socket, "a").await;
}

#[tokio::test]
async fn deleting_the_operation_completes_the_subscription() {
    let (app, mut socket, file, id) = watching("graphql-transport-ws", "IN_PROGRESS").await;
    subscribe(&mut socket, "1", &file, &id).await;
    assert_eq!(status_of(&next(&mut socket).await), "IN_PROGRESS");
    app.data(DELETE, json!({ "f": file, "id": id })).await;
    assert_complete(&mut socket, "1").await;
}

#[tokio::test]
async fn a_missing_operation_ends_with_not_found_and_bad_ids_with_bad_user_input() {
    let app = TestApp::store().await;
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
    subscribe(&mut socket, "1", &guid(), &guid()).await;
    let message = next(&mut socket).await;
    assert_eq!(message["type"], "next");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{message}"
    );
    assert_complete(&mut socket, "1").await;
    subscribe(&mut socket, "2", "../x", &guid()).await;
    let message = next(&mut socket).await;
    assert!(message.to_string().contains("BAD_USER_INPUT"), "{message}");
}

#[tokio::test]
async fn subscriptions_per_connection_are_capped() {
    let mut config = config();
    config.http.max_subscriptions_per_connection = 1;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    let (a, b) = (
        app.create(&file, "UPLOAD", "IN_PROGRESS", None).await,
        app.create(&file, "UPLOAD", "IN_PROGRESS", None).await,
    );
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = following(addr, json!({}), &file, &a).await;
    subscribe(&mut socket, "2", &file, &b).await;
    let refused = next(&mut socket).await;
    assert_eq!(refused["id"], "2");
    assert!(refused.to_string().contains("LIMIT_EXCEEDED"), "{refused}");
    // Another connection has its own allowance.
    let _other = following(addr, json!({}), &file, &b).await;
}

async fn graph_app(poll_interval: f64) -> (TestApp, SocketAddr) {
    let mut config = config();
    config.graph.poll_interval = Duration::from_secs_f64(poll_interval);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let addr = serve_tcp(app.router.clone()).await;
    (app, addr)
}

/// A Graph-mode gateway on a socket polling every `poll_interval` seconds, and an upload in
/// progress in a new file: returns the app, its address, the file and the operation.
async fn graph_watch(poll_interval: f64) -> (TestApp, SocketAddr, String, String) {
    let (app, addr) = graph_app(poll_interval).await;
    let file = app.new_file().await;
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    (app, addr, file, id)
}

/// A connection opened with `payload`, subscribed (as "1") to operation `id` of `file`, whose
/// first event says IN_PROGRESS.
async fn following(addr: SocketAddr, payload: serde_json::Value, file: &str, id: &str) -> Socket {
    let mut socket = ready(addr, "graphql-transport-ws", payload).await;
    subscribe(&mut socket, "1", file, id).await;
    assert_eq!(status_of(&next(&mut socket).await), "IN_PROGRESS");
    socket
}

/// GETs that read `id` (a poll of an operation reads its file with `$expand`: pass the file).
fn gets_of(app: &TestApp, id: &str) -> usize {
    app.graph().count(&Match::method("GET").path_contains(id))
}

#[tokio::test]
async fn graph_mode_polls_with_the_connection_init_token_and_streams_to_completion() {
    let (app, addr, file, id) = graph_watch(0.1).await;
    let mut socket = following(
        addr,
        json!({ "authorization": "Bearer ws-token-1" }),
        &file,
        &id,
    )
    .await;
    app.graph()
        .update(&file, &id, json!({ "operationStatus": "success" }));
    assert_eq!(status_of(&next(&mut socket).await), "SUCCESS");
    assert_complete(&mut socket, "1").await;
    let gets: Vec<_> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains(&file))
        .collect();
    assert!(!gets.is_empty());
    for get in gets {
        assert_eq!(get.header("authorization"), Some("Bearer ws-token-1"));
    }
}

#[tokio::test]
async fn graph_mode_subscribing_without_a_token_is_unauthenticated() {
    let (app, addr, file, id) = graph_watch(0.1).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
    subscribe(&mut socket, "1", &file, &id).await;
    assert!(
        next(&mut socket)
            .await
            .to_string()
            .contains("UNAUTHENTICATED")
    );
    assert_eq!(gets_of(&app, &file), 0);
}

// Long on purpose: the poller's whole life, from the first subscriber to the last leaving.
#[tokio::test]
async fn graph_mode_subscribers_with_the_same_token_share_one_poller_that_stops_when_they_leave() {
    let (app, addr, file, id) = graph_watch(0.5).await;
    let first = following(
        addr,
        json!({ "Authorization": "Bearer shared" }),
        &file,
        &id,
    )
    .await;
    assert_eq!(gets_of(&app, &file), 1, "the poller's first fetch");

    // Joining gets the current state from the running poller: no fetch of its own.
    let second = following(
        addr,
        json!({ "Authorization": "Bearer shared" }),
        &file,
        &id,
    )
    .await;
    assert_eq!(
        gets_of(&app, &file),
        1,
        "joining did not start a second poller"
    );

    // Over ~3 intervals the shared poller fetches about once per interval (two pollers
    // would make twice as many).
    let before = gets_of(&app, &file);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let polled = gets_of(&app, &file) - before;
    assert!(
        (2..=4).contains(&polled),
        "{polled} GETs in 1.6 s at a 0.5 s interval"
    );

    // A different token gets its own poller (tokens are never mixed).
    let mut stranger = ready(
        addr,
        "graphql-transport-ws",
        json!({ "Authorization": "Bearer other-user" }),
    )
    .await;
    let before = gets_of(&app, &file);
    subscribe(&mut stranger, "1", &file, &id).await;
    assert_eq!(status_of(&next(&mut stranger).await), "IN_PROGRESS");
    assert!(gets_of(&app, &file) > before);
    let stranger_gets = app
        .graph()
        .requests()
        .iter()
        .filter(|r| r.header("authorization") == Some("Bearer other-user"))
        .count();
    assert_eq!(stranger_gets, 1);

    // Everyone leaves: polling stops.
    drop(stranger);
    drop(first);
    drop(second);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let settled = gets_of(&app, &file);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        gets_of(&app, &file),
        settled,
        "no polling once nobody watches"
    );
}

#[tokio::test]
async fn graph_mode_a_passing_graph_failure_does_not_end_the_subscription() {
    let (app, addr, file, id) = graph_watch(0.1).await;
    let mut socket = following(addr, json!({ "Authorization": "Bearer t" }), &file, &id).await;
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::graph_error(500, "InternalServerError", "try later"),
        2,
    );
    app.graph()
        .update(&file, &id, json!({ "operationStatus": "success" }));
    assert_eq!(status_of(&next(&mut socket).await), "SUCCESS");
    assert_complete(&mut socket, "1").await;
    assert_eq!(
        app.graph().pending_injections(),
        0,
        "both failures were met"
    );
}

#[tokio::test]
async fn errors_over_websocket_carry_codes_too() {
    let (_app, mut socket, file, id) = watching("graphql-transport-ws", "IN_PROGRESS").await;
    // An unknown operation name: async-graphql reports it without a code of its own.
    let document = format!(
        "{CHANGED} subscription Other($f: ID!, $id: ID!) {{ groupPolicyOperationChanged(definitionFileId: $f, id: $id) {{ id }} }}"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": document, "operationName": "Nope", "variables": { "f": file, "id": id } } }),
    )
    .await;
    let message = next(&mut socket).await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{message}"
    );
}

#[tokio::test]
async fn live_subscriptions_are_capped_across_connections() {
    let mut config = config();
    config.http.max_subscriptions = 1;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let addr = serve_tcp(app.router.clone()).await;
    let mut first = following(addr, json!({}), &file, &id).await;
    let mut second = ready(addr, "graphql-transport-ws", json!({})).await;
    subscribe(&mut second, "1", &file, &id).await;
    assert!(
        next(&mut second)
            .await
            .to_string()
            .contains("LIMIT_EXCEEDED")
    );
    assert_eq!(next(&mut second).await["type"], "complete");
    // Completing the first frees its slot.
    app.update(&file, &id, json!({ "operationStatus": "SUCCESS" }))
        .await;
    assert_eq!(status_of(&next(&mut first).await), "SUCCESS");
    assert_eq!(next(&mut first).await["type"], "complete");
    let other = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut freed = false;
    for attempt in 0..50 {
        subscribe(&mut second, &format!("retry{attempt}"), &file, &other).await;
        let message = next(&mut second).await;
        if message["type"] == "next" && message["payload"]["errors"].is_null() {
            freed = true;
            break;
        }
        assert_eq!(next(&mut second).await["type"], "complete");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "the slot of a completed subscription is released");
}
