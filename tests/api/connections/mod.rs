//! Connection hygiene and load shedding, through the serving loop `main.rs` runs: stalled
//! headers and bodies are closed, an oversized declared body is refused at once, open
//! connections and in-flight requests are capped (503 + Retry-After), requests have a deadline,
//! and the health probes are answered while the gateway sheds load. This file holds what is
//! seen on raw sockets; `in_flight.rs` holds the in-flight cap and the request deadline,
//! `large_bodies.rs` the slots for bodies over `--max-body-bytes`.

mod in_flight;
mod large_bodies;
mod slow_readers;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gpo_gateway::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::helpers::{Mode, TestApp, code, config, serve_tcp_with};

/// Longest any test here waits for something that should happen within about a second.
const BOUND: Duration = Duration::from_secs(10);

/// A response read off a raw socket.
struct RawResponse {
    status: u16,
    head: String,
    body: Value,
}

impl RawResponse {
    fn parse(bytes: &[u8]) -> RawResponse {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        RawResponse {
            status,
            head: head.to_ascii_lowercase(),
            body: serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim() == name).then(|| v.trim())
        })
    }
}

/// Reads until the server closes the connection; panics if it does not within `BOUND`.
/// Returns what was read and how long the close took.
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection is still open after {BOUND:?}"),
        }
    }
}

/// Sends raw bytes on a new connection and reads the answer until the server closes it.
async fn exchange(addr: SocketAddr, request: &str) -> (RawResponse, Duration) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("sends");
    let (bytes, took) = read_until_closed(&mut stream).await;
    (RawResponse::parse(&bytes), took)
}

/// A GET that asks the server to close the connection after answering.
async fn get(addr: SocketAddr, path: &str) -> RawResponse {
    let request = format!("GET {path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
    exchange(addr, &request).await.0
}

/// A POST /graphql head declaring `length` body bytes.
fn post_head(length: usize) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

/// A store-mode gateway served on a real socket with `tune` applied to its configuration.
async fn served(tune: impl FnOnce(&mut Config)) -> SocketAddr {
    let mut config = config();
    tune(&mut config);
    let app = TestApp::with_config(Mode::Store, config.clone()).await;
    serve_tcp_with(app.router.clone(), &config).await
}

/// Opens a connection and waits until the server has taken it (a request on it is answered),
/// leaving it open and idle.
async fn open_idle(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .expect("sends");
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("reads");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stream
}

#[tokio::test]
async fn a_client_that_stops_halfway_through_its_headers_is_disconnected() {
    let addr = served(|c| c.connections.header_read_timeout = Duration::from_millis(500)).await;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Ty")
        .await
        .expect("sends");
    let (_, took) = read_until_closed(&mut stream).await;
    assert!(took >= Duration::from_millis(400), "closed early: {took:?}");
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_disconnected() {
    let addr = served(|c| c.connections.header_read_timeout = Duration::from_millis(500)).await;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let (received, took) = read_until_closed(&mut stream).await;
    assert!(took >= Duration::from_millis(400), "closed early: {took:?}");
    assert!(received.is_empty() || RawResponse::parse(&received).status == 408);
}

#[tokio::test]
async fn a_body_shorter_than_declared_gets_408_limit_exceeded_and_the_connection_closes() {
    let addr = served(|c| {
        c.connections.body_read_timeout = Duration::from_millis(500);
        c.http.request_timeout = Duration::from_secs(60);
    })
    .await;
    let request = format!("{}{{\"query\":", post_head(100));
    let (response, took) = exchange(addr, &request).await;
    assert_eq!(response.status, 408, "{}", response.head);
    assert_eq!(code(&response.body), "LIMIT_EXCEEDED", "{}", response.body);
    assert!(
        response.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not arrive within")),
        "{}",
        response.body
    );
    assert_eq!(response.header("connection"), Some("close"));
    assert!(took >= Duration::from_millis(400), "{took:?}");
}

#[tokio::test]
async fn a_declared_gigabyte_is_refused_with_413_before_any_body_is_sent() {
    let addr = served(|c| {
        c.connections.body_read_timeout = Duration::from_secs(60);
        c.http.request_timeout = Duration::from_secs(60);
    })
    .await;
    // Nothing of the body is sent: only an answer that does not wait for it can arrive.
    let (response, took) = exchange(addr, &post_head(1_000_000_000)).await;
    assert_eq!(response.status, 413, "{}", response.head);
    assert_eq!(code(&response.body), "LIMIT_EXCEEDED", "{}", response.body);
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_declared_length_at_the_body_limit_passes_and_one_over_is_refused() {
    let limit = 2_000;
    // Both body limits at `limit`: the declared length is checked against the larger one.
    let addr = served(|c| {
        c.http.max_body_bytes = limit;
        c.http.max_variables_bytes = limit;
    })
    .await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    let body = format!("{query:<limit$}");
    assert_eq!(body.len(), limit);
    let request = format!("{}{body}", post_head(limit)).replacen(
        "Host: gateway",
        "Host: gateway\r\nConnection: close",
        1,
    );
    let (response, _) = exchange(addr, &request).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["__typename"], "Query");

    let (response, _) = exchange(addr, &post_head(limit + 1)).await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(code(&response.body), "LIMIT_EXCEEDED");
}

/// Asserts a 503 over-capacity refusal with `Retry-After` and a GraphQL error.
fn assert_over_capacity(response: &RawResponse) {
    assert_eq!(response.status, 503, "{}", response.head);
    assert_eq!(
        response.header("retry-after"),
        Some("1"),
        "{}",
        response.head
    );
    assert_eq!(code(&response.body), "LIMIT_EXCEEDED", "{}", response.body);
}

#[tokio::test]
async fn connections_over_the_total_cap_get_503_with_retry_after_and_a_freed_slot_is_reused() {
    let addr = served(|c| {
        c.connections.max_connections = 3;
        c.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let first = open_idle(addr).await;
    let _second = open_idle(addr).await;
    // The third of three is just under the cap.
    assert_eq!(get(addr, "/healthz").await.status, 200);
    let _third = open_idle(addr).await;

    let refused = get(addr, "/healthz").await;
    assert_over_capacity(&refused);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many open connections")),
        "{}",
        refused.body
    );

    drop(first);
    let started = Instant::now();
    while get(addr, "/healthz").await.status != 200 {
        assert!(
            started.elapsed() < BOUND,
            "the closed connection's slot never came back"
        );
    }
}

#[tokio::test]
async fn connections_over_the_per_address_cap_get_503_while_other_addresses_are_served() {
    let addr = served(|c| {
        c.connections.max_connections = 10;
        c.connections.max_connections_per_address = 2;
        c.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let _first = open_idle(addr).await;
    assert_eq!(get(addr, "/healthz").await.status, 200, "just under passes");
    let _second = open_idle(addr).await;
    assert_over_capacity(&get(addr, "/healthz").await);

    // Another loopback address is another client.
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.2:0".parse().expect("an address"))
        .expect("127.0.0.2 is loopback");
    let mut other = socket.connect(addr).await.expect("connects");
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .await
        .expect("sends");
    let (bytes, _) = read_until_closed(&mut other).await;
    assert_eq!(RawResponse::parse(&bytes).status, 200);
}

#[tokio::test]
async fn an_open_websocket_holds_its_connection_slot() {
    let addr = served(|c| c.connections.max_connections = 1).await;
    let socket = crate::support::ws::connect(addr, "graphql-transport-ws").await;
    assert_over_capacity(&get(addr, "/healthz").await);
    drop(socket);
    let started = Instant::now();
    while get(addr, "/healthz").await.status != 200 {
        assert!(
            started.elapsed() < BOUND,
            "the WebSocket's slot never came back"
        );
    }
}

#[tokio::test]
async fn handlers_get_the_client_address_as_connect_info() {
    use axum::extract::ConnectInfo;
    use axum::routing::get as route_get;
    let router = axum::Router::new().route(
        "/whoami",
        route_get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let addr = serve_tcp_with(router, &config()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let local = stream.local_addr().expect("a local address");
    stream
        .write_all(b"GET /whoami HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .await
        .expect("sends");
    let (bytes, _) = read_until_closed(&mut stream).await;
    let response = RawResponse::parse(&bytes);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, Value::String(local.to_string()));
}
