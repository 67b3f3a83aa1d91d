//! What the operator reads in the binary's log: a request that waited for the tenant budget
//! says so in its own request's context, and losing Redis is one WARN line.

use serde_json::json;

use super::*;
use crate::support::helpers::{GET, TOKEN, guid};
use crate::support::process::{start, terminate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_says_when_a_request_waited_for_the_budget_and_when_redis_is_lost() {
    let mut redis = RedisServer::start();
    let graph = FakeGraph::spawn().await;
    let file = guid();
    let op = graph.insert_op(&file, "upload", "success", None);
    let graph_url = graph.base_url();
    let redis_url = redis.url();
    let (child, addr) = start(&[
        "--backend",
        "graph",
        "--graph-url",
        &graph_url,
        "--redis-url",
        &redis_url,
        "--redis-timeout",
        "2s",
        "--tenant-read-budget",
        "1",
        "--tenant-budget-window",
        "1s",
    ]);
    let client = reqwest::Client::new();
    let lookup = |traceparent: &'static str| {
        client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(TOKEN)
            .header("traceparent", traceparent)
            .json(&json!({ "query": GET, "variables": { "f": file, "id": op } }))
            .send()
    };
    // Each lookup must find the operation, whatever Redis is doing.
    let answered = |sent: reqwest::Result<reqwest::Response>| async {
        let answer: serde_json::Value = sent.expect("answered").json().await.expect("JSON");
        assert_eq!(
            answer["data"]["groupPolicyOperation"]["id"],
            json!(op),
            "{answer}"
        );
    };
    let first = "00-11111111111111111111111111111111-00f067aa0ba902b7-01";
    let waiting = "00-22222222222222222222222222222222-00f067aa0ba902b7-01";
    answered(lookup(first).await).await;
    answered(lookup(waiting).await).await;

    redis.kill();
    let third = "00-33333333333333333333333333333333-00f067aa0ba902b7-01";
    answered(lookup(third).await).await;

    let (_, log) = terminate(child).await;
    let waited: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("waited for the tenant's Graph budget"))
        .collect();
    assert_eq!(waited.len(), 1, "{log}");
    assert!(
        waited[0].contains("2222222222222222"),
        "in the request's context: {log}"
    );
    let warnings = log
        .lines()
        .filter(|l| l.contains("Redis is unreachable"))
        .count();
    assert_eq!(warnings, 1, "one line, not one per request: {log}");
    assert!(!log.contains(TOKEN), "never the token");
}
