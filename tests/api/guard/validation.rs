//! Validation once per document: a gateway that reuses a document's earlier validation refuses
//! exactly what a gateway validating every request refuses (same status, same body), for an
//! invalid document, an operation name the document lacks, and variables of the wrong type.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::helpers::*;

const PAGE: &str = "query Page($f: ID!, $n: Int, $after: String, $full: Boolean!) { \
    groupPolicyOperations(definitionFileId: $f, first: $n, after: $after) { \
    nodes { id operationStatus @include(if: $full) } } } \
    query One($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id } }";

async fn demo_with_cache(entries: usize) -> TestApp {
    let mut config = config();
    config.store.no_seed = false;
    config.query.document_cache_size = entries;
    TestApp::with_config(Mode::Store, config).await
}

fn request(operation: &str, variables: Value) -> Value {
    json!({ "query": PAGE, "operationName": operation, "variables": variables })
}

fn good_page() -> Value {
    json!({ "f": DEMO_FILE, "n": 2, "full": true })
}

/// Requests each refused, by the cached gateway only after the same document passed validation.
fn refused() -> Vec<Value> {
    let page = |variables: Value| request("Page", variables);
    vec![
        page(json!({ "f": DEMO_FILE, "n": "two", "full": true })),
        page(json!({ "f": DEMO_FILE, "n": 3_000_000_000_u64, "full": true })),
        page(json!({ "f": DEMO_FILE, "n": 2, "full": "yes" })),
        page(json!({ "f": DEMO_FILE, "n": 2, "full": null })),
        page(json!({ "f": [DEMO_FILE], "n": 2, "full": true })),
        page(json!({ "f": { "id": DEMO_FILE }, "full": true })),
        page(json!({ "f": null, "full": true })),
        page(json!({ "f": DEMO_FILE, "after": 7, "full": true })),
        page(json!({ "n": 2, "full": true })),
        request("Nope", good_page()),
        json!({ "query": PAGE, "variables": good_page() }),
        json!({ "query": "{ groupPolicyOperation(definitionFileId: 1, id: 2) { nope } }" }),
        json!({ "query": "query Q($x: Int) { groupPolicyOperations(definitionFileId: \"a\", first: $x) { nodes { id } } }", "variables": { "x": true } }),
    ]
}

#[tokio::test]
async fn a_document_validated_before_is_refused_exactly_as_by_a_gateway_that_validates_each_time() {
    let cached = demo_with_cache(100).await;
    let uncached = demo_with_cache(0).await;
    for app in [&cached, &uncached] {
        let (status, _, body) = app.post(request("Page", good_page())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["data"]["groupPolicyOperations"]["nodes"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{body}"
        );
        let (_, _, body) = app
            .post(request("One", json!({ "f": DEMO_FILE, "id": DEMO_OP })))
            .await;
        assert_eq!(
            body["data"]["groupPolicyOperation"]["id"], DEMO_OP,
            "{body}"
        );
    }
    // Twice each: the second time the cached gateway has seen the document refused, too.
    for _ in 0..2 {
        for body in refused() {
            let expected = uncached.post(body.clone()).await;
            let got = cached.post(body.clone()).await;
            assert!(
                expected.2.get("errors").is_some(),
                "{body} was not refused: {}",
                expected.2
            );
            assert_eq!((got.0, &got.2), (expected.0, &expected.2), "{body}");
        }
    }
}

#[tokio::test]
async fn wrong_variables_are_still_refused_as_bad_user_input_after_the_document_passed() {
    let app = demo_with_cache(100).await;
    for _ in 0..2 {
        let body = app
            .gql(PAGE_ONE, json!({ "f": DEMO_FILE, "id": DEMO_OP }))
            .await;
        assert_eq!(
            body["data"]["groupPolicyOperation"]["id"], DEMO_OP,
            "{body}"
        );
    }
    let body = app
        .gql(PAGE_ONE, json!({ "f": DEMO_FILE, "id": null }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Invalid value for argument"), "{body}");
}

const PAGE_ONE: &str =
    "query One($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id } }";
