//! What WebSocket clients can hold: open WebSockets are capped in total and per client
//! address (503 with `Retry-After` at the upgrade), and a client that stops reading is
//! disconnected with everything it held given back, while one that reads gets every answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gpo_gateway::Config;
use gpo_gateway::http::AppState;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::helpers::*;
use crate::support::ws::*;

/// Like [`serve_tcp`], but the server tells each request its peer address.
async fn serve_with_peer_addresses(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, service).await.expect("serves");
    });
    addr
}

/// Serves with axum's plain server, which does not tell requests their peer address.
async fn serve_without_peer_addresses(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serves");
    });
    addr
}

/// Opens a WebSocket that must be refused; returns the HTTP status, `Retry-After` and the
/// GraphQL error's code and message.
async fn refused(addr: SocketAddr) -> (u16, Option<String>, String, String) {
    let request = upgrade_request(addr, "graphql-transport-ws");
    let response = match tokio_tungstenite::connect_async(request).await {
        Ok(_) => panic!("the WebSocket was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response,
        Err(other) => panic!("unexpected failure: {other}"),
    };
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())
        .expect("a JSON body");
    let error = &body["errors"][0];
    (
        response.status().as_u16(),
        retry_after,
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Opens `cap` WebSockets (just under passes), sees one more refused with 503 and
/// `Retry-After`, closes one and sees its place taken again.
async fn cap_holds_and_a_closed_websocket_frees_its_place(
    state: &AppState,
    addr: SocketAddr,
    cap: usize,
    flag: &str,
) {
    let mut open = Vec::new();
    for _ in 0..cap {
        open.push(connect(addr, "graphql-transport-ws").await);
    }
    assert_eq!(state.open_websockets(), cap);
    let (status, retry_after, code, message) = refused(addr).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("5")));
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert!(
        message.contains(&format!("{cap} WebSockets open (--{flag})")),
        "{message}"
    );
    open.pop();
    eventually(
        Duration::from_secs(5),
        "the closed WebSocket's place",
        || state.open_websockets() == cap - 1,
    )
    .await;
    open.push(connect(addr, "graphql-transport-ws").await);
}

#[tokio::test]
async fn open_websockets_are_capped_in_total() {
    let mut config = config();
    config.http.max_websockets = 2;
    let (_app, state, addr) = served(config).await;
    cap_holds_and_a_closed_websocket_frees_its_place(&state, addr, 2, "max-websockets").await;
}

#[tokio::test]
async fn open_websockets_are_capped_per_client_address() {
    let mut config = config();
    config.http.max_websockets_per_address = 2;
    let (app, state, _) = served(config).await;
    let addr = serve_with_peer_addresses(&app).await;
    cap_holds_and_a_closed_websocket_frees_its_place(&state, addr, 2, "max-websockets-per-address")
        .await;
}

#[tokio::test]
async fn without_a_peer_address_only_the_total_cap_applies() {
    let mut config = config();
    config.http.max_websockets_per_address = 1;
    let (app, state, _) = served(config).await;
    let addr = serve_without_peer_addresses(&app).await;
    let _first = connect(addr, "graphql-transport-ws").await;
    let _second = connect(addr, "graphql-transport-ws").await;
    assert_eq!(state.open_websockets(), 2);
}

/// A WebSocket client whose socket has a tiny receive buffer, so unread data backs up fast.
async fn connect_small_buffer(
    addr: SocketAddr,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpSocket::new_v4().expect("a socket");
    tcp.set_recv_buffer_size(4096).expect("a small buffer");
    let stream = tcp.connect(addr).await.expect("connects");
    let request = upgrade_request(addr, "graphql-transport-ws");
    tokio_tungstenite::client_async(request, stream)
        .await
        .expect("the gateway accepts the WebSocket")
        .0
}

/// A small outgoing queue (64 KiB) and the given stall timeout, so a flood of changes soon
/// fills the queue.
fn flood_config(stall_timeout: &str) -> Config {
    config_with(&[
        "--ws-max-queued-bytes",
        "65536",
        "--ws-stall-timeout",
        stall_timeout,
    ])
}

/// A change of 8,000 characters of details, different each time.
async fn big_change(app: &TestApp, file: &str, id: &str, n: usize) {
    let details = format!("{n:08}").repeat(1000);
    app.update(file, id, json!({ "statusDetails": details }))
        .await;
}

// Two workers: the gateway keeps serving while these tests flood it with changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_gets_every_change_of_a_flood_larger_than_its_queue() {
    let (app, state, addr) = served(flood_config("10")).await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
    for n in 0..25 {
        subscribe(&mut socket, &n.to_string(), &file, &id).await;
        assert_eq!(status_of(&next(&mut socket).await), "IN_PROGRESS");
    }
    // 10 changes sent to 25 subscriptions: 2 MB through a 64 KiB queue.
    let reader = tokio::spawn(async move {
        for _ in 0..25 * 10 {
            let message = next(&mut socket).await;
            assert_eq!(message["type"], "next", "{message}");
        }
        socket
    });
    for n in 0..10 {
        big_change(&app, &file, &id, n).await;
    }
    let _socket = reader.await.expect("every change arrived");
    assert_eq!(
        state.open_websockets(),
        1,
        "the reading client is still connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_gives_back_what_it_held() {
    let (app, state, addr) = served(flood_config("0.2")).await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = connect_small_buffer(addr).await;
    send_raw(&mut socket, json!({ "type": "connection_init" })).await;
    let ack = socket.next().await.expect("an answer").expect("a frame");
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    for n in 0..25 {
        let subscribe = json!({ "id": n.to_string(), "type": "subscribe",
            "payload": { "query": CHANGED, "variables": { "f": file, "id": id } } });
        send_raw(&mut socket, subscribe).await;
    }
    eventually(Duration::from_secs(10), "25 live subscriptions", || {
        state.live_subscriptions() == 25
    })
    .await;
    assert_eq!(state.open_websockets(), 1);
    // From here on the client reads nothing while every change is sent 25 times.
    let start = Instant::now();
    let mut changes = 0;
    while state.open_websockets() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still open after {changes} changes"
        );
        big_change(&app, &file, &id, changes).await;
        changes += 1;
    }
    assert_eq!(
        state.live_subscriptions(),
        0,
        "every subscription slot was given back"
    );
}

async fn send_raw(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    message: Value,
) {
    use futures_util::SinkExt;
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_after_one_large_answer_is_disconnected() {
    let config = config_with(&[
        "--ws-stall-timeout",
        "0.5",
        "--max-response-bytes",
        "16777216",
    ]);
    let (app, state, addr) = served(config).await;
    let file = app.new_file().await;
    let details = "x".repeat(8_000);
    for _ in 0..100 {
        app.create(&file, "UPLOAD", "SUCCESS", Some(&details)).await;
    }
    // One answer of about 8 MB: more than the kernel's socket buffers take.
    let lists: Vec<String> = (0..10)
        .map(|n| {
            format!(
                "l{n}: groupPolicyOperations(definitionFileId: $f, first: 100) \
                 {{ nodes {{ id statusDetails }} }}"
            )
        })
        .collect();
    let query = format!("query Big($f: ID!) {{ {} }}", lists.join(" "));
    let mut socket = connect_small_buffer(addr).await;
    send_raw(&mut socket, json!({ "type": "connection_init" })).await;
    let ack = socket.next().await.expect("an answer").expect("a frame");
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    let subscribe = json!({ "id": "big", "type": "subscribe",
        "payload": { "query": query, "variables": { "f": file } } });
    send_raw(&mut socket, subscribe).await;
    // The client reads nothing more: the one send of its answer blocks until the stall
    // timeout drops the connection (long before the 30 s write timeout would).
    eventually(
        Duration::from_secs(10),
        "the WebSocket of a client that does not read is dropped",
        || state.open_websockets() == 0,
    )
    .await;
    drop(socket);
}
