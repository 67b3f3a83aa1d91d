//! `Idempotency-Key` records shared by two replicas through Redis: one key sent to both at
//! once makes one write at Graph and one answer, a retry on the other replica is replayed, and
//! while Redis is unreachable a keyed request gets 503 with `Retry-After` (nothing runs) while
//! other requests are served; once Redis is back keys work again without a restart.

use crate::idempotency::scope::send_as;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::idempotency::{create_body, send_keyed};
use crate::support::helpers::{GET, LIST, code, guid};
use fake_graph::Match;

fn posts(graph: &FakeGraph) -> usize {
    graph.count(&Match::method("POST"))
}

/// Sends `body` with `key` and returns the status, headers and body.
async fn keyed(app: &TestApp, key: &str, body: &Value) -> (StatusCode, HeaderMap, Value) {
    let request = app
        .post_request()
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .expect("a request");
    app.send(request).await
}

fn created(answer: &Value) -> &str {
    answer["data"]["createGroupPolicyOperation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a created operation: {answer}"))
}

#[tokio::test]
async fn one_key_sent_to_both_replicas_at_once_writes_once_and_both_get_the_same_answer() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |_| {}).await;
    let file = guid();
    graph.insert_file(&file);
    // The write takes long enough for the two requests to overlap.
    graph.set_delay(Match::method("POST"), Duration::from_millis(300));
    let body = create_body(&file, "once across replicas");
    let key = guid();

    let (on_a, on_b) = tokio::join!(send_keyed(&a, &key, &body), send_keyed(&b, &key, &body));
    assert_eq!(posts(&graph), 1, "Graph was asked to create once");
    assert_eq!(on_a.0, StatusCode::OK);
    assert_eq!(on_a.0, on_b.0, "the same status");
    assert_eq!(on_a.1, on_b.1, "the same body");
    created(&on_a.1);
    assert_eq!(
        [on_a.2, on_b.2]
            .iter()
            .filter(|replayed| **replayed)
            .count(),
        1,
        "exactly one of the two is the replay"
    );

    // A retry after both finished is replayed by either replica.
    for replica in [&a, &b] {
        let (status, answer, replayed) = send_keyed(replica, &key, &body).await;
        assert_eq!((status, &answer, replayed), (StatusCode::OK, &on_a.1, true));
    }
    // Another body under the key is refused on the replica that did not run it.
    let other = create_body(&file, "another body");
    let (status, answer, _) = send_keyed(&b, &key, &other).await;
    assert_eq!((status, code(&answer)), (StatusCode::CONFLICT, "CONFLICT"));
    assert_eq!(posts(&graph), 1);
}

#[tokio::test]
async fn a_repeat_on_the_other_replica_waits_for_the_running_request_and_gets_its_answer() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |_| {}).await;
    let file = guid();
    graph.insert_file(&file);
    graph.set_delay(Match::method("POST"), Duration::from_secs(1));
    let body = create_body(&file, "waited for");
    let key = guid();

    let first = send_keyed(&a, &key, &body);
    let repeat = async {
        // Sent once A's write has reached Graph, so the key is certainly running on A.
        let deadline = Instant::now() + Duration::from_secs(15);
        while posts(&graph) == 0 {
            assert!(Instant::now() < deadline, "A's write reaches Graph");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        send_keyed(&b, &key, &body).await
    };
    let (first, repeat) = tokio::join!(first, repeat);
    assert_eq!((first.0, first.2), (StatusCode::OK, false), "A ran it");
    assert_eq!(
        (repeat.0, &repeat.1, repeat.2),
        (StatusCode::OK, &first.1, true),
        "B waited and replayed A's answer"
    );
    assert_eq!(posts(&graph), 1);
}

#[tokio::test]
async fn a_retry_reaches_a_replica_that_never_saw_graph_accept_the_token_and_is_replayed() {
    let redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |_| {}).await;
    let file = guid();
    graph.insert_file(&file);
    let claims = json!({ "tid": "t1", "oid": "o1", "appid": "app" }).to_string();
    let token = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let authorization = format!("Bearer {token}");
    // Graph accepts the token on A, so A scopes the caller by its claims; B has not seen it.
    let list = json!({ "query": LIST, "variables": { "f": file, "first": 1 } });
    let request = axum::http::Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, &authorization)
        .body(Body::from(list.to_string()))
        .expect("a request");
    let (status, _, read) = a.send(request).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(read.get("errors").is_none(), "{read}");
    let body = create_body(&file, "vouched on A only");
    let key = guid();

    let (status, first, replayed) = send_as(&a, &authorization, &key, &body).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    created(&first);
    let (status, retry, replayed) = send_as(&b, &authorization, &key, &body).await;
    assert_eq!((status, &retry, replayed), (StatusCode::OK, &first, true));
    assert_eq!(posts(&graph), 1);
}

#[tokio::test]
async fn while_redis_is_down_keyed_writes_get_503_and_others_are_served_then_keys_work_again() {
    let mut redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |_| {}).await;
    let file = guid();
    graph.insert_file(&file);
    let op = graph.insert_op(&file, "upload", "success", None);
    let body = create_body(&file, "after the outage");
    let key = guid();

    redis.kill();
    let (status, headers, answer) = keyed(&a, &key, &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(code(&answer), "UPSTREAM_ERROR", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Idempotency-Key")),
        "{answer}"
    );
    assert_eq!(posts(&graph), 0, "nothing ran without de-duplication");
    let read = a.gql(GET, json!({ "f": file, "id": op })).await;
    assert_eq!(
        read["data"]["groupPolicyOperation"]["id"],
        json!(op),
        "{read}"
    );
    let unkeyed = b
        .gql(crate::support::helpers::CREATE, body["variables"].clone())
        .await;
    created(&unkeyed);
    assert_eq!(posts(&graph), 1, "a write without a key is served");

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let first = loop {
        let (status, _, answer) = keyed(&a, &key, &body).await;
        if status == StatusCode::OK {
            break answer;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
        assert!(Instant::now() < deadline, "keys work again within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    created(&first);
    let (status, retry, replayed) = send_keyed(&b, &key, &body).await;
    assert_eq!((status, &retry, replayed), (StatusCode::OK, &first, true));
    assert_eq!(
        posts(&graph),
        2,
        "the keyed write ran once, after the outage"
    );
}
