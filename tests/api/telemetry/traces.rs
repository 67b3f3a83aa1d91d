//! OpenTelemetry traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the binary exports its spans
//! over OTLP/HTTP to a receiver in this test, linked parent to child from the caller's
//! `traceparent` down to each Graph call, and Graph receives the trace context.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::support::helpers::AnswerJson;
use crate::support::helpers::{CREATE, GET, TOKEN, guid, serve_tcp};
use crate::support::process::{start_with_env, terminate};
use fake_graph::FakeGraph;

/// An OTLP/HTTP receiver (JSON encoding) that keeps every span it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(spans): State<Arc<Mutex<Vec<Value>>>>, body: Bytes| async move {
                    let export: Value = serde_json::from_slice(&body).expect("an OTLP JSON export");
                    let mut kept = spans.lock().expect("lock");
                    for resource in export["resourceSpans"].as_array().into_iter().flatten() {
                        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                            kept.extend(scope["spans"].as_array().into_iter().flatten().cloned());
                        }
                    }
                    "{}"
                },
            ),
        )
        .with_state(Arc::clone(&spans));
    let addr = serve_tcp(app).await;
    (format!("http://{addr}"), spans)
}

/// The value of the attribute `key` of `span`, as text.
fn attribute(span: &Value, key: &str) -> Option<String> {
    let value = &span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"];
    value
        .get("stringValue")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            value
                .get("intValue")
                .map(|v| v.to_string().trim_matches('"').to_owned())
        })
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn parent_of<'a>(spans: &'a [Value], child: &Value) -> &'a Value {
    spans
        .iter()
        .find(|s| s["spanId"] == child["parentSpanId"])
        .unwrap_or_else(|| panic!("no parent for {child}"))
}

// Long on purpose: one traced request through a real process and the spans it exported,
// followed link by link from the caller's trace to each Graph call.
#[tokio::test]
async fn spans_link_the_callers_trace_to_each_graph_call_and_graph_gets_the_trace_context() {
    let (endpoint, spans) = receiver().await;
    let graph = FakeGraph::spawn().await;
    let file = guid();
    let id = graph.insert_op(&file, "upload", "success", None);
    let url = graph.base_url();
    let (child, addr) = start_with_env(
        &["--backend", "graph", "--graph-url", &url],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ],
    );
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let client = reqwest::Client::new();
    for (query, variables) in [
        (GET, json!({ "f": file, "id": id })),
        (
            CREATE,
            json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
        ),
    ] {
        let answer: Value = client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(TOKEN)
            .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
            .json(&json!({ "query": query, "variables": variables }))
            .answer_json()
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    // The exporter flushes what it holds when the gateway exits.
    let (status, log) = terminate(child).await;
    assert!(status.success(), "{log}");
    let spans = spans.lock().expect("lock").clone();

    for span in &spans {
        assert_eq!(
            span["traceId"], trace_id,
            "every span joins the caller's trace: {span}"
        );
    }
    let requests = named(&spans, "POST /graphql");
    assert_eq!(requests.len(), 2, "{spans:#?}");
    for request in &requests {
        assert_eq!(request["parentSpanId"], caller_span);
    }
    let operations = named(&spans, "query Get");
    assert_eq!(operations.len(), 1, "{spans:#?}");
    assert_eq!(
        attribute(operations[0], "graphql.operation.type").as_deref(),
        Some("query")
    );
    assert_eq!(
        attribute(operations[0], "graphql.operation.name").as_deref(),
        Some("Get")
    );
    assert_eq!(parent_of(&spans, operations[0])["name"], "POST /graphql");
    let created = named(&spans, "mutation Create");
    assert_eq!(created.len(), 1, "{spans:#?}");

    let resolver = named(&spans, "resolve groupPolicyOperation");
    assert_eq!(resolver.len(), 1, "{spans:#?}");
    assert_eq!(parent_of(&spans, resolver[0])["name"], "query Get");
    // A lookup reads its file with `$expand=groupPolicyOperations`.
    let exchanges = named(
        &spans,
        "GET /deviceManagement/groupPolicyUploadedDefinitionFiles/{id}",
    );
    let exchange = exchanges
        .iter()
        .find(|s| attribute(s, "http.request.method").is_some())
        .expect("the GET's exchange span");
    assert_eq!(
        attribute(exchange, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(exchange, "url.template").as_deref(),
        Some("/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}")
    );
    // The exchange sits under its call, and the call under the resolver.
    let call = parent_of(&spans, exchange);
    assert_eq!(attribute(call, "graph.retries").as_deref(), Some("0"));
    assert_eq!(parent_of(&spans, call)["spanId"], resolver[0]["spanId"]);

    // Graph got the trace context of the exchange span, in the caller's trace.
    let sent: Vec<String> = graph
        .requests()
        .iter()
        .filter_map(|r| r.header("traceparent").map(str::to_owned))
        .collect();
    assert_eq!(sent.len(), 2, "both Graph calls carry a traceparent");
    for traceparent in &sent {
        assert!(
            traceparent.starts_with(&format!("00-{trace_id}-")),
            "{traceparent}"
        );
    }
    assert!(
        sent.iter()
            .any(|t| t.contains(exchange["spanId"].as_str().expect("an id")))
    );
    assert!(!log.contains(TOKEN));
}
