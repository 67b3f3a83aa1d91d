//! What a keyed request's retry gets in each way the first attempt can end (issue 16,
//! findings 4 to 8): held to the body limits like any request, replayed in the encoding its
//! own client asks for, run to its end when its client leaves or its deadline passes, and
//! freed for a retry when nothing ran.

use std::convert::Infallible;
use std::io::Read;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::idempotency::{create_body, operations, send_keyed};
use crate::support::helpers::*;
use fake_graph::{Canned, Match};

fn keyed(app: &TestApp, key: &str) -> axum::http::request::Builder {
    app.post_request().header("Idempotency-Key", key)
}

/// A create whose `variables` carry `pad` bytes more, so its body is as large as needed.
fn padded_create(file: &str, pad: usize) -> Vec<u8> {
    let mut body = create_body(file, "padded");
    body["variables"]["pad"] = json!("x".repeat(pad));
    body.to_string().into_bytes()
}

#[tokio::test]
async fn a_keyed_upload_takes_a_large_body_slot_and_obeys_the_chunked_rule() {
    let mut config = config();
    config.http.max_body_bytes = 2_000;
    config.http.max_variables_bytes = 200_000;
    config.http.max_large_bodies = 1;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    // A keyed upload that declares 50 kB and never sends it (sent again if a second upload
    // happened to hold the slot when it arrived).
    let mut senders = Vec::new();
    let mut stalled = None::<tokio::task::JoinHandle<_>>;
    let mut refused = None;
    for attempt in 0..200 {
        if stalled.as_ref().is_none_or(|first| first.is_finished()) {
            let (sender, body) = futures_channel::mpsc::channel::<Result<Bytes, Infallible>>(1);
            senders.push(sender);
            let hanging = keyed(&app, "stalled-upload")
                .header(header::CONTENT_LENGTH, "50000")
                .body(Body::from_stream(body))
                .expect("a request");
            let router = app.router.clone();
            stalled = Some(tokio::spawn(tower::ServiceExt::oneshot(router, hanging)));
            tokio::task::yield_now().await;
        }
        // While it holds the only slot, a second large body is refused, keyed or not.
        let request = keyed(&app, &format!("second-{attempt}"))
            .body(Body::from(padded_create(&file, 50_000)))
            .expect("a request");
        let (status, _, body) = app.send(request).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = refused.expect("the stalled keyed upload holds the only large-body slot");
    assert_eq!(code(&refused), "LIMIT_EXCEEDED", "{refused}");
    // Without a declared length, a keyed body is held to --max-body-bytes.
    let chunks = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(padded_create(
        &file, 10_000,
    )))]);
    let request = keyed(&app, "chunked")
        .body(Body::from_stream(chunks))
        .expect("a request");
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

fn gunzip(bytes: &[u8]) -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("gzip");
    serde_json::from_str(&text).expect("JSON")
}

async fn send_raw(app: &TestApp, key: &str, body: &Value, gzip: bool) -> (HeaderMap, Vec<u8>) {
    let mut request = keyed(app, key);
    if gzip {
        request = request.header(header::ACCEPT_ENCODING, "gzip");
    }
    let request = request
        .body(Body::from(body.to_string()))
        .expect("a request");
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .expect("an answer");
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    (headers, bytes.to_vec())
}

#[tokio::test]
async fn a_replay_is_encoded_for_the_client_that_asks() {
    let mut config = config();
    config.http.compress_min_bytes = 1;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    let body = create_body(&file, "zipped");
    let (headers, first) = send_raw(&app, "zip", &body, true).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let first = gunzip(&first);
    assert!(first["data"]["createGroupPolicyOperation"]["id"].is_string());

    let (headers, plain) = send_raw(&app, "zip", &body, false).await;
    assert!(headers.contains_key("idempotent-replayed"));
    assert!(
        !headers.contains_key(header::CONTENT_ENCODING),
        "{headers:?}"
    );
    let plain: Value = serde_json::from_slice(&plain).expect("plain JSON");
    assert_eq!(plain, first);

    let (headers, zipped) = send_raw(&app, "zip", &body, true).await;
    assert!(headers.contains_key("idempotent-replayed"));
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gunzip(&zipped), first);
    assert_eq!(operations(&app, &file).await, 1);
}

/// Waits until the fake Graph has received `n` POSTs.
async fn posts_reach(app: &TestApp, n: usize) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while app.graph().count(&Match::method("POST")) < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    waited.expect("Graph receives the POST");
}

#[tokio::test]
async fn a_client_that_leaves_does_not_leave_its_key_running() {
    let app = TestApp::new(Mode::Graph).await;
    let file = app.new_file().await;
    app.graph()
        .set_delay(Match::method("POST"), Duration::from_millis(1500));
    let body = create_body(&file, "left");
    let request = keyed(&app, "leaver")
        .body(Body::from(body.to_string()))
        .expect("a request");
    let first = tokio::spawn(tower::ServiceExt::oneshot(app.router.clone(), request));
    posts_reach(&app, 1).await;
    // The client hangs up: its request future is dropped mid-flight.
    first.abort();
    let (status, answer, replayed) = send_keyed(&app, "leaver", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        replayed,
        "the retry gets the first attempt's real answer: {answer}"
    );
    assert!(answer["data"]["createGroupPolicyOperation"]["id"].is_string());
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
}

#[tokio::test]
async fn a_request_cut_off_by_the_deadline_is_not_written_twice() {
    let mut config = config();
    config.http.request_timeout = Duration::from_millis(500);
    config.http.max_in_flight = 1;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = app.new_file().await;
    app.graph()
        .set_delay(Match::method("POST"), Duration::from_millis(1500));
    let body = create_body(&file, "late");
    let (status, answer, _) = send_keyed(&app, "late", &body).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{answer}");
    // The write still running holds its in-flight permit (the only one).
    let list = json!({ "query": LIST, "variables": { "f": file, "first": 1 } });
    let (status, _, refused) = app.post(list).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    // Retries until the first attempt's outcome is known (each retry waits within its own
    // deadline, so an early one may be cut off or shed too).
    let mut outcome = None;
    for _ in 0..100 {
        let (status, answer, replayed) = send_keyed(&app, "late", &body).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        if status != StatusCode::GATEWAY_TIMEOUT {
            outcome = Some((status, answer, replayed));
            break;
        }
    }
    let (status, answer, replayed) = outcome.expect("the first attempt ends");
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(replayed, "{answer}");
    assert!(answer["data"]["createGroupPolicyOperation"]["id"].is_string());
    assert_eq!(app.graph().count(&Match::method("POST")), 1, "written once");
}

#[tokio::test]
async fn a_throttled_write_frees_its_key_for_the_retry() {
    let app = TestApp::new(Mode::Graph).await;
    let file = app.new_file().await;
    // One try and three retries, all refused.
    app.graph()
        .inject(Match::method("POST"), Canned::throttled("0"), 4);
    let body = create_body(&file, "throttled");
    let (status, answer, _) = send_keyed(&app, "busy", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&answer), "THROTTLED", "{answer}");
    let (status, answer, replayed) = send_keyed(&app, "busy", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !replayed,
        "a refusal is not kept as the key's answer: {answer}"
    );
    assert!(
        answer["data"]["createGroupPolicyOperation"]["id"].is_string(),
        "{answer}"
    );
    let (_, again, replayed) = send_keyed(&app, "busy", &body).await;
    assert!(replayed);
    assert_eq!(again, answer);
}
