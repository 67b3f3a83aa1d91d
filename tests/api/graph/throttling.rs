//! Throttling as Microsoft asks: a 429 pauses the whole tenant (every request and poller of
//! it waits out `Retry-After`), a 429 without `Retry-After` is retried after the SDKs' 3 s
//! backoff with `Retry-Attempt`, and the tenant's budget refuses, before Graph does, what
//! would go over it.

use super::*;
use crate::support::ws::{CHANGED, eventually, next, ready, send};

#[tokio::test]
async fn a_429_pauses_the_tenant_so_the_next_request_is_throttled_without_reaching_graph() {
    let app = graph_app_with_timeout(2.0).await;
    // Two files: a lookup reads its whole file (`$expand`), so each has its own Graph GET.
    let (file, other_file) = (guid(), guid());
    let throttled = app.graph().insert_op(&file, "upload", "success", None);
    let other = app
        .graph()
        .insert_op(&other_file, "upload", "success", None);
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::throttled("10"),
        1,
    );
    let body = app.gql(GET, json!({ "f": file, "id": throttled })).await;
    assert_eq!(code(&body), "THROTTLED", "{body}");

    let body = app.gql(GET, json!({ "f": other_file, "id": other })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    let retry_after = ext(error, "retryAfter").as_u64().expect("seconds");
    assert!((8..=10).contains(&retry_after), "{body}");
    assert_eq!(
        app.graph()
            .count(&Match::method("GET").path_contains(&other_file)),
        0,
        "nothing is sent while the tenant is paused"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_after_three_seconds_with_retry_attempt() {
    let app = graph_app_with_timeout(10.0).await;
    let (file, id) = failing_reads(
        &app,
        Some("ok"),
        Canned::graph_error(429, "TooManyRequests", "slow down"),
        1,
    );
    let started = Instant::now();
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "ok");
    assert!(
        elapsed >= Duration::from_millis(2950) && elapsed < Duration::from_millis(5500),
        "{elapsed:?}"
    );
    let gets: Vec<Recorded> = plain_requests(app.graph())
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].header("retry-attempt"), None);
    assert_eq!(gets[1].header("retry-attempt"), Some("1"));
}

#[tokio::test]
async fn the_tenant_budget_refuses_what_would_go_over_it_before_graph_sees_it() {
    let mut config = config();
    config.budget.tenant_read_budget = 5;
    config.budget.graph_budget_wait = Duration::ZERO;
    config.telemetry.metrics_on_main_port = true;
    let app = TestApp::with_config(Mode::Graph, config).await;
    // One operation in each of six files: a lookup reads its file, so three lookups in three
    // files are one $batch of three reads (three slots), and two plain GETs take two more.
    let files: Vec<String> = (0..6).map(|_| guid()).collect();
    let ids: Vec<String> = files
        .iter()
        .map(|file| app.graph().insert_op(file, "upload", "success", None))
        .collect();
    let three = format!(
        "{{ a: groupPolicyOperation(definitionFileId: \"{}\", id: \"{}\") {{ id }} \
           b: groupPolicyOperation(definitionFileId: \"{}\", id: \"{}\") {{ id }} \
           c: groupPolicyOperation(definitionFileId: \"{}\", id: \"{}\") {{ id }} }}",
        files[0], ids[0], files[1], ids[1], files[2], ids[2]
    );
    app.data(&three, json!({})).await;
    for n in 3..5 {
        app.data(GET, json!({ "f": files[n], "id": ids[n] })).await;
    }
    app.graph().clear_requests();
    let body = app.gql(GET, json!({ "f": files[5], "id": ids[5] })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    let retry_after = ext(error, "retryAfter").as_u64().expect("seconds");
    assert!((19..=20).contains(&retry_after), "{body}");
    assert!(app.graph().requests().is_empty(), "never sent");
    let (status, _, page) = app
        .send(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let metrics = page.as_str().expect("the text format").to_owned();
    let refusals = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                r#"gpo_gateway_tenant_budget_refusals_total{budget="read",priority="interactive"} "#,
            )
        })
        .and_then(|n| n.parse::<u64>().ok());
    assert!(refusals >= Some(1), "{metrics}");
    for name in ["tenant_budget_left", "tenant_pauses_total", "redis_up"] {
        assert!(metrics.contains(&format!("gpo_gateway_{name}")), "{name}");
    }
}

fn subscription(id: &str, file: &str, op: &str) -> Value {
    json!({ "id": id, "type": "subscribe",
            "payload": { "query": CHANGED, "variables": { "f": file, "id": op } } })
}

// Long on purpose: two pollers of one token, a 429 on one, and the quiet until Retry-After.
#[tokio::test]
async fn a_429_on_one_poller_holds_every_poller_of_its_tenant_until_retry_after() {
    let mut config = config();
    config.graph.poll_interval = Duration::from_millis(100);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let addr = serve_tcp(app.router.clone()).await;
    // Two files: a poller reads its operation's file, so each poller has its own GET.
    let (file, file_b) = (app.new_file().await, app.new_file().await);
    let a = app.graph().insert_op(&file, "upload", "inProgress", None);
    let b = app.graph().insert_op(&file_b, "upload", "inProgress", None);
    let mut socket = ready(
        addr,
        "graphql-transport-ws",
        json!({ "authorization": "Bearer poll-token" }),
    )
    .await;
    send(&mut socket, subscription("a", &file, &a)).await;
    send(&mut socket, subscription("b", &file_b, &b)).await;
    next(&mut socket).await;
    next(&mut socket).await;
    let gets = |file: &str| app.graph().count(&Match::method("GET").path_contains(file));
    let (a, b) = (file.clone(), file_b.clone());
    eventually(Duration::from_secs(10), "both pollers running", || {
        gets(&a) >= 2 && gets(&b) >= 2
    })
    .await;

    app.graph().inject(
        Match::method("GET").path_contains(&a),
        Canned::throttled("2"),
        1,
    );
    eventually(Duration::from_secs(10), "the 429 answered", || {
        app.graph().pending_injections() == 0
    })
    .await;
    let throttled_at = Instant::now();
    let (a_then, b_then) = (gets(&a), gets(&b));
    // Watched for 1.5 s of the 2 s: neither poller of the tenant sends anything.
    while throttled_at.elapsed() < Duration::from_millis(1500) {
        assert_eq!(gets(&a), a_then, "poller A polled before Retry-After");
        assert!(
            gets(&b) <= b_then + 1,
            "poller B kept polling during the pause"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually(Duration::from_secs(10), "polling resumed", || {
        gets(&a) > a_then && gets(&b) > b_then + 1
    })
    .await;
}
