//! Idempotent writes (`Idempotency-Key`): a repeated request gets the first answer and the
//! work is done once, on every backend; another body under the same key, or a repeat while
//! the first still runs past the wait, is CONFLICT; keys are per caller and bounded.

mod outcomes;
pub(crate) mod scope;

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::helpers::*;
use fake_graph::Match;

on_both_backends!(
    the_same_create_sent_ten_times_with_one_key_makes_one_operation_and_ten_identical_answers,
    the_same_key_with_another_body_is_conflict,
    a_key_is_scoped_to_its_caller,
);

pub(crate) fn create_body(file: &str, details: &str) -> Value {
    json!({
        "query": CREATE,
        "variables": { "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS", "statusDetails": details } }
    })
}

pub(crate) async fn send_keyed(
    app: &TestApp,
    key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let request = app
        .post_request()
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .expect("a request");
    let (status, headers, body) = app.send(request).await;
    (status, body, headers.contains_key("idempotent-replayed"))
}

/// Operations of `file` as the backend lists them.
pub(crate) async fn operations(app: &TestApp, file: &str) -> usize {
    let list = app.data(LIST, json!({ "f": file, "first": 100 })).await;
    list["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("nodes")
        .len()
}

fn graph_creates(app: &TestApp) -> Option<usize> {
    app.graph
        .as_ref()
        .map(|graph| graph.count(&Match::method("POST")))
}

async fn the_same_create_sent_ten_times_with_one_key_makes_one_operation_and_ten_identical_answers(
    mode: Mode,
) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let body = create_body(&file, "once");
    let answers = join_all((0..10).map(|_| send_keyed(&app, "create-once", &body))).await;
    let (status, first, _) = &answers[0];
    assert_eq!(*status, StatusCode::OK);
    assert!(first.get("errors").is_none(), "{first}");
    for (status, answer, _) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(answer, first);
    }
    assert_eq!(
        answers.iter().filter(|(_, _, replayed)| !replayed).count(),
        1
    );
    assert_eq!(operations(&app, &file).await, 1);
    if let Some(posts) = graph_creates(&app) {
        assert_eq!(posts, 1, "Graph was asked to create more than once");
    }
}

async fn the_same_key_with_another_body_is_conflict(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let (status, _, _) = send_keyed(&app, "k1", &create_body(&file, "first")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = send_keyed(&app, "k1", &create_body(&file, "second")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("different request body"), "{message}");
    assert_eq!(operations(&app, &file).await, 1);
}

async fn a_key_is_scoped_to_its_caller(mode: Mode) {
    let mut app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let body = create_body(&file, "mine");
    let (_, first, _) = send_keyed(&app, "shared-key", &body).await;
    app.token = Some(format!(
        "{}-other-caller",
        app.token.clone().unwrap_or_default()
    ));
    let (status, second, replayed) = send_keyed(&app, "shared-key", &body).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert!(!replayed);
    assert_ne!(
        first, second,
        "another caller got the first caller's answer"
    );
    assert_eq!(operations(&app, &file).await, 2);
}

#[tokio::test]
async fn a_repeat_while_the_first_still_runs_is_conflict_once_the_wait_is_over() {
    let mut config = config();
    config.idempotency.wait = Duration::ZERO;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = app.new_file().await;
    app.graph()
        .set_delay(Match::method("POST"), Duration::from_secs(5));
    let body = create_body(&file, "slow");
    let first = send_keyed(&app, "slow-key", &body);
    let repeat = async {
        // The exact moment the first request is running: Graph has its POST.
        while app.graph().count(&Match::method("POST")) == 0 {
            tokio::task::yield_now().await;
        }
        send_keyed(&app, "slow-key", &body).await
    };
    let ((status, _, _), (repeat_status, repeat_body, _)) = tokio::join!(first, repeat);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(repeat_status, StatusCode::CONFLICT, "{repeat_body}");
    let message = repeat_body["errors"][0]["message"]
        .as_str()
        .expect("a message");
    assert!(message.contains("still running"), "{message}");
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
}

#[tokio::test]
async fn a_key_of_255_bytes_is_accepted_and_one_of_256_is_refused() {
    let app = TestApp::store().await;
    let file = app.new_file().await;
    let (status, body, _) = send_keyed(&app, &"k".repeat(255), &create_body(&file, "a")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = send_keyed(&app, &"k".repeat(256), &create_body(&file, "b")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("1 to 255 characters"), "{message}");
}

#[tokio::test]
async fn an_answer_over_the_kept_size_is_not_replayed_nor_run_again() {
    let app = TestApp::store().await;
    let file = app.new_file().await;
    let body = create_body(&file, "small");
    let (_, _, _) = send_keyed(&app, "fits", &body).await;
    let (status, _, replayed) = send_keyed(&app, "fits", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replayed);

    let mut config = config();
    config.idempotency.max_answer_bytes = 10;
    let small = TestApp::with_config(Mode::Store, config).await;
    let file = small.new_file().await;
    let body = create_body(&file, "too large to keep");
    let (status, _, _) = send_keyed(&small, "big", &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer, _) = send_keyed(&small, "big", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let message = answer["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("too large to keep"), "{message}");
    assert_eq!(operations(&small, &file).await, 1);
}

#[tokio::test]
async fn with_a_store_path_a_key_outlives_a_restart() {
    let path = temp_store_path();
    let mut config = config();
    config.store.store_path = Some(path.clone());
    let (file, first) = {
        let app = TestApp::with_config(Mode::Store, config.clone()).await;
        let file = app.new_file().await;
        let (_, first, _) = send_keyed(&app, "survives", &create_body(&file, "once")).await;
        (file, first)
    };
    let app = TestApp::with_config(Mode::Store, config).await;
    let (status, again, replayed) = send_keyed(&app, "survives", &create_body(&file, "once")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(operations(&app, &file).await, 1);
    let _ = std::fs::remove_file(&path);
}
