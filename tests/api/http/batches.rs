//! HTTP batches (a JSON array of operations, each held to the limits) and automatic persisted
//! queries over POST and GET.

use axum::http::{StatusCode, header};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{encode, get};
use crate::support::helpers::*;

#[tokio::test]
async fn a_batch_runs_every_operation_and_is_capped() {
    let mut config = config();
    config.store.no_seed = false;
    config.http.max_batch = 3;
    let app = TestApp::with_config(Mode::Store, config).await;
    let (status, _, body) = app
        .post(json!([
            { "query": GET, "variables": { "f": DEMO_FILE, "id": DEMO_OP } },
            { "query": "{ nope }" },
            { "query": LIST, "variables": { "f": DEMO_FILE, "first": 1 } },
        ]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let results = body.as_array().expect("an array of results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["data"]["groupPolicyOperation"]["id"], DEMO_OP);
    assert_eq!(code(&results[1]), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(
        results[2]["data"]["groupPolicyOperations"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let four = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let (status, _, body) = app.post(four).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
    let (status, _, body) = app.post(json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn each_operation_of_a_batch_is_held_to_the_limits() {
    let mut config = config();
    config.query.max_complexity = 5;
    let app = TestApp::with_config(Mode::Store, config).await;
    let (_, _, body) = app
        .post(
            json!([{ "query": "{ __typename }" }, { "query": LIST, "variables": { "f": guid() } }]),
        )
        .await;
    assert_eq!(body[0]["data"]["__typename"], "Query");
    assert_eq!(code(&body[1]), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn persisted_queries_miss_then_register_then_hit_over_post_and_get() {
    let app = TestApp::demo().await;
    let query = format!(
        "query Pq {{ groupPolicyOperation(definitionFileId: \"{DEMO_FILE}\", id: \"{DEMO_OP}\") {{ id }} }}"
    );
    let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let (status, _, body) = app.post(json!({ "extensions": ext })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    let (_, _, body) = app.post(json!({ "query": query, "extensions": ext })).await;
    assert_eq!(body["data"]["groupPolicyOperation"]["id"], DEMO_OP);
    let (_, _, body) = app.post(json!({ "extensions": ext })).await;
    assert_eq!(
        body["data"]["groupPolicyOperation"]["id"], DEMO_OP,
        "hit over POST"
    );
    let uri = format!("/graphql?extensions={}", encode(&ext.to_string()));
    let (status, _, body) = app.send(get(&uri)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["groupPolicyOperation"]["id"], DEMO_OP,
        "hit over GET"
    );
    let unknown = json!({ "persistedQuery": { "version": 1, "sha256Hash": "ab".repeat(32) } });
    let (status, headers, body) = app
        .send(get(&format!(
            "/graphql?extensions={}",
            encode(&unknown.to_string())
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "private, no-cache, must-revalidate"
    );
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    let (_, _, body) = app
        .post(json!({ "query": query, "extensions": wrong }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn a_persisted_mutation_over_get_is_refused() {
    let app = TestApp::demo().await;
    let mutation = format!(
        "mutation {{ deleteGroupPolicyOperation(definitionFileId: \"{DEMO_FILE}\", id: \"{DEMO_OP}\") }}"
    );
    let hash = format!("{:x}", Sha256::digest(mutation.as_bytes()));
    // Register it without running it: a wrong operation name makes execution fail early.
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let (_, _, body) = app
        .post(json!({ "query": mutation, "extensions": ext, "operationName": "Nope" }))
        .await;
    assert!(body["errors"].is_array());
    let (status, _, _) = app
        .send(get(&format!(
            "/graphql?extensions={}",
            encode(&ext.to_string())
        )))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let still = app
        .data(GET, json!({ "f": DEMO_FILE, "id": DEMO_OP }))
        .await;
    assert_eq!(still["groupPolicyOperation"]["id"], DEMO_OP);
}
