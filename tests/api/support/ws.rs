//! Shared plumbing of the WebSocket tests: open a GraphQL WebSocket, speak the protocol, wait
//! for the server to close, and read the gateway's WebSocket counters.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use gpo_gateway::Config;
use gpo_gateway::http::AppState;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use crate::support::helpers::*;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) const CHANGED: &str = "subscription Watch($f: ID!, $id: ID!) {
  groupPolicyOperationChanged(definitionFileId: $f, id: $id) { id operationStatus statusDetails }
}";

/// The upgrade request of a GraphQL WebSocket speaking `protocol`.
pub(crate) fn upgrade_request(addr: SocketAddr, protocol: &str) -> Request {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("a request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    request
}

pub(crate) async fn connect(addr: SocketAddr, protocol: &str) -> Socket {
    let request = upgrade_request(addr, protocol);
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the gateway accepts the WebSocket");
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    socket
}

/// The next GraphQL-over-WebSocket message, skipping transport pings and legacy keep-alives.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] != "ka" {
                    return value;
                }
            }
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
}

pub(crate) async fn init(socket: &mut Socket, payload: Value) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(next(socket).await["type"], "connection_ack");
}

/// A WebSocket speaking `protocol` whose `connection_init` (with `payload`) was acknowledged.
pub(crate) async fn ready(addr: SocketAddr, protocol: &str, payload: Value) -> Socket {
    let mut socket = connect(addr, protocol).await;
    init(&mut socket, payload).await;
    socket
}

/// A `graphql-transport-ws` connection whose `connection_init` carried the tests' token.
pub(crate) async fn ready_with_token(addr: SocketAddr) -> Socket {
    let payload = json!({ "Authorization": format!("Bearer {TOKEN}") });
    ready(addr, "graphql-transport-ws", payload).await
}

/// Asserts that the next message completes the subscription `id`.
pub(crate) async fn assert_complete(socket: &mut Socket, id: &str) {
    assert_eq!(next(socket).await, json!({ "id": id, "type": "complete" }));
}

pub(crate) async fn subscribe(socket: &mut Socket, id: &str, file: &str, op: &str) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": CHANGED, "variables": { "f": file, "id": op } } }),
    )
    .await;
}

pub(crate) fn status_of(message: &Value) -> &str {
    message["payload"]["data"]["groupPolicyOperationChanged"]["operationStatus"]
        .as_str()
        .unwrap_or_else(|| panic!("no status in {message}"))
}

/// The test configuration (no seed) with these command-line flags: durations given as flags
/// read the same whether the `Config` holds seconds or a `Duration`.
pub(crate) fn config_with(flags: &[&str]) -> Config {
    Config::parse_from(["gpo-gateway", "--no-seed"].iter().chain(flags))
}

/// A gateway on a socket, with its state to read the WebSocket counters.
pub(crate) async fn served(config: Config) -> (TestApp, AppState, SocketAddr) {
    let store = gpo_gateway::store(&config).expect("the store builds");
    let built = gpo_gateway::app_with_backend(&config, std::sync::Arc::new(store.clone()));
    let app = TestApp {
        router: built.router,
        mode: Mode::Store,
        graph: None,
        store: Some(store),
        token: None,
    };
    let addr = serve_tcp(app.router.clone()).await;
    (app, built.state, addr)
}

/// Reads until the server closes; returns the close code and reason.
pub(crate) async fn closed_with(socket: &mut Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server closes within 10 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("closed without a close frame")
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Polls `condition` every 10 ms until it holds, failing after `limit`.
pub(crate) async fn eventually(limit: Duration, what: &str, condition: impl Fn() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A query of `count` aliased lookups of random ids in one file.
pub(crate) fn lookups(count: usize) -> String {
    let file = guid();
    let aliases: String = (0..count)
        .map(|i| {
            format!(
                "o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{}\") {{ id }}\n",
                guid()
            )
        })
        .collect();
    format!("{{ {aliases} }}")
}

/// Runs `query` as operation `id` and returns its one result.
pub(crate) async fn run(socket: &mut Socket, id: &str, query: &str) -> Value {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    let result = next(socket).await;
    assert_eq!(result["type"], "next", "{result}");
    assert_complete(socket, id).await;
    result["payload"].clone()
}
