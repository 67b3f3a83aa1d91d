//! Redis lost mid-run and back: requests are still answered (the budget falls back to each
//! replica's share, persisted queries miss), `/readyz` stays ready, and once Redis returns the
//! replicas share again without a restart.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;
use crate::support::helpers::{GET, code, guid};

/// Registers a fresh query on `a` and says whether `b` answers its hash alone.
async fn shared_between(a: &TestApp, b: &TestApp) -> bool {
    let query = format!("query Q{} {{ __typename }}", guid().replace('-', ""));
    let hash = format!("{:x}", Sha256::digest(&query));
    let (_, _, registered) = a.post(with_hash(Some(&query), &hash)).await;
    assert_eq!(registered["data"]["__typename"], "Query", "{registered}");
    let (_, _, answer) = b.post(with_hash(None, &hash)).await;
    if answer["data"]["__typename"] == "Query" {
        return true;
    }
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND", "{answer}");
    false
}

/// How many of `count` lookups on `replica` are answered; the others must be THROTTLED.
async fn answered(replica: &TestApp, file: &str, op: &str, count: usize) -> usize {
    let mut answered = 0;
    for _ in 0..count {
        let body = replica.gql(GET, json!({ "f": file, "id": op })).await;
        if body["data"]["groupPolicyOperation"]["id"] == json!(op) {
            answered += 1;
        } else {
            assert_eq!(code(&body), "THROTTLED", "{body}");
        }
    }
    answered
}

// Long on purpose: one outage from start to recovery, in order.
#[tokio::test]
async fn redis_killed_mid_run_degrades_the_replicas_and_they_recover_without_a_restart() {
    let mut redis = RedisServer::start();
    let (graph, a, b) = two_replicas(&redis, |config| {
        config.budget.tenant_read_budget = 10;
        config.budget.graph_budget_wait = Duration::ZERO;
        config.budget.replicas = Some(2);
        config.telemetry.metrics_on_main_port = true;
    })
    .await;
    let file = guid();
    let op = graph.insert_op(&file, "upload", "success", None);
    assert!(shared_between(&a, &b).await, "shared while Redis is up");
    assert_eq!(answered(&a, &file, &op, 4).await, 4);

    redis.kill();
    let failures_before = redis_failures(&a).await;
    // Each replica falls back to its half of the budget, counted from nothing.
    let started = Instant::now();
    assert_eq!(answered(&a, &file, &op, 6).await, 5);
    assert_eq!(answered(&b, &file, &op, 6).await, 5);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no long waits on Redis"
    );
    assert!(!shared_between(&a, &b).await, "persisted queries miss");
    let (status, _, _) = a
        .send(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "still ready");
    assert!(
        redis_failures(&a).await > failures_before,
        "counted in a's /metrics"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !shared_between(&a, &b).await {
        assert!(Instant::now() < deadline, "shared again within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The budget is in Redis again (a fresh one: Redis kept nothing), shared by both.
    assert_eq!(answered(&a, &file, &op, 6).await, 6);
    assert_eq!(answered(&b, &file, &op, 6).await, 4);
}

/// The Redis failures on `replica`'s `/metrics` page.
async fn redis_failures(replica: &TestApp) -> u64 {
    let (status, _, page) = replica
        .send(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = page.as_str().expect("the text format").to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix("gpo_gateway_redis_failures_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
