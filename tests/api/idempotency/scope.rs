//! Whose keys are whose, and what they cost (issue 16, findings 3, 9, 14 and 15): only
//! mutations use keys, a caller is recognised however it spells its `Authorization` header
//! (and by its claims once Graph vouched for its token), one caller cannot push out another's
//! keys, durable keys count in the store's bytes, waiters hold in-flight permits, and replays
//! and conflicts carry CORS headers and `client-request-id` like any answer.

use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::idempotency::{create_body, operations, send_keyed};
use crate::support::helpers::*;
use fake_graph::Match;

/// Sends `body` with `key` and the `Authorization` header exactly as given; shared with the
/// replica tests.
pub(crate) async fn send_as(
    app: &TestApp,
    authorization: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let request = axum::http::Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, authorization)
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .expect("a request");
    let (status, headers, body) = app.send(request).await;
    (status, body, headers.contains_key("idempotent-replayed"))
}

#[tokio::test]
async fn a_keyed_query_is_neither_kept_nor_replayed() {
    let app = TestApp::demo().await;
    let query = json!({ "query": LIST, "variables": { "f": DEMO_FILE, "first": 1 } });
    for _ in 0..3 {
        let (status, body, replayed) = send_keyed(&app, "a-query", &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!replayed, "queries pass straight through");
    }
    // Nothing was stored under the key: a mutation may use it afterwards.
    let file = app.new_file().await;
    let (status, body, replayed) = send_keyed(&app, "a-query", &create_body(&file, "w")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!replayed && body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn the_scheme_case_and_spacing_of_a_token_do_not_split_its_scope() {
    let app = TestApp::store().await;
    let file = app.new_file().await;
    let body = create_body(&file, "once");
    let spellings = ["Bearer abc", "bearer abc", "BEARER   abc  ", " Bearer abc"];
    for (n, authorization) in spellings.iter().enumerate() {
        let (status, answer, replayed) = send_as(&app, authorization, "spelled", &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(replayed, n > 0, "{authorization:?}");
    }
    assert_eq!(operations(&app, &file).await, 1);
}

fn jwt(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.sig")
}

#[tokio::test]
async fn a_refreshed_token_shares_its_callers_keys_once_graph_accepted_it() {
    let app = TestApp::new(Mode::Graph).await;
    let file = app.new_file().await;
    let token = |n: u32| jwt(json!({ "tid": "t1", "oid": "o1", "iat": n }));
    let body = create_body(&file, "refreshed");
    let (status, first, _) = send_as(&app, &format!("Bearer {}", token(1)), "r", &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // Claims alone vouch for nothing: an unseen token with the same claims is its own caller.
    let (_, _, replayed) = send_as(&app, &format!("Bearer {}", token(2)), "r", &body).await;
    assert!(!replayed, "unverified claims unlocked another token's keys");
    assert_eq!(app.graph().count(&Match::method("POST")), 2);
    // Once Graph has accepted the refreshed token, it is the same caller.
    let refreshed = format!("Bearer {}", token(3));
    let list = json!({ "query": LIST, "variables": { "f": file, "first": 1 } });
    let request = axum::http::Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, &refreshed)
        .body(Body::from(list.to_string()))
        .expect("a request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again, replayed) = send_as(&app, &refreshed, "r", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replayed, "{again}");
    assert_eq!(app.graph().count(&Match::method("POST")), 2);
}

/// One caller's 60 keyed writes leave another caller's key replayable, on both key stores.
async fn one_caller_cannot_push_out_another(durable: bool) {
    let mut config = config();
    config.idempotency.max_caller_bytes = 8_000;
    if durable {
        config.store.store_path = Some(temp_store_path());
    }
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    let victim = create_body(&file, "victim");
    let (status, first, _) = send_as(&app, "Bearer victim", "mine", &victim).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    for n in 0..60 {
        let body = create_body(&file, &format!("flood {n}"));
        let (status, answer, _) = send_as(&app, "Bearer flood", &format!("f{n}"), &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, again, replayed) = send_as(&app, "Bearer victim", "mine", &victim).await;
    assert!(
        replayed,
        "the other caller's keys pushed this one out: {again}"
    );
    assert_eq!(again, first);
    // The flooding caller lost its own oldest keys: its first write runs again.
    let body = create_body(&file, "flood 0");
    let (_, _, replayed) = send_as(&app, "Bearer flood", "f0", &body).await;
    assert!(!replayed, "a caller's keys are held to its quota");
}

#[tokio::test]
async fn one_caller_cannot_push_out_another_callers_keys_in_memory() {
    one_caller_cannot_push_out_another(false).await;
}

#[tokio::test]
async fn one_caller_cannot_push_out_another_callers_keys_in_the_database() {
    one_caller_cannot_push_out_another(true).await;
}

/// How many creates fit in a small durable store, keyed or not.
async fn creates_that_fit(keyed: bool) -> usize {
    let mut config = config();
    config.store.store_path = Some(temp_store_path());
    config.store.store_max_bytes = 40_000;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    for n in 0..400 {
        let body = create_body(&file, &format!("write {n}"));
        let (status, answer) = if keyed {
            let (status, answer, _) = send_keyed(&app, &format!("k{n}"), &body).await;
            (status, answer)
        } else {
            let (status, _, answer) = app.post(body).await;
            (status, answer)
        };
        if status != StatusCode::OK || answer.get("errors").is_some() {
            assert_eq!(code(&answer), "LIMIT_EXCEEDED", "{answer}");
            return n;
        }
    }
    panic!("400 creates fit in 40 kB");
}

#[tokio::test]
async fn durable_keys_count_against_the_store_bytes() {
    let unkeyed = creates_that_fit(false).await;
    let keyed = creates_that_fit(true).await;
    assert!(
        keyed * 2 < unkeyed,
        "keys took no room: {keyed} keyed and {unkeyed} plain creates fit"
    );
}

#[tokio::test]
async fn a_waiting_repeat_holds_an_in_flight_permit() {
    let mut config = config();
    config.http.max_in_flight = 2;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = app.new_file().await;
    app.graph()
        .set_delay(Match::method("POST"), Duration::from_secs(4));
    let body = create_body(&file, "slow");
    let send = || {
        let request = app
            .post_request()
            .header("Idempotency-Key", "slow")
            .body(Body::from(body.to_string()))
            .expect("a request");
        tokio::spawn(tower::ServiceExt::oneshot(app.router.clone(), request))
    };
    let first = send();
    while app.graph().count(&Match::method("POST")) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let repeat = send();
    // Lets the repeat take its permit and start waiting before anything else runs.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!repeat.is_finished(), "the repeat waits for the first");
    // The first request and its waiting repeat hold both permits: a third is shed.
    let list = json!({ "query": LIST, "variables": { "f": file, "first": 1 } });
    let mut shed = false;
    for _ in 0..150 {
        let (status, _, _) = app.post(list.clone()).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            shed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        shed,
        "a waiting repeat does not count against --max-in-flight"
    );
    let first = first.await.expect("joins").expect("answers");
    let repeat = repeat.await.expect("joins").expect("answers");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(repeat.status(), StatusCode::OK);
    assert!(repeat.headers().contains_key("idempotent-replayed"));
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
}

#[tokio::test]
async fn replays_and_key_conflicts_carry_cors_headers_and_the_client_request_id() {
    const ORIGIN: &str = "https://app.example";
    let mut config = config();
    config.http.cors_origins = vec![ORIGIN.to_owned()];
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    let app = &app;
    let send = |body: Value| {
        let id = guid();
        let request = app
            .post_request()
            .header("Idempotency-Key", "cors")
            .header(header::ORIGIN, ORIGIN)
            .header("client-request-id", &id)
            .body(Body::from(body.to_string()))
            .expect("a request");
        async move { (id, app.send(request).await) }
    };
    let body = create_body(&file, "cors");
    let (_, (status, _, _)) = send(body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (id, (status, headers, _)) = send(body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("idempotent-replayed"));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
    assert_eq!(headers["client-request-id"], id.as_str());
    let (id, (status, headers, answer)) = send(create_body(&file, "other")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
    assert_eq!(headers["client-request-id"], id.as_str());
}
