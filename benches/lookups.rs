//! How much the per-request DataLoader over `$batch` saves when a client asks for many
//! operations at once, against a fake Graph that answers each HTTP request after a fixed
//! latency (a sub-request inside `$batch` adds none, as Graph processes them server-side).
//!
//! Run: `cargo bench --bench lookups`. It prints, for K lookups, the upstream calls and the
//! wall time of (a) one GraphQL query with K aliased lookups through the gateway and (b) the
//! same K lookups sent as K separate GraphQL requests one after another (what a client of a
//! gateway without batching waits for), and the ratio of the two, measured in one run.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use fake_graph::{FakeGraph, Match};
use gpo_gateway::{BackendKind, Config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const LATENCY: Duration = Duration::from_millis(25);

async fn post(router: &axum::Router, query: String) -> Value {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer bench")
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::main]
async fn main() {
    let graph = FakeGraph::spawn().await;
    graph.set_delay(Match::any().in_batch(false), LATENCY);
    let mut config = Config::defaults();
    config.backend = BackendKind::Graph;
    config.graph.graph_url = graph.base_url();
    let router = gpo_gateway::app(&config).expect("gateway").router;
    let file = uuid::Uuid::new_v4().to_string();
    let ids: Vec<String> = (0..100)
        .map(|_| graph.insert_op(&file, "upload", "inProgress", None))
        .collect();

    println!("Graph latency per HTTP request: {LATENCY:?}");
    println!(
        "{:>4} | {:>22} | {:>22} | {:>7}",
        "K", "one query (calls, ms)", "K queries (calls, ms)", "speedup"
    );
    for k in [1usize, 5, 20, 45, 100] {
        let aliases: String = ids[..k]
            .iter()
            .enumerate()
            .map(|(i, id)| format!("o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{id}\") {{ id operationStatus }} "))
            .collect();
        graph.clear_requests();
        let started = Instant::now();
        let body = post(&router, format!("{{ {aliases} }}")).await;
        let batched = started.elapsed();
        assert!(body.get("errors").is_none(), "{body}");
        let batched_calls = graph.requests().iter().filter(|r| !r.in_batch).count();

        graph.clear_requests();
        let started = Instant::now();
        for id in &ids[..k] {
            let body = post(&router, format!("{{ groupPolicyOperation(definitionFileId: \"{file}\", id: \"{id}\") {{ id operationStatus }} }}")).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        let separate = started.elapsed();
        let separate_calls = graph.requests().iter().filter(|r| !r.in_batch).count();
        println!(
            "{k:>4} | {batched_calls:>8} {:>13.1} | {separate_calls:>8} {:>13.1} | {:>6.1}x",
            batched.as_secs_f64() * 1e3,
            separate.as_secs_f64() * 1e3,
            separate.as_secs_f64() / batched.as_secs_f64()
        );
    }
}
