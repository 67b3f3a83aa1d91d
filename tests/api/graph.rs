//! The Graph REST backend against the fake Graph: what the gateway sends upstream (headers,
//! bodies, paths, query options), how it reads Graph's answers (statuses, errors, enums,
//! timestamps, paging) and how it retries, all observed on the wire.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::fake_graph::{Canned, FakeGraph, Match, Recorded};
use crate::helpers::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

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

async fn graph_app_with_timeout(seconds: f64) -> TestApp {
    let mut config = config();
    config.graph_timeout = Duration::from_secs_f64(seconds);
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
    app.graph().inject(
        Match::method(call.method())
            .path_contains(&id)
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

// ---------------------------------------------------------------------------------------
// Headers and secrets
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn forwards_bearer_accept_user_agent_and_the_callers_client_request_id() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mine = guid();
    let (headers, body) = post_with(
        &app,
        &[("client-request-id", &mine)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"]["id"], json!(id));
    assert_eq!(
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(mine.as_str())
    );
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let sent = &requests[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(sent.header("accept"), Some("application/json"));
    let agent = sent.header("user-agent").expect("a User-Agent");
    assert!(agent.starts_with("gpo-gateway/"), "{agent}");
    assert_eq!(sent.header("client-request-id"), Some(mine.as_str()));
}

#[tokio::test]
async fn a_non_guid_client_request_id_is_replaced_by_a_fresh_guid_the_response_repeats() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mut seen = Vec::new();
    for theirs in ["not-a-guid", "0c9e4b7a1d2f4a6b8e3c5f7a9b1c2d01", ""] {
        let (headers, body) = post_with(
            &app,
            &[("client-request-id", theirs)],
            GET,
            json!({ "f": file, "id": id }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        let answered = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("the response carries client-request-id")
            .to_owned();
        assert!(is_guid(&answered), "{answered}");
        assert_ne!(answered, theirs);
        seen.push(answered);
    }
    // Without any client-request-id at all, too.
    let (headers, _) = post_with(&app, &[], GET, json!({ "f": file, "id": id })).await;
    seen.push(
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("client-request-id")
            .to_owned(),
    );
    let sent: Vec<String> = app
        .graph()
        .requests()
        .iter()
        .map(|r| r.header("client-request-id").expect("sent").to_owned())
        .collect();
    assert_eq!(sent, seen, "upstream got the id the response repeats");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a fresh id per request: {seen:?}");
}

#[tokio::test]
async fn an_upper_case_guid_client_request_id_is_kept() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mine = guid().to_uppercase();
    let (headers, _) = post_with(
        &app,
        &[("client-request-id", &mine)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    let answered = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("client-request-id");
    // Kept exactly as sent, so it matches the client's own logs.
    assert_eq!(answered, mine);
    let sent = app.graph().requests();
    assert_eq!(sent[0].header("client-request-id"), Some(mine.as_str()));
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
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_token_never_appears_in_logs_or_errors() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = graph_app().await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", Some("x")).await;
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::intune_error(403, "Forbidden", "Application is not authorized"),
        1,
    );
    let failed = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&failed), "FORBIDDEN");
    // A Graph error that quotes the Authorization header back must not leak it either.
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::graph_error(401, "InvalidAuthenticationToken", "Access token is empty."),
        1,
    );
    let unauthenticated = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&unauthenticated), "UNAUTHENTICATED");
    let listed = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id }])
    );
    // Two lookups: a $batch, whose sub-requests Graph authenticates with the outer token.
    let batched = app
        .data(
            "query($f: ID!, $id: ID!, $other: ID!) {
               a: groupPolicyOperation(definitionFileId: $f, id: $id) { id }
               b: groupPolicyOperation(definitionFileId: $f, id: $other) { id } }",
            json!({ "f": file, "id": id, "other": guid() }),
        )
        .await;
    assert_eq!(batched["a"]["id"], json!(id));
    assert!(app.graph().requests().iter().any(|r| r.in_batch));
    // No GraphQL error message or extension carries the token.
    for body in [&failed, &unauthenticated, &listed] {
        assert!(!body.to_string().contains(TOKEN), "{body}");
    }
    // The fake saw the token, so the calls did carry it.
    assert!(
        app.graph()
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );

    let text = logs.text();
    assert!(!text.is_empty(), "TRACE logging captured nothing");
    // The gateway's own events (its Graph calls included) were captured, not only the HTTP stack's.
    assert!(text.contains("gpo_gateway::backend::graph"), "{text}");
    assert!(
        !text.contains(TOKEN),
        "the token leaked into the logs:\n{text}"
    );
    // The JWT's payload half alone must not leak either.
    let half = &TOKEN[TOKEN.len() / 2..];
    assert!(!text.contains(half), "part of the token leaked:\n{text}");
}

#[tokio::test]
async fn a_missing_bearer_token_is_unauthenticated_and_nothing_reaches_graph() {
    let mut app = graph_app().await;
    app.token = None;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    let body = app.gql(LIST, json!({ "f": file })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let body = app
        .gql(
            CREATE,
            json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    // A scheme other than Bearer, or an empty token, is no token either.
    for authorization in ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer"] {
        let (_, body) = post_with(
            &app,
            &[("authorization", authorization)],
            GET,
            json!({ "f": file, "id": id }),
        )
        .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{authorization}: {body}");
    }
    assert_eq!(app.graph().requests().len(), 0);
}

// ---------------------------------------------------------------------------------------
// Request bodies and success statuses
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_posts_exactly_the_body_graph_expects() {
    let app = graph_app().await;
    let file = app.new_file().await;
    let details = "Téléversement de chrome.admx …";
    let created = app
        .data(
            CREATE,
            json!({ "f": file, "input": { "operationType": "UPLOAD_NEW_VERSION", "operationStatus": "IN_PROGRESS", "statusDetails": details } }),
        )
        .await["createGroupPolicyOperation"]
        .clone();
    assert_eq!(created["operationType"], "UPLOAD_NEW_VERSION");
    assert_eq!(created["statusDetails"], details);
    let posts: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.path, collection_path(&file));
    assert_eq!(post.query, None);
    assert_eq!(
        post.body,
        Some(json!({
            "@odata.type": "#microsoft.graph.groupPolicyOperation",
            "operationType": "uploadNewVersion",
            "operationStatus": "inProgress",
            "statusDetails": details,
        }))
    );
    let content_type = post.header("content-type").expect("a Content-Type");
    assert_eq!(
        content_type.split(';').next().map(str::trim),
        Some("application/json")
    );
    // Stored as sent.
    let stored = app
        .graph()
        .entity(&file, created["id"].as_str().expect("id"))
        .expect("stored");
    assert_eq!(stored["statusDetails"], details);
}

#[tokio::test]
async fn update_patches_only_changed_fields_and_sends_null_to_clear_details() {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "inProgress", Some("working"));
    let updated = app
        .update(&file, &id, json!({ "operationStatus": "SUCCESS" }))
        .await;
    assert_eq!(updated["operationStatus"], "SUCCESS");
    assert_eq!(updated["statusDetails"], "working");
    let cleared = app
        .update(&file, &id, json!({ "statusDetails": null }))
        .await;
    assert_eq!(cleared["statusDetails"], Value::Null);
    let both = app
        .update(
            &file,
            &id,
            json!({ "operationType": "REMOVE", "statusDetails": "gone" }),
        )
        .await;
    assert_eq!(both["operationType"], "REMOVE");

    let patches: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 3);
    for patch in &patches {
        assert_eq!(patch.path, entity_path(&file, &id));
        assert_eq!(patch.query, None);
        let content_type = patch.header("content-type").expect("a Content-Type");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
    }
    let odata = "#microsoft.graph.groupPolicyOperation";
    assert_eq!(
        patches[0].body,
        Some(json!({ "@odata.type": odata, "operationStatus": "success" }))
    );
    assert_eq!(
        patches[1].body,
        Some(json!({ "@odata.type": odata, "statusDetails": null }))
    );
    let text = patches[1].body_text.as_deref().expect("a body");
    assert!(
        text.replace(' ', "").contains("\"statusDetails\":null"),
        "{text}"
    );
    assert_eq!(
        patches[2].body,
        Some(json!({ "@odata.type": odata, "operationType": "remove", "statusDetails": "gone" }))
    );
    let stored = app.graph().entity(&file, &id).expect("stored");
    assert_eq!(stored["operationStatus"], "success");
    assert_eq!(stored["operationType"], "remove");
}

#[tokio::test]
async fn create_accepts_201_and_200() {
    for status in [201, 200] {
        let app = graph_app().await;
        app.graph().set_create_status(status);
        let file = app.new_file().await;
        let created = app
            .data(
                CREATE,
                json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS", "statusDetails": "s" } }),
            )
            .await["createGroupPolicyOperation"]
            .clone();
        let id = created["id"].as_str().expect("id");
        assert!(is_guid(id), "{status}: {created}");
        assert_eq!(created["definitionFileId"], json!(file));
        assert_eq!(created["operationStatus"], "IN_PROGRESS");
        assert!(app.graph().entity(&file, id).is_some());
        assert_eq!(app.graph().count(&Match::method("POST")), 1);
    }
}

#[tokio::test]
async fn patch_answered_200_with_a_body_is_used_without_a_reread() {
    let app = graph_app().await;
    app.graph().set_patch_no_content(false);
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let updated = app
        .update(
            &file,
            &id,
            json!({ "operationStatus": "FAILED", "statusDetails": "bad ADMX" }),
        )
        .await;
    assert_eq!(updated["operationStatus"], "FAILED");
    assert_eq!(updated["statusDetails"], "bad ADMX");
    let stored = app.graph().entity(&file, &id).expect("stored");
    assert_eq!(
        updated["lastModifiedDateTime"],
        stored["lastModifiedDateTime"]
    );
    let methods: Vec<String> = app
        .graph()
        .requests()
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, ["PATCH"]);
}

#[tokio::test]
async fn patch_answered_204_is_followed_by_a_get_of_the_new_state() {
    let app = graph_app().await;
    app.graph().set_patch_no_content(true);
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let updated = app
        .update(
            &file,
            &id,
            json!({ "operationStatus": "SUCCESS", "statusDetails": "412 policies" }),
        )
        .await;
    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["operationType"], "UPLOAD");
    assert_eq!(updated["operationStatus"], "SUCCESS");
    assert_eq!(updated["statusDetails"], "412 policies");
    let stored = app.graph().entity(&file, &id).expect("stored");
    assert_eq!(
        updated["lastModifiedDateTime"],
        stored["lastModifiedDateTime"]
    );
    let requests = app.graph().requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["PATCH", "GET"], "{requests:?}");
    assert_eq!(requests[1].path, entity_path(&file, &id));
}

// ---------------------------------------------------------------------------------------
// Status -> error code mapping
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn status_401_is_unauthenticated() {
    assert_mapped(
        Call::Get,
        401,
        "InvalidAuthenticationToken",
        "UNAUTHENTICATED",
    )
    .await;
    assert_mapped(
        Call::Update,
        401,
        "InvalidAuthenticationToken",
        "UNAUTHENTICATED",
    )
    .await;
}

#[tokio::test]
async fn status_403_is_forbidden() {
    assert_mapped(Call::Get, 403, "Forbidden", "FORBIDDEN").await;
    assert_mapped(Call::Delete, 403, "Forbidden", "FORBIDDEN").await;
}

#[tokio::test]
async fn a_read_only_token_gets_forbidden_on_writes() {
    let mut app = graph_app().await;
    app.token = Some("read-only".into());
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let body = app
        .gql(
            UPDATE,
            json!({ "f": file, "id": id, "input": { "operationStatus": "SUCCESS" } }),
        )
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN", "{body}");
    // Intune's nested JSON message is unwrapped to its human text.
    let message = error["message"].as_str().expect("message");
    assert!(
        message.starts_with("Application is not authorized"),
        "{message}"
    );
    assert!(!message.contains("_version"), "{message}");
}

#[tokio::test]
async fn status_404_on_read_is_null_without_error() {
    let app = graph_app().await;
    let (body, _, _) = answer_with(
        &app,
        Call::Get,
        Canned::graph_error(404, "ResourceNotFound", "Resource not found."),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    // And a real miss from the fake.
    let body = app.gql(GET, json!({ "f": guid(), "id": guid() })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    assert_eq!(app.graph().count(&Match::method("GET")), 2);
}

#[tokio::test]
async fn status_404_on_update_and_delete_is_not_found() {
    assert_mapped(Call::Update, 404, "ResourceNotFound", "NOT_FOUND").await;
    assert_mapped(Call::Delete, 404, "ResourceNotFound", "NOT_FOUND").await;
}

#[tokio::test]
async fn status_400_is_bad_user_input() {
    assert_mapped(Call::Get, 400, "BadRequest", "BAD_USER_INPUT").await;
    assert_mapped(Call::Update, 400, "BadRequest", "BAD_USER_INPUT").await;
}

#[tokio::test]
async fn status_409_and_412_are_conflict() {
    assert_mapped(Call::Update, 409, "Conflict", "CONFLICT").await;
    assert_mapped(Call::Update, 412, "PreconditionFailed", "CONFLICT").await;
    assert_mapped(Call::Delete, 409, "Conflict", "CONFLICT").await;
}

#[tokio::test]
async fn status_500_and_502_are_upstream_error() {
    assert_mapped(Call::Get, 500, "InternalServerError", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Get, 502, "BadGateway", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Update, 500, "InternalServerError", "UPSTREAM_ERROR").await;
}

#[tokio::test]
async fn status_429_after_retries_is_throttled_with_retry_after() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::throttled("0.2"),
        10,
    );
    let client_request_id = guid();
    let (_, body) = post_with(
        &app,
        &[("client-request-id", &client_request_id)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    assert_eq!(ext(error, "status"), 429);
    assert_eq!(ext(error, "graphCode"), "TooManyRequests");
    assert_eq!(ext(error, "retryAfter"), 1, "seconds, rounded up: {body}");
    assert_eq!(ext(error, "clientRequestId"), &json!(client_request_id));
    assert!(ext(error, "requestId").as_str().is_some_and(is_guid));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Too many requests")),
        "{body}"
    );
    // One try and three retries.
    assert_eq!(app.graph().count(&Match::method("GET")), 4);
}

#[tokio::test]
async fn an_unreadable_body_on_200_is_upstream_error() {
    let app = graph_app().await;
    let (body, client_request_id, _) = answer_with(
        &app,
        Call::Get,
        Canned::raw(
            200,
            "{\"id\":\"0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01\",\"opera",
        ),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 200);
    assert_eq!(ext(error, "clientRequestId"), &json!(client_request_id));
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
}

#[tokio::test]
async fn a_slow_upstream_beyond_graph_timeout_is_upstream_timeout() {
    let app = graph_app_with_timeout(0.5).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    app.graph()
        .set_delay(Match::method("GET"), Duration::from_millis(2500));
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_TIMEOUT", "{body}");
    assert!(ext(error, "clientRequestId").as_str().is_some_and(is_guid));
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(2000),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn intune_nested_error_messages_become_their_human_text() {
    let app = graph_app().await;
    let human = "Application is not authorized to perform this operation";
    let (body, _, _) = answer_with(
        &app,
        Call::Update,
        Canned::intune_error(403, "Forbidden", human),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN");
    assert_eq!(ext(error, "graphCode"), "Forbidden");
    let message = error["message"].as_str().expect("a message");
    assert!(message.starts_with(human), "{message}");
    assert!(
        !message.contains("_version") && !message.starts_with('{'),
        "{message}"
    );
    // A plain message stays as it is.
    let (body, _, _) = answer_with(
        &app,
        Call::Get,
        Canned::graph_error(400, "BadRequest", "Invalid filter clause"),
    )
    .await;
    assert_eq!(only_error(&body)["message"], "Invalid filter clause");
}

#[tokio::test]
async fn a_graph_error_on_one_field_leaves_siblings_resolved() {
    let app = graph_app().await;
    let file = guid();
    let failing = app.graph().insert_op(&file, "upload", "inProgress", None);
    let other = app
        .graph()
        .insert_op(&file, "remove", "success", Some("ok"));
    let query = "query($f: ID!, $a: ID!, $b: ID!) {
      broken: groupPolicyOperation(definitionFileId: $f, id: $a) { id }
      list: groupPolicyOperations(definitionFileId: $f) { nodes { id statusDetails } }
      fine: groupPolicyOperation(definitionFileId: $f, id: $b) { id statusDetails }
    }";
    // The two lookups go out as one $batch; the failure hits that key's sub-request only.
    app.graph().inject(
        Match::method("GET").path_contains(&failing),
        Canned::graph_error(403, "Forbidden", "Nope"),
        1,
    );
    let body = app
        .gql(query, json!({ "f": file, "a": failing, "b": other }))
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN", "{body}");
    assert_eq!(error["path"], json!(["broken"]));
    assert_eq!(body["data"]["broken"], Value::Null);
    assert_eq!(
        body["data"]["fine"],
        json!({ "id": other, "statusDetails": "ok" })
    );
    assert_eq!(
        body["data"]["list"]["nodes"],
        json!([{ "id": failing, "statusDetails": null }, { "id": other, "statusDetails": "ok" }])
    );
}

// ---------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------

/// One 429 with `retry_after`, then success: the GET is retried after at least `min_wait`.
async fn retried_after(retry_after: &str, min_wait: Duration) {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "success", Some("ok"));
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::throttled(retry_after),
        1,
    );
    let started = Instant::now();
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "ok");
    assert_eq!(app.graph().count(&Match::method("GET")), 2);
    assert_eq!(app.graph().pending_injections(), 0);
    assert!(
        elapsed >= min_wait,
        "Retry-After {retry_after}: retried after {elapsed:?}"
    );
    assert!(elapsed < min_wait + Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_in_whole_seconds_is_honoured() {
    retried_after("1", Duration::from_millis(950)).await;
}

#[tokio::test]
async fn retry_after_in_fractional_seconds_is_honoured() {
    retried_after("0.2", Duration::from_millis(190)).await;
    retried_after("1.5", Duration::from_millis(1450)).await;
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have whole seconds: "now + 2 s" truncated is 1 to 2 s away.
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    retried_after(&when, Duration::from_millis(900)).await;
}

#[tokio::test]
async fn a_post_is_retried_on_429_and_creates_once() {
    let app = graph_app().await;
    let file = app.new_file().await;
    app.graph()
        .inject(Match::method("POST"), Canned::throttled("0.2"), 1);
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    assert_eq!(app.graph().count(&Match::method("POST")), 2);
    let stored = app.graph().entities(&file);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], json!(id));
}

#[tokio::test]
async fn a_post_is_not_retried_on_503() {
    let app = graph_app().await;
    let file = guid();
    app.graph().inject(
        Match::method("POST"),
        Canned::graph_error(503, "ServiceUnavailable", "Service is unavailable")
            .header("Retry-After", "0.1"),
        1,
    );
    let body = app
        .gql(
            CREATE,
            json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
        )
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 503);
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
    assert!(app.graph().entities(&file).is_empty());
}

#[tokio::test]
async fn a_get_is_retried_on_503_and_504() {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "success", Some("ok"));
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::graph_error(503, "ServiceUnavailable", "down").header("Retry-After", "0.1"),
        1,
    );
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::graph_error(504, "GatewayTimeout", "slow").header("Retry-After", "0.1"),
        1,
    );
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "ok");
    assert_eq!(app.graph().count(&Match::method("GET")), 3);
    // Lists (GETs too) are retried the same way.
    app.graph().inject(
        Match::method("GET").path_contains("groupPolicyOperations"),
        Canned::graph_error(503, "ServiceUnavailable", "down").header("Retry-After", "0.1"),
        1,
    );
    let listed = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id }])
    );
    assert_eq!(app.graph().count(&Match::method("GET")), 5);
}

#[tokio::test]
async fn throttling_gives_up_within_the_time_budget() {
    let app = graph_app_with_timeout(2.0).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::throttled("10"),
        100,
    );
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    assert_eq!(ext(error, "retryAfter"), 10);
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    let attempts = app.graph().count(&Match::method("GET"));
    assert!((1..=4).contains(&attempts), "{attempts} attempts");

    // Without Retry-After the backoff is bounded by the budget too.
    app.graph().clear_injections();
    app.graph().clear_requests();
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::graph_error(429, "TooManyRequests", "slow down"),
        100,
    );
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    assert_eq!(code(&body), "THROTTLED", "{body}");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    let attempts = app.graph().count(&Match::method("GET"));
    assert!((1..=4).contains(&attempts), "{attempts} attempts");
}

// ---------------------------------------------------------------------------------------
// Reading Graph's values
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_enum_members_from_graph_are_unknown_future_value() {
    let app = graph_app().await;
    let file = guid();
    let id = FakeGraph::new_id();
    app.graph().insert(
        &file,
        json!({ "id": id, "operationType": "uploadSomethingNew", "operationStatus": "paused",
                "statusDetails": null, "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z" }),
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let op = &body["data"]["groupPolicyOperation"];
    assert_eq!(op["operationType"], "UNKNOWN_FUTURE_VALUE");
    assert_eq!(op["operationStatus"], "UNKNOWN_FUTURE_VALUE");
    assert_eq!(op["lastModifiedDateTime"], "2025-09-07T08:32:57.5081686Z");
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { id operationType operationStatus } } }";
    let listed = app.data(query, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id, "operationType": "UNKNOWN_FUTURE_VALUE", "operationStatus": "UNKNOWN_FUTURE_VALUE" }])
    );
}

#[tokio::test]
async fn last_modified_date_time_is_returned_verbatim() {
    let app = graph_app().await;
    let file = guid();
    let stamps = [
        "2016-12-31T23:59:40.8735716+03:00",
        "0001-01-01T00:00:00Z",
        "2025-09-07T08:42:58.653605Z",
    ];
    let mut ids = Vec::new();
    for stamp in stamps {
        let id = FakeGraph::new_id();
        app.graph().insert(
            &file,
            json!({ "@odata.type": "#microsoft.graph.groupPolicyOperation", "id": id,
                    "operationType": "upload", "operationStatus": "success",
                    "statusDetails": "", "lastModifiedDateTime": stamp }),
        );
        ids.push(id);
    }
    for (id, stamp) in ids.iter().zip(stamps) {
        let data = app.data(GET, json!({ "f": file, "id": id })).await;
        assert_eq!(
            data["groupPolicyOperation"]["lastModifiedDateTime"], stamp,
            "{data}"
        );
        assert_eq!(data["groupPolicyOperation"]["statusDetails"], "");
    }
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { lastModifiedDateTime } } }";
    let listed = app.data(query, json!({ "f": file })).await;
    let listed: Vec<&Value> = listed["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| &n["lastModifiedDateTime"])
        .collect();
    assert_eq!(listed, stamps.map(Value::from).iter().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// What reaches Graph
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_ids_never_reach_graph() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let long = "a".repeat(10 * 1024);
    let hostile = [
        "../x",
        "a/b",
        "x?$filter=1",
        "%2e%2e",
        "",
        long.as_str(),
        "..",
        "{0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01}",
        "0c9e4b7a1d2f4a6b8e3c5f7a9b1c2d01",
        "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01/../x",
        "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d0%",
    ];
    for bad in hostile {
        let calls = [
            (GET, json!({ "f": file, "id": bad })),
            (GET, json!({ "f": bad, "id": id })),
            (
                UPDATE,
                json!({ "f": file, "id": bad, "input": { "statusDetails": "x" } }),
            ),
            (DELETE, json!({ "f": file, "id": bad })),
            (DELETE, json!({ "f": bad, "id": id })),
            (LIST, json!({ "f": bad })),
            (
                CREATE,
                json!({ "f": bad, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
            ),
        ];
        for (query, variables) in calls {
            let body = app.gql(query, variables).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{bad:.40}: {body:.300}");
        }
        assert!(
            app.graph().requests().is_empty(),
            "{bad:.40} reached Graph: {:?}",
            app.graph().requests()
        );
    }

    // Valid calls (any case) reach exactly the GUID-only paths.
    let upper = id.to_uppercase();
    let upper_file = file.to_uppercase();
    app.data(GET, json!({ "f": upper_file, "id": upper })).await;
    app.data(LIST, json!({ "f": file })).await;
    app.update(&file, &id, json!({ "statusDetails": "x" }))
        .await;
    let created = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    app.data(DELETE, json!({ "f": file, "id": created })).await;
    let allowed = [collection_path(&file), entity_path(&file, &id)];
    let created_path = entity_path(&file, &created);
    let requests = app.graph().requests();
    assert!(requests.len() >= 6, "{requests:?}");
    for r in &requests {
        assert!(!r.in_batch);
        let ok = allowed
            .iter()
            .chain([&created_path])
            .any(|p| p.eq_ignore_ascii_case(&r.path));
        assert!(ok, "unexpected path {} for {}", r.path, r.method);
        for (key, _) in query_pairs(r) {
            assert!(
                ["$select", "$top"].contains(&key.as_str()),
                "unexpected query option {key} in {:?}",
                r.query
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_cursor_never_reaches_graph() {
    let app = graph_app().await;
    app.graph().set_page_size(2);
    let file = guid();
    for _ in 0..5 {
        app.graph().insert_op(&file, "upload", "success", None);
    }
    let data = app.data(LIST, json!({ "f": file, "first": 2 })).await;
    let cursor = data["groupPolicyOperations"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("an endCursor")
        .to_owned();
    // The cursor still works as issued.
    app.data(LIST, json!({ "f": file, "first": 2, "after": cursor }))
        .await;

    let (payload, tag) = cursor.split_once('.').expect("payload.tag");
    let json_text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("utf-8");
    let mut doc: Value = serde_json::from_str(&json_text).expect("json");
    // Point the continuation at something Graph must never be sent.
    let evil = json!([["$filter", "1 eq 1"], ["$skiptoken", "../../x"]]);
    doc["p"]["p"] = evil.clone();
    doc["p"]["n"] = evil;
    let edited = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&doc).expect("json"))
    );
    let mut flipped = cursor.clone().into_bytes();
    let middle = flipped.len() / 3;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let truncated = cursor[..cursor.len() - 2].to_owned();

    app.graph().clear_requests();
    for bad in [edited, flipped, truncated, "bm90LWEtY3Vyc29y".to_owned()] {
        let body = app
            .gql(LIST, json!({ "f": file, "first": 2, "after": bad }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert_eq!(app.graph().requests().len(), 0, "{bad} reached Graph");
    }
}

#[tokio::test]
async fn lookups_and_lists_read_whole_entities() {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "success", Some("details"));

    // Whatever the selection, Graph is asked for the whole entity (no `$select`), and the
    // client still gets exactly what it selected.
    let query = "query($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id operationStatus } }";
    let data = app.data(query, json!({ "f": file, "id": id })).await;
    assert_eq!(
        data["groupPolicyOperation"],
        json!({ "id": id, "operationStatus": "SUCCESS" })
    );
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { statusDetails } } }";
    let data = app.data(query, json!({ "f": file })).await;
    assert_eq!(
        data["groupPolicyOperations"]["nodes"],
        json!([{ "statusDetails": "details" }])
    );
    let requests = plain_requests(app.graph());
    assert_eq!(requests.len(), 2, "{requests:?}");
    for request in &requests {
        assert_eq!(query_param(request, "$select"), None, "{request:?}");
    }
}

#[tokio::test]
async fn paging_follows_several_upstream_pages_in_order() {
    let app = graph_app().await;
    app.graph().set_page_size(2);
    let file = guid();
    let expected: Vec<String> = (0..7)
        .map(|i| {
            app.graph()
                .insert_op(&file, "upload", "success", Some(&format!("op {i}")))
        })
        .collect();
    let (ids, pages) = list_all(&app, &file, 3).await;
    assert_eq!(ids, expected);
    assert_eq!(pages, 3);
    let lists: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // 7 items at 2 per upstream page: at least 4 upstream pages were read.
    assert!(lists.len() >= 4, "{}", lists.len());
    // `first` becomes `$top` on the first upstream call.
    assert_eq!(query_param(&lists[0], "$top").as_deref(), Some("3"));
    assert_eq!(query_param(&lists[0], "$skiptoken"), None);
    for r in &lists {
        assert_eq!(r.path, collection_path(&file));
        let top: usize = query_param(r, "$top")
            .expect("$top on every page")
            .parse()
            .expect("a number");
        assert!((1..=3).contains(&top), "{top}");
    }
    assert!(
        lists
            .iter()
            .skip(1)
            .all(|r| query_param(r, "$skiptoken").is_some())
    );
}

#[tokio::test]
async fn paging_past_a_leading_empty_page_still_yields_the_first_items() {
    let app = graph_app().await;
    app.graph().set_leading_empty_page(true);
    let file = guid();
    let expected: Vec<String> = (0..4)
        .map(|_| app.graph().insert_op(&file, "upload", "success", None))
        .collect();
    let data = app.data(LIST, json!({ "f": file, "first": 3 })).await;
    let conn = &data["groupPolicyOperations"];
    let ids: Vec<&str> = conn["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        expected[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let (all, _) = list_all(&app, &file, 3).await;
    assert_eq!(all, expected);
}

/// GRAPH.md: "a page may be empty and still have a next link". However many empty pages
/// Graph serves in a row, a page that says `hasNextPage: true` must give the client an
/// `endCursor` to continue from; otherwise the client cannot go on (and re-asking without
/// `after` starts over).
#[tokio::test]
async fn a_long_run_of_empty_upstream_pages_never_leaves_the_client_without_a_cursor() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    // Eleven empty pages in a row, each linking on (back to the collection's start, so the
    // fake serves the real first page once they are used up).
    let next = format!("{}?$top=3", app.graph().collection_url(&file));
    app.graph().inject(
        Match::method("GET").path_contains("groupPolicyOperations"),
        Canned::json(200, json!({ "value": [], "@odata.nextLink": next })),
        11,
    );
    let body = app.gql(LIST, json!({ "f": file, "first": 3 })).await;
    let conn = &body["data"]["groupPolicyOperations"];
    if body.get("errors").is_none() && conn["pageInfo"]["hasNextPage"] == true {
        assert!(
            conn["pageInfo"]["endCursor"].is_string(),
            "hasNextPage without an endCursor: the client cannot continue: {body}"
        );
    }
    if body.get("errors").is_none() && conn["pageInfo"]["hasNextPage"] == false {
        assert_eq!(conn["nodes"], json!([{ "id": id }]), "{body}");
    }
}

#[tokio::test]
async fn first_becomes_top() {
    let app = graph_app().await;
    let file = guid();
    for _ in 0..3 {
        app.graph().insert_op(&file, "upload", "success", None);
    }
    for first in [1, 2, 25, 100] {
        app.graph().clear_requests();
        let data = app.data(LIST, json!({ "f": file, "first": first })).await;
        let got = data["groupPolicyOperations"]["nodes"]
            .as_array()
            .expect("nodes")
            .len();
        assert_eq!(got, first.min(3));
        let requests = plain_requests(app.graph());
        assert_eq!(
            query_param(&requests[0], "$top"),
            Some(first.to_string()),
            "first: {first}"
        );
    }
    // Omitted `first` is 25.
    app.graph().clear_requests();
    app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        query_param(&plain_requests(app.graph())[0], "$top").as_deref(),
        Some("25")
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let elsewhere = format!(
        "{}/beta/deviceManagement/somewhereElse",
        app.graph().origin()
    );
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::empty(302).header("Location", &elsewhere),
        1,
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 302);
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, entity_path(&file, &id));
}

#[tokio::test]
async fn a_delete_retried_after_a_503_that_finds_nothing_left_succeeded() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    // The first DELETE is answered 503 although Graph went on to delete the operation, so
    // the retry meets a 404: the delete went through.
    let this = Match::method("DELETE").path_contains(&id);
    app.graph().inject(
        this.clone(),
        Canned::graph_error(503, "ServiceUnavailable", "busy").header("Retry-After", "0.1"),
        1,
    );
    app.graph().inject(
        this.clone(),
        Canned::graph_error(404, "ResourceNotFound", "gone"),
        1,
    );
    let body = app.gql(DELETE, json!({ "f": file, "id": id })).await;
    assert_eq!(
        body["data"]["deleteGroupPolicyOperation"],
        json!(id),
        "{body}"
    );
    assert_eq!(app.graph().count(&this), 2, "retried once");
    assert_eq!(app.graph().pending_injections(), 0);
    // A DELETE of a missing operation on the first attempt is still NOT_FOUND.
    let body = app.gql(DELETE, json!({ "f": file, "id": guid() })).await;
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn one_operation_looks_up_at_most_500_operations() {
    // A Graph budget large enough that the lookup cap is what stops the request, and guard
    // caps that would otherwise refuse the document first.
    let mut config = config();
    config.graph_request_budget = 1000;
    lift_query_caps(&mut config);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = guid();
    let aliases: String = (0..510)
        .map(|i| {
            format!(
                "o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{}\") {{ id }} ",
                guid()
            )
        })
        .collect();
    let body = app.gql(&format!("{{ {aliases} }}"), json!({})).await;
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 10, "{}", errors.len());
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "LIMIT_EXCEEDED")
    );
    let batches = app
        .graph()
        .count(&Match::method("POST").path_contains("$batch"));
    assert_eq!(
        batches, 25,
        "500 keys in batches of 20; the refused ten never reach Graph"
    );
}

#[tokio::test]
async fn a_next_link_to_another_resource_is_never_followed() {
    let app = graph_app().await;
    let file = guid();
    let other = format!(
        "{}/deviceManagement/deviceConfigurations?$skiptoken=abc",
        app.graph().base_url()
    );
    for link in [
        other.as_str(),
        "https://evil.example/beta/x?$skiptoken=1",
        "not a url",
    ] {
        app.graph().clear_requests();
        app.graph().inject(
            Match::method("GET").path_contains("groupPolicyOperations"),
            Canned::json(200, json!({ "value": [], "@odata.nextLink": link })),
            1,
        );
        let body = app.gql(LIST, json!({ "f": file, "first": 3 })).await;
        assert_eq!(code(&body), "UPSTREAM_ERROR", "{link}: {body}");
        assert_eq!(app.graph().requests().len(), 1, "{link} was not fetched");
    }
}
