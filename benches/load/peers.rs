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
pub(crate) fn floor(body: Bytes) -> SocketAddr {
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
pub(crate) fn entity(id: &str) -> String {
    format!(
        r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles('x')/groupPolicyOperations/$entity","id":"{id}","operationType":"upload","operationStatus":"success","statusDetails":"chrome.admx and en-US/chrome.adml imported: 412 policies","lastModifiedDateTime":"2025-09-07T08:32:57.5081686Z"}}"#
    )
}

/// A definition file as Graph sends it for `GET file?$expand=groupPolicyOperations`: the
/// read the gateway makes by default, holding every one of `operations`.
fn expanded_file(operations: &[String]) -> String {
    let entities: Vec<String> = operations.iter().map(|id| entity(id)).collect();
    format!(
        r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles(groupPolicyOperations())/$entity","id":"{FILE_ID}","displayName":"Contoso Browser","fileName":"contoso-browser.admx","languageCodes":["en-US"],"targetPrefix":"contoso","targetNamespace":"Contoso.Policies.Browser","policyType":"admxIngested","revision":"1.0","status":"available","uploadDateTime":"2025-09-07T08:32:57.5081686Z","lastModifiedDateTime":"2025-09-07T08:32:57.5081686Z","defaultLanguageCode":"en-US","groupPolicyUploadedLanguageFiles":[],"groupPolicyOperations":[{}]}}"#,
        entities.join(",")
    )
}

/// The file every benchmark lookup reads.
const FILE_ID: &str = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01";

/// A minimal fast Graph under `/beta`, answering each HTTP request after `latency`: the file
/// with `operations` expanded (the gateway's default read), each operation on its navigation
/// route (for `--graph-navigation-reads`), and `$batch`.
pub(crate) fn upstream(latency: Duration, operations: &[String]) -> SocketAddr {
    let file: Bytes = expanded_file(operations).into();
    let app = Router::new()
        .route(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}",
            get(move |State(latency): State<Duration>| {
                let file = file.clone();
                async move {
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    (JSON, file)
                }
            }),
        )
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
