//! The Graph REST backend against the fake Graph: what the gateway sends upstream (headers,
//! bodies, paths, query options), how it reads Graph's answers (statuses, errors, enums,
//! timestamps, paging) and how it retries, all observed on the wire. One file per behaviour;
//! this one holds what they share: paths, posting with headers, and reading what Graph got.

mod answer_room;
mod budget;
mod errors;
mod expand;
mod files;
mod headers;
mod paging;
mod retries;
mod safety;
mod table;
mod throttling;
mod values;
mod writes;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::support::helpers::*;
use fake_graph::{Canned, FakeGraph, Match, Recorded};

const ROOT: &str = "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles";

fn collection_path(file: &str) -> String {
    format!("{ROOT}/{file}/groupPolicyOperations")
}

fn entity_path(file: &str, id: &str) -> String {
    format!("{ROOT}/{file}/groupPolicyOperations/{id}")
}

async fn graph_app() -> TestApp {
    TestApp::new(Mode::Graph).await
}

/// A gateway reading operations through the navigation routes (`--graph-navigation-reads`),
/// over a fake that serves them: for the tests of that mode's own mechanics.
pub(crate) async fn navigation_app() -> TestApp {
    navigation_app_with(config()).await
}

/// [`navigation_app`] with `config`.
pub(crate) async fn navigation_app_with(mut config: gpo_gateway::config::Config) -> TestApp {
    config.graph.graph_navigation_reads = true;
    let app = TestApp::with_config(Mode::Graph, config).await;
    app.graph().set_navigation_reads(true);
    app
}

async fn graph_app_with_timeout(seconds: f64) -> TestApp {
    let mut config = config();
    config.graph.graph_timeout = Duration::from_secs_f64(seconds);
    TestApp::with_config(Mode::Graph, config).await
}

/// Posts a GraphQL operation with extra request headers; returns headers and body.
async fn post_with(
    app: &TestApp,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> (HeaderMap, Value) {
    let mut builder = app.post_request();
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .expect("a request");
    let (status, headers, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (headers, body)
}

/// Requests that were not `$batch` sub-requests.
fn plain_requests(graph: &FakeGraph) -> Vec<Recorded> {
    graph
        .requests()
        .into_iter()
        .filter(|r| !r.in_batch)
        .collect()
}

/// The decoded query pairs of a recorded request.
fn query_pairs(r: &Recorded) -> Vec<(String, String)> {
    url::form_urlencoded::parse(r.query.as_deref().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_param(r: &Recorded, name: &str) -> Option<String> {
    query_pairs(r)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A successful operation (with `details`) in a new file whose GETs are answered `canned` the
/// next `times` times; returns the file and the operation.
fn failing_reads(
    app: &TestApp,
    details: Option<&str>,
    canned: Canned,
    times: usize,
) -> (String, String) {
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", details);
    app.graph()
        .inject(Match::method("GET").path_contains(&file), canned, times);
    (file, id)
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// The only error of a response (asserting there is exactly one).
fn only_error(body: &Value) -> &Value {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected errors in {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    &errors[0]
}

fn ext<'a>(error: &'a Value, name: &str) -> &'a Value {
    &error["extensions"][name]
}

/// The GraphQL operations a status-mapping test can exercise.
#[derive(Clone, Copy, Debug)]
enum Call {
    Get,
    Update,
    Delete,
}

impl Call {
    fn method(self) -> &'static str {
        match self {
            Call::Get => "GET",
            Call::Update => "PATCH",
            Call::Delete => "DELETE",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Call::Get => GET,
            Call::Update => UPDATE,
            Call::Delete => DELETE,
        }
    }

    fn variables(self, file: &str, id: &str) -> Value {
        match self {
            Call::Update => {
                json!({ "f": file, "id": id, "input": { "operationStatus": "SUCCESS" } })
            }
            _ => json!({ "f": file, "id": id }),
        }
    }
}

/// Graph answers `call` once with `canned`; returns the gateway's answer and the
/// `client-request-id` the test sent.
async fn answer_with(app: &TestApp, call: Call, canned: Canned) -> (Value, String, String) {
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "inProgress", Some("x"));
    // A lookup reads the operation's file with `$expand`; the writes address the operation.
    let target = match call {
        Call::Get => &file,
        Call::Update | Call::Delete => &id,
    };
    app.graph().inject(
        Match::method(call.method())
            .path_contains(target)
            .in_batch(false),
        canned,
        1,
    );
    let client_request_id = guid();
    let (_, body) = post_with(
        app,
        &[("client-request-id", &client_request_id)],
        call.query(),
        call.variables(&file, &id),
    )
    .await;
    (body, client_request_id, id)
}

/// Asserts Graph's `status` answer to `call` becomes `code`, with Graph's own details.
async fn assert_mapped(call: Call, status: u16, graph_code: &str, code: &str) {
    let app = graph_app().await;
    let message = format!("Graph says no ({status})");
    let (body, client_request_id, _) = answer_with(
        &app,
        call,
        Canned::graph_error(status, graph_code, &message),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), code, "{call:?} {status}: {body}");
    assert_eq!(ext(error, "status"), status, "{body}");
    assert_eq!(ext(error, "graphCode"), graph_code, "{body}");
    let request_id = ext(error, "requestId").as_str().expect("requestId");
    assert!(is_guid(request_id), "{body}");
    assert_eq!(ext(error, "clientRequestId"), &json!(client_request_id));
    assert_eq!(error["message"], json!(message), "{body}");
    assert!(!body.to_string().contains(TOKEN));
    // Not retried: one upstream request of that method.
    assert_eq!(app.graph().count(&Match::method(call.method())), 1);
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// Captures every log line of this thread at TRACE until the guard is dropped.
    pub(crate) fn capture() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
        let logs = LogBuffer::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}
