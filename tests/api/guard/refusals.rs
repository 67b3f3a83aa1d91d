//! The bombs of issue 8, refused on every transport while the gateway keeps answering.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{assert_limit, over_websocket};
use crate::support::bombs;
use crate::support::helpers::*;

#[tokio::test]
async fn every_bomb_is_refused() {
    let app = TestApp::demo().await;
    for bomb in bombs::all(DEMO_FILE) {
        let (status, _, body) = app.post(bomb.body).await;
        assert_eq!(status, StatusCode::OK, "{}", bomb.name);
        let answers = match &body {
            Value::Array(answers) => answers.clone(),
            single => vec![single.clone()],
        };
        for answer in answers {
            assert_eq!(code(&answer), bomb.code, "{}: {answer}", bomb.name);
            assert_eq!(answer["data"], Value::Null, "{}: {answer}", bomb.name);
        }
        if bomb.name == "200 pages of 100" {
            assert_limit(&body, "Query is too complex: cost 40200");
        }
    }
}

#[tokio::test]
async fn bombs_are_refused_over_get_persisted_queries_and_batches() {
    let app = TestApp::demo().await;
    let bomb = bombs::fragment_bombs(DEMO_FILE)[1].body["query"].clone();
    let bomb = bomb.as_str().expect("a query");
    let uri = format!(
        "/graphql?query={}",
        url::form_urlencoded::byte_serialize(bomb.as_bytes()).collect::<String>()
    );
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let (_, _, body) = app.send(request).await;
    assert_limit(&body, "Query is too complex");

    let hash = format!("{:x}", Sha256::digest(bomb.as_bytes()));
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let (_, _, body) = app.post(json!({ "query": bomb, "extensions": ext })).await;
    assert_limit(&body, "Query is too complex");
    let (_, _, body) = app.post(json!({ "extensions": ext })).await;
    assert_limit(&body, "Query is too complex");

    let batch: Vec<Value> = bombs::fragment_bombs(DEMO_FILE)
        .into_iter()
        .map(|bomb| bomb.body)
        .chain([json!({ "query": "{ __typename }" })])
        .collect();
    let (status, _, body) = app.post(Value::Array(batch)).await;
    assert_eq!(status, StatusCode::OK);
    for refused in &body.as_array().expect("a batch answer")[..9] {
        assert_eq!(code(refused), "LIMIT_EXCEEDED", "{refused}");
    }
    assert_eq!(body[9]["data"]["__typename"], "Query");
}

#[tokio::test]
async fn healthz_answers_while_bombs_arrive_over_tcp() {
    let app = TestApp::demo().await;
    let addr = serve_tcp(app.router.clone()).await;
    let client = reqwest::Client::new();
    let batch = bombs::all(DEMO_FILE)
        .into_iter()
        .find(|bomb| bomb.body.is_array())
        .expect("a batch bomb")
        .body;
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            let batch = batch.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..5 {
                    let answer: Value = client
                        .post(format!("http://{addr}/graphql"))
                        .json(&batch)
                        .answer_json()
                        .await;
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    for _ in 0..20 {
        let health = tokio::time::timeout(
            Duration::from_secs(5),
            client.get(format!("http://{addr}/healthz")).send(),
        )
        .await
        .expect("/healthz answers within 5 s while bombs run")
        .expect("a response");
        assert_eq!(health.status(), StatusCode::OK);
    }
    for sender in senders {
        for answer in sender.await.expect("the sender finishes") {
            let answers = answer.as_array().expect("a batch answer");
            assert_eq!(answers.len(), 10);
            assert!(
                answers.iter().all(|a| code(a) == "LIMIT_EXCEEDED"),
                "{answer}"
            );
        }
    }
}

#[tokio::test]
async fn a_bomb_over_a_websocket_is_refused() {
    let app = TestApp::demo().await;
    let bomb = &bombs::fragment_bombs(DEMO_FILE)[5].body["query"];
    let answer = over_websocket(&app, json!({ "query": bomb })).await;
    assert_eq!(answer["type"], "next", "{answer}");
    let error = &answer["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{answer}");
}

#[tokio::test]
async fn deep_brackets_over_get_are_refused_not_parsed() {
    let app = TestApp::demo().await;
    for deep in ["{a".repeat(15_000), format!("{{a(b:{}", "[".repeat(20_000))] {
        let query: String = url::form_urlencoded::byte_serialize(deep.as_bytes()).collect();
        let request = Request::get(format!("/graphql?query={query}"))
            .body(Body::empty())
            .expect("request");
        let (_, _, body) = app.send(request).await;
        assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    }
}
