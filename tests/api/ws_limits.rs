//! What one WebSocket client can hold, and the protocol rules it must keep: request data per
//! operation (the lookup cap is not counted per connection), `connection_init` in time, the
//! `graphql-transport-ws` close codes, caps on open WebSockets, and a client that stops
//! reading is disconnected with everything it held given back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gpo_gateway::Config;
use gpo_gateway::http::AppState;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::ws::{Socket, connect, init, next, send, status_of, subscribe, upgrade_request};

/// A gateway on a socket, with its state to read the WebSocket counters.
async fn served(config: Config) -> (TestApp, AppState, SocketAddr) {
    let built = gpo_gateway::app(&config).expect("the gateway builds");
    let app = TestApp {
        router: built.router,
        mode: Mode::Store,
        graph: None,
        token: None,
    };
    let addr = serve_tcp(app.router.clone()).await;
    (app, built.state, addr)
}

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

/// Reads until the server closes; returns the close code and reason.
async fn closed_with(socket: &mut Socket) -> (u16, String) {
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
async fn eventually(limit: Duration, what: &str, condition: impl Fn() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A query of `count` aliased lookups of random ids in one file.
fn lookups(count: usize) -> String {
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
async fn run(socket: &mut Socket, id: &str, query: &str) -> Value {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    let result = next(socket).await;
    assert_eq!(result["type"], "next", "{result}");
    assert_eq!(next(socket).await, json!({ "id": id, "type": "complete" }));
    result["payload"].clone()
}

#[tokio::test]
async fn a_websocket_runs_ten_queries_of_100_lookups_in_a_row_without_limit_exceeded() {
    let (_app, _state, addr) = served(config()).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
    for round in 0..10 {
        let payload = run(&mut socket, &format!("q{round}"), &lookups(100)).await;
        assert!(payload.get("errors").is_none(), "round {round}: {payload}");
        let data = payload["data"].as_object().expect("data");
        assert_eq!(data.len(), 100, "round {round}");
        assert!(data.values().all(Value::is_null), "random ids do not exist");
    }
}

#[tokio::test]
async fn the_501st_lookup_of_one_websocket_operation_is_refused() {
    let (_app, _state, addr) = served(config()).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
    let just_under = run(&mut socket, "500", &lookups(500)).await;
    assert!(just_under.get("errors").is_none(), "{just_under}");
    let over = run(&mut socket, "501", &lookups(501)).await;
    let errors = over["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{over}");
    assert_eq!(errors[0]["extensions"]["code"], "LIMIT_EXCEEDED");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 500")),
        "{over}"
    );
}

fn init_timeout_config(seconds: f64) -> Config {
    let mut config = config();
    config.ws_init_timeout = seconds;
    config
}

#[tokio::test]
async fn a_websocket_without_connection_init_is_closed_with_4408_on_both_protocols() {
    let (_app, state, addr) = served(init_timeout_config(0.3)).await;
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let mut socket = connect(addr, protocol).await;
        let (code, reason) = closed_with(&mut socket).await;
        assert_eq!(code, 4408, "{protocol}");
        assert_eq!(reason, "Connection initialisation timeout");
    }
    eventually(Duration::from_secs(5), "no WebSocket left open", || {
        state.open_websockets() == 0
    })
    .await;
}

#[tokio::test]
async fn connection_init_in_time_keeps_the_websocket_open_past_the_timeout() {
    let timeout = Duration::from_millis(300);
    let (_app, _state, addr) = served(init_timeout_config(timeout.as_secs_f64())).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
    // Waiting out the configured timeout is the point of this test.
    tokio::time::sleep(timeout * 2).await;
    let payload = run(&mut socket, "1", &lookups(1)).await;
    assert!(payload.get("errors").is_none(), "{payload}");
}

#[tokio::test]
async fn a_malformed_message_closes_with_4400() {
    let (_app, _state, addr) = served(config()).await;
    for bad in [
        json!({ "type": "nonsense" }),
        json!({ "type": "subscribe", "payload": { "query": "{ __typename }" } }),
        json!("not an object"),
    ] {
        let mut socket = connect(addr, "graphql-transport-ws").await;
        init(&mut socket, json!({})).await;
        send(&mut socket, bad.clone()).await;
        assert_eq!(closed_with(&mut socket).await.0, 4400, "{bad}");
    }
}

#[tokio::test]
async fn subscribing_before_connection_init_closes_with_4401() {
    let (_app, _state, addr) = served(config()).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    subscribe(&mut socket, "1", &guid(), &guid()).await;
    assert_eq!(
        closed_with(&mut socket).await,
        (4401, "Unauthorized".to_owned())
    );
}

#[tokio::test]
async fn a_second_subscriber_with_a_live_id_closes_with_4409_and_a_finished_id_is_reusable() {
    let (app, _state, addr) = served(config()).await;
    let file = guid();
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
    // A finished operation's id may be used again.
    run(&mut socket, "same", &lookups(1)).await;
    subscribe(&mut socket, "same", &file, &id).await;
    assert_eq!(status_of(&next(&mut socket).await), "IN_PROGRESS");
    subscribe(&mut socket, "same", &file, &id).await;
    assert_eq!(
        closed_with(&mut socket).await,
        (4409, "Subscriber for same already exists".to_owned())
    );
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let (_app, _state, addr) = served(config()).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(closed_with(&mut socket).await.0, 4429);
}

/// Opens a WebSocket and returns the HTTP status and `Retry-After` of a refusal.
async fn refused(addr: SocketAddr) -> (u16, Option<String>) {
    let request = upgrade_request(addr, "graphql-transport-ws");
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => panic!("the WebSocket was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ),
        Err(other) => panic!("unexpected failure: {other}"),
    }
}

/// Opens `cap` WebSockets (just under passes), sees one more refused with 503 and
/// `Retry-After`, closes one and sees its place taken again.
async fn cap_holds_and_a_closed_websocket_frees_its_place(
    state: &AppState,
    addr: SocketAddr,
    cap: usize,
) {
    let mut open = Vec::new();
    for _ in 0..cap {
        open.push(connect(addr, "graphql-transport-ws").await);
    }
    assert_eq!(state.open_websockets(), cap);
    assert_eq!(refused(addr).await, (503, Some("5".to_owned())));
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
    config.max_websockets = 2;
    let (_app, state, addr) = served(config).await;
    cap_holds_and_a_closed_websocket_frees_its_place(&state, addr, 2).await;
}

#[tokio::test]
async fn open_websockets_are_capped_per_client_address() {
    let mut config = config();
    config.max_websockets_per_address = 2;
    let (app, state, _) = served(config).await;
    let addr = serve_with_peer_addresses(&app).await;
    cap_holds_and_a_closed_websocket_frees_its_place(&state, addr, 2).await;
}

#[tokio::test]
async fn without_a_peer_address_only_the_total_cap_applies() {
    let mut config = config();
    config.max_websockets_per_address = 1;
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

/// A small outgoing queue and a short stall timeout, so a flood of changes soon overfills it.
fn flood_config() -> Config {
    let mut config = config();
    config.ws_max_queued_bytes = 64 * 1024;
    config.ws_stall_timeout = 0.2;
    config
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
    let (app, state, addr) = served(flood_config()).await;
    let file = guid();
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = connect(addr, "graphql-transport-ws").await;
    init(&mut socket, json!({})).await;
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
    let (app, state, addr) = served(flood_config()).await;
    let file = guid();
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = connect_small_buffer(addr).await;
    send_raw(&mut socket, json!({ "type": "connection_init" })).await;
    let ack = socket.next().await.expect("an answer").expect("a frame");
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    for n in 0..25 {
        let subscribe = json!({ "id": n.to_string(), "type": "subscribe",
            "payload": { "query": crate::ws::CHANGED, "variables": { "f": file, "id": id } } });
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
