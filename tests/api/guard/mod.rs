//! The pre-execution guard and the response bounds, through the real router: every limit
//! just under and just over its default and the production and federation switches
//! (`limits`), the query bombs of issue 8 on every way an operation arrives (`refusals`),
//! validation reused per document refusing what full validation refuses (`validation`),
//! and repeated documents answered and counted as the first time (`repeated`).

mod limits;
mod refusals;
mod repeated;
mod validation;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::helpers::{TestApp, code, serve_tcp};

pub(crate) fn assert_limit(body: &Value, needle: &str) {
    assert_eq!(code(body), "LIMIT_EXCEEDED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
}

pub(crate) fn assert_passes(body: &Value) {
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"].is_object(), "{body}");
}

pub(crate) fn repeat_join(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(" ")
}

/// Runs one operation over a fresh `graphql-transport-ws` connection to `app` served on TCP;
/// returns the first message about it (`next` or `error`).
pub(crate) async fn over_websocket(app: &TestApp, payload: Value) -> Value {
    let addr = serve_tcp(app.router.clone()).await;
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    let protocol = "graphql-transport-ws".parse().expect("header");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects");
    for message in [
        json!({ "type": "connection_init" }),
        json!({ "id": "1", "type": "subscribe", "payload": payload }),
    ] {
        let text = message.to_string().into();
        socket.send(Message::Text(text)).await.expect("sends");
    }
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer within 10 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["id"] == "1" {
                return value;
            }
        }
    }
}
