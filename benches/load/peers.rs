//! The reference servers of the load benchmark, run inside the benchmark process so that the
//! gateway is compared with what it stands between:
//! - the HTTP floor: axum answering the exact bytes the gateway answers, parsing nothing;
//! - a minimal Graph: fixed entity bytes for a GET by id, a real answer to `$batch`, and an
//!   optional latency per HTTP request (a `$batch` pays it once, as in Graph).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

/// Serves `app` on a fresh loopback port from a runtime of its own (one worker thread, so the
/// peers cannot take more than their share of the machine from the server under test).
fn spawn(app: Router) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the peers");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            sender
                .send(listener.local_addr().expect("an address"))
                .expect("the benchmark waits for the address");
            axum::serve(listener, app).await.expect("the peer serves");
        });
    });
    receiver.recv().expect("the peer started")
}

/// The floor: every POST to `/graphql` gets `body`, nothing is parsed.
pub fn floor(body: Bytes) -> SocketAddr {
    let app = Router::new().route(
        "/graphql",
        post(move || {
            let body = body.clone();
            async move { (JSON, body) }
        }),
    );
    spawn(app)
}

/// The Graph entity of one operation, as Graph sends it (with its OData annotation).
pub fn entity(id: &str) -> String {
    format!(
        r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles('x')/groupPolicyOperations/$entity","id":"{id}","operationType":"upload","operationStatus":"success","statusDetails":"chrome.admx and en-US/chrome.adml imported: 412 policies","lastModifiedDateTime":"2025-09-07T08:32:57.5081686Z"}}"#
    )
}

/// A minimal fast Graph under `/beta`, answering each HTTP request after `latency`.
pub fn upstream(latency: Duration) -> SocketAddr {
    let app = Router::new()
        .route(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}/groupPolicyOperations/{id}",
            get(by_id),
        )
        .route("/beta/$batch", post(batch))
        .with_state(latency);
    spawn(app)
}

async fn by_id(
    State(latency): State<Duration>,
    Path((_file, id)): Path<(String, String)>,
) -> impl IntoResponse {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    (JSON, entity(&id))
}

/// Answers every sub-request of a `$batch` with its entity (the id is the URL's last segment).
async fn batch(State(latency): State<Duration>, body: Bytes) -> impl IntoResponse {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let responses: Vec<Value> = request["requests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|sub| {
            let url = sub["url"].as_str().unwrap_or_default();
            let path = url.split('?').next().unwrap_or_default();
            let id = path.rsplit('/').next().unwrap_or_default();
            let body: Value = serde_json::from_str(&entity(id)).unwrap_or(Value::Null);
            json!({
                "id": sub["id"],
                "status": 200,
                "headers": { "Content-Type": "application/json" },
                "body": body,
            })
        })
        .collect();
    (JSON, json!({ "responses": responses }).to_string())
}
