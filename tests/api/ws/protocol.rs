//! The protocol rules a WebSocket client must keep and what each operation gets: request data
//! per operation (the lookup cap is not counted per connection), `connection_init` in time
//! (4408), and the `graphql-transport-ws` close codes 4400, 4401, 4409 and 4429.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::helpers::*;
use crate::support::ws::*;

#[tokio::test]
async fn a_websocket_runs_ten_queries_of_100_lookups_in_a_row_without_limit_exceeded() {
    let (_app, _state, addr) = served(config()).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
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
    let mut config = config();
    lift_query_caps(&mut config);
    let (_app, _state, addr) = served(config).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
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

#[tokio::test]
async fn a_websocket_without_connection_init_is_closed_with_4408_on_both_protocols() {
    let (_app, state, addr) = served(config_with(&["--ws-init-timeout", "0.3"])).await;
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
    // Long enough that a busy machine still reads `connection_init` in time.
    let (_app, _state, addr) = served(config_with(&["--ws-init-timeout", "1.5"])).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
    // Waiting out the configured timeout is the point of this test.
    tokio::time::sleep(Duration::from_secs(3)).await;
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
        let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
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
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
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
    let mut socket = ready(addr, "graphql-transport-ws", json!({})).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(closed_with(&mut socket).await.0, 4429);
}
