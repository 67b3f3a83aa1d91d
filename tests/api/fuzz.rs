//! A property test over the HTTP entry point: arbitrary methods, paths, query strings, headers
//! (content type, accept, content length, CSRF and upgrade headers) and bodies (bytes, JSON,
//! GraphQL requests and batches) go through the real router. Whatever arrives, the gateway
//! never panics and never answers 5xx; on `/graphql` it answers a well-formed GraphQL response
//! or a plain HTTP error status, and every error code is one of the contract's.
//!
//! `cargo test` runs proptest's default 256 cases (a few seconds). A longer campaign:
//! `PROPTEST_CASES=100000 cargo test --test api fuzz -- --nocapture`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::helpers::AllBytes;
use crate::support::helpers::{DEMO_FILE, DEMO_OP, TestApp};

/// The contract's error codes (the end of contract.graphql).
const CODES: &[&str] = &[
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "PERSISTED_QUERY_NOT_FOUND",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "THROTTLED",
    "UPSTREAM_ERROR",
    "UPSTREAM_TIMEOUT",
    "LIMIT_EXCEEDED",
    "INTERNAL_SERVER_ERROR",
];

/// One generated HTTP request, before it is built.
#[derive(Debug, Clone)]
struct Sent {
    method: &'static str,
    path: &'static str,
    query: Option<String>,
    headers: Vec<(&'static str, String)>,
    content_length: Option<String>,
    body: Vec<u8>,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|n| json!(n)),
        ".{0,24}".prop_map(Value::String),
        Just(json!(DEMO_FILE)),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-zA-Z]{0,8}", inner, 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn graphql_text() -> impl Strategy<Value = String> {
    let list = format!(
        "query L {{ groupPolicyOperations(definitionFileId: \"{DEMO_FILE}\", first: 2) {{ nodes {{ id }} pageInfo {{ endCursor }} }} }}"
    );
    let get = format!(
        "query($f: ID!, $id: ID!) {{ groupPolicyOperation(definitionFileId: $f, id: $id) {{ id operationStatus }} }} # {DEMO_OP}"
    );
    prop_oneof![
        Just("{ __typename }".to_owned()),
        Just(list),
        Just(get),
        Just("{ __schema { types { name fields { name } } } }".to_owned()),
        Just("query A { __typename } query B { __typename }".to_owned()),
        Just("mutation { deleteGroupPolicyOperation(definitionFileId: \"x\", id: \"y\") }".to_owned()),
        Just("subscription { groupPolicyOperationChanged(definitionFileId: \"x\", id: \"y\") { id } }".to_owned()),
        "[{}()a-zA-Z_:$!@ \"\\.,0-9\\[\\]#=-]{0,120}",
        ".{0,120}",
    ]
}

fn graphql_request() -> impl Strategy<Value = Value> {
    let extensions = prop_oneof![
        Just(json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } })),
        "[0-9a-f]{0,70}"
            .prop_map(|h| json!({ "persistedQuery": { "version": 1, "sha256Hash": h } })),
        json_value(),
    ];
    (
        proptest::option::of(graphql_text()),
        proptest::option::of(json_value()),
        proptest::option::of(prop_oneof![Just("L".to_owned()), "[A-Za-z]{0,6}"]),
        proptest::option::of(extensions),
    )
        .prop_map(|(query, variables, name, extensions)| {
            let mut request = serde_json::Map::new();
            let fields = [
                ("query", query.map(Value::String)),
                ("variables", variables),
                ("operationName", name.map(Value::String)),
                ("extensions", extensions),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    request.insert(key.to_owned(), value);
                }
            }
            Value::Object(request)
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => graphql_request().prop_map(|r| r.to_string().into_bytes()),
        1 => vec(graphql_request(), 0..13).prop_map(|b| Value::Array(b).to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..512),
    ]
}

fn query_string() -> impl Strategy<Value = Option<String>> {
    let encoded =
        |s: String| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    proptest::option::of(prop_oneof![
        (graphql_text(), proptest::option::of(json_value())).prop_map(move |(q, v)| {
            let mut query = format!("query={}", encoded(q));
            if let Some(v) = v {
                query.push_str(&format!("&variables={}", encoded(v.to_string())));
            }
            query
        }),
        graphql_request().prop_map(move |r| {
            let fields = r.as_object().cloned().unwrap_or_default();
            fields
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={}", encoded(s.clone())),
                    other => format!("{k}={}", encoded(other.to_string())),
                })
                .collect::<Vec<_>>()
                .join("&")
        }),
        "[ -~]{0,80}",
    ])
}

fn header_value(choices: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        3 => proptest::sample::select(choices).prop_map(str::to_owned),
        1 => "[ -~]{0,40}",
    ])
}

// Long on purpose: the strategy is one table of what a hostile client may send (method,
// path, headers, body); split, its parts would be read apart from each other.
fn sent() -> impl Strategy<Value = Sent> {
    let method = proptest::sample::select(
        &[
            "GET", "GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
        ][..],
    );
    let path = proptest::sample::select(
        &[
            "/graphql",
            "/graphql",
            "/graphql",
            "/graphql/",
            "/",
            "/healthz",
            "/readyz",
            "/nowhere",
        ][..],
    );
    let content_type = header_value(&[
        "application/json",
        "application/json; charset=utf-8",
        "application/graphql-response+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
    ]);
    let accept = header_value(&[
        "application/graphql-response+json",
        "application/json",
        "application/graphql-response+json;q=0.9, application/json;q=0.1",
        "*/*",
        "text/html",
    ]);
    let others = (
        header_value(&["true", ""]),
        header_value(&["Bearer abc", "Basic Zm9vOmJhcg==", "Bearer "]),
        header_value(&["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "not-a-guid"]),
        header_value(&["websocket"]),
    );
    let content_length = proptest::option::of(prop_oneof![
        Just("exact".to_owned()),
        (0u64..4096).prop_map(|n| n.to_string()),
        Just("1000000000".to_owned()),
        Just("18446744073709551616".to_owned()),
        "[ -~]{0,12}",
    ]);
    (
        method,
        path,
        query_string(),
        (content_type, accept, others),
        content_length,
        body(),
    )
        .prop_map(
            |(method, path, query, (content_type, accept, others), content_length, body)| {
                let (preflight, authorization, request_id, upgrade) = others;
                let headers = [
                    ("content-type", content_type),
                    ("accept", accept),
                    ("apollo-require-preflight", preflight),
                    ("authorization", authorization),
                    ("client-request-id", request_id),
                    ("upgrade", upgrade),
                ]
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v)))
                .collect();
                Sent {
                    method,
                    path,
                    query,
                    headers,
                    content_length,
                    body,
                }
            },
        )
}

impl Sent {
    /// The request, or `None` when the generated parts are not valid HTTP (an unusable URI or
    /// header value): no client could send those.
    fn build(&self) -> Option<Request<Body>> {
        let uri = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.to_owned(),
        };
        let mut builder = Request::builder().method(self.method).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value.as_str());
        }
        if let Some(length) = &self.content_length {
            let length = match length.as_str() {
                "exact" => self.body.len().to_string(),
                other => other.to_owned(),
            };
            builder = builder.header(header::CONTENT_LENGTH, length);
        }
        builder.body(Body::from(self.body.clone())).ok()
    }
}

/// Checks one GraphQL response object: `data` or a non-empty `errors`, each error with a
/// message and, when it has one, a code from the contract.
fn check_graphql_response(response: &Value) -> Result<(), String> {
    let object = response.as_object().ok_or("not a JSON object")?;
    if !object.contains_key("data") && !object.contains_key("errors") {
        return Err("neither data nor errors".into());
    }
    if let Some(errors) = object.get("errors") {
        let errors = errors.as_array().ok_or("errors is not a list")?;
        if errors.is_empty() {
            return Err("an empty errors list".into());
        }
        for error in errors {
            if !error["message"].is_string() {
                return Err(format!("an error without a message: {error}"));
            }
            if let Some(code) = error.get("extensions").and_then(|e| e.get("code")) {
                let known = code.as_str().is_some_and(|c| CODES.contains(&c));
                if !known {
                    return Err(format!("a code outside the contract: {code}"));
                }
            }
        }
    }
    Ok(())
}

/// What the gateway may answer to `sent`.
fn check(sent: &Sent, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    if status.is_server_error() {
        return Err(format!("a server error {status}"));
    }
    if sent.method == "HEAD" {
        // HEAD answers carry the headers of a GET but never a body.
        return Ok(());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let graphql = sent.path == "/graphql" && matches!(sent.method, "GET" | "POST");
    if !json {
        // A plain HTTP answer is fine for other routes and for errors (405, 404, a refused
        // upgrade); a success on /graphql must be a GraphQL response.
        if graphql && status.is_success() {
            return Err(format!("{status} on /graphql without a JSON body"));
        }
        return Ok(());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("a JSON content type, but {e}"))?;
    match &value {
        Value::Array(items) if !items.is_empty() => {
            items.iter().try_for_each(check_graphql_response)
        }
        _ => check_graphql_response(&value),
    }
}

#[test]
fn no_request_makes_the_gateway_panic_or_answer_anything_but_graphql_or_an_http_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let app = runtime.block_on(TestApp::demo());
    proptest!(|(sent in sent())| {
        let Some(request) = sent.build() else {
            return Ok(());
        };
        let (status, headers, body) = runtime.block_on(async {
            let response = app.router.clone().oneshot(request).await.expect("infallible");
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().all_bytes().await;
            (status, headers, body)
        });
        if let Err(problem) = check(&sent, status, &headers, &body) {
            prop_assert!(
                false,
                "{problem}\nsent: {sent:?}\nanswer: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
    });
}
