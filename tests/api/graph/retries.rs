//! When the gateway retries a Graph call: `Retry-After` in each of its forms is honoured,
//! writes are retried only where that is safe, and throttling gives up within the time budget.

use std::time::SystemTime;

use super::*;

/// One 429 with `retry_after`, then success: the GET is retried after at least `min_wait`.
/// The header value is made once the app is up, so an HTTP date is as far away as meant.
async fn retried_after(retry_after: impl FnOnce() -> String, min_wait: Duration) {
    let app = graph_app().await;
    let retry_after = retry_after();
    let (file, id) = failing_reads(&app, Some("ok"), Canned::throttled(&retry_after), 1);
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
    retried_after(|| "1".to_owned(), Duration::from_millis(950)).await;
}

#[tokio::test]
async fn retry_after_in_fractional_seconds_is_honoured() {
    retried_after(|| "0.2".to_owned(), Duration::from_millis(190)).await;
    retried_after(|| "1.5".to_owned(), Duration::from_millis(1450)).await;
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have whole seconds: "now + 2 s" truncated is 1 to 2 s away.
    let when = || httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    retried_after(when, Duration::from_millis(900)).await;
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
    let (file, id) = failing_reads(
        &app,
        Some("ok"),
        Canned::graph_error(503, "ServiceUnavailable", "down").header("Retry-After", "0.1"),
        1,
    );
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::graph_error(504, "GatewayTimeout", "slow").header("Retry-After", "0.1"),
        1,
    );
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "ok");
    assert_eq!(app.graph().count(&Match::method("GET")), 3);
    // Lists (GETs too) are retried the same way.
    app.graph().inject(
        Match::method("GET").path_contains(&file),
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
    let (file, id) = failing_reads(&app, None, Canned::throttled("10"), 100);
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    assert_eq!(ext(error, "retryAfter"), 10);
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    let attempts = app.graph().count(&Match::method("GET"));
    assert!((1..=4).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn throttling_without_retry_after_gives_up_within_the_time_budget() {
    // A fresh app: the 429s above paused their tenant for 10 s.
    let app = graph_app_with_timeout(2.0).await;
    let (file, id) = failing_reads(&app, None, Canned::throttled_without_retry_after(), 100);
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    assert_eq!(code(&body), "THROTTLED", "{body}");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    // The SDKs' backoff (3 s and more) does not fit in 2 s: no retry is made.
    assert_eq!(app.graph().count(&Match::method("GET")), 1);
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
