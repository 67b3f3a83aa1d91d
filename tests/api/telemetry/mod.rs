//! What the gateway tells its operator: Prometheus metrics after a known sequence of requests
//! (exact counts, no token, id or message in a label), the Grafana dashboard's metric names,
//! JSON request logs carrying the ids, and `gpo-gateway schema`.

mod apart;
mod logs;
mod metric_names;
mod request_lines;
mod traces;

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::helpers::{AllBytes, AnswerJson};
use crate::support::helpers::{CREATE, DELETE, GET, TOKEN, config, guid, serve_tcp_with};
use crate::support::process::{start, start_reading, terminate};
use fake_graph::{Canned, FakeGraph, Match};

/// Posts `query` to the gateway at `addr` with the test token; returns the JSON answer.
async fn post(addr: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .answer_json()
        .await
}

/// The samples of the exposition whose name is `name`, without the name: `{labels} value`.
fn samples<'a>(metrics: &'a str, name: &str) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
        .map(str::trim)
        .collect()
}

const THREE: &str = "query Three($f: ID!, $a: ID!, $b: ID!, $c: ID!) {
  a: groupPolicyOperation(definitionFileId: $f, id: $a) { id }
  b: groupPolicyOperation(definitionFileId: $f, id: $b) { id }
  c: groupPolicyOperation(definitionFileId: $f, id: $c) { id }
}";

// Long on purpose: one gateway process driven through a known sequence, then its whole
// /metrics page checked; split up, each part would need its own process and sequence.
#[tokio::test]
async fn metrics_count_a_known_sequence_exactly_and_no_label_holds_an_id_or_a_token() {
    let graph = FakeGraph::spawn().await;
    // Navigation reads: each lookup its own route, so three lookups make one $batch.
    graph.set_navigation_reads(true);
    let file = guid();
    let ids: Vec<String> = (0..3)
        .map(|_| graph.insert_op(&file, "upload", "success", Some("fine")))
        .collect();
    // In process: each gateway counts in its own figures, so nothing else in this test binary
    // can add to these counts.
    let mut config = config();
    config.backend = gpo_gateway::BackendKind::Graph;
    config.graph.graph_url = graph.base_url();
    config.graph.graph_navigation_reads = true;
    config.telemetry.metrics_on_main_port = true;
    let app = gpo_gateway::app(&config).expect("the gateway builds");
    let addr = serve_tcp_with(app.router, &config).await.to_string();

    // A success, a NOT_FOUND, a refused bomb, a throttled create that is retried, a $batch.
    let body = post(&addr, GET, json!({ "f": file, "id": ids[0] })).await;
    assert_eq!(
        body["data"]["groupPolicyOperation"]["id"],
        json!(ids[0]),
        "{body}"
    );
    let missing = guid();
    let body = post(&addr, DELETE, json!({ "f": file, "id": missing })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let bomb = format!(
        "query Bomb {{ {} __typename {} }}",
        "a {".repeat(20),
        "}".repeat(20)
    );
    let body = post(&addr, &bomb, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body}"
    );
    graph.inject(
        Match::method("POST")
            .in_batch(false)
            .path_contains("groupPolicyOperations"),
        Canned::throttled("0.25"),
        1,
    );
    let input = json!({ "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" });
    let body = post(&addr, CREATE, json!({ "f": file, "input": input })).await;
    assert!(
        body["data"]["createGroupPolicyOperation"]["id"].is_string(),
        "{body}"
    );
    let vars = json!({ "f": file, "a": ids[0], "b": ids[1], "c": ids[2] });
    let body = post(&addr, THREE, vars).await;
    assert_eq!(body["data"]["c"]["id"], json!(ids[2]), "{body}");

    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");

    let mut requests = samples(&metrics, "gpo_gateway_graphql_requests_total");
    requests.sort_unstable();
    assert_eq!(
        requests,
        [
            r#"{operation_type="mutation",operation_name="Create",outcome="OK"} 1"#,
            r#"{operation_type="mutation",operation_name="Delete",outcome="NOT_FOUND"} 1"#,
            r#"{operation_type="query",operation_name="Get",outcome="OK"} 1"#,
            r#"{operation_type="query",operation_name="Three",outcome="OK"} 1"#,
            r#"{operation_type="unknown",operation_name="unknown",outcome="LIMIT_EXCEEDED"} 1"#,
        ],
        "{metrics}"
    );
    assert_eq!(
        samples(&metrics, "gpo_gateway_refusals_total"),
        [r#"{limit="max_depth"} 1"#]
    );
    let collection =
        "/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations";
    let mut upstream = samples(&metrics, "gpo_gateway_graph_requests_total");
    upstream.sort_unstable();
    let mut expected = vec![
        format!(r#"{{method="DELETE",route="{collection}/{{id}}",status="404"}} 1"#),
        format!(r#"{{method="GET",route="{collection}/{{id}}",status="200"}} 1"#),
        format!(r#"{{method="POST",route="{collection}",status="201"}} 1"#),
        format!(r#"{{method="POST",route="{collection}",status="429"}} 1"#),
        r#"{method="POST",route="/$batch",status="200"} 1"#.to_owned(),
    ];
    expected.sort_unstable();
    assert_eq!(upstream, expected, "{metrics}");
    for (name, value) in [
        ("graph_retries_total", "1"),
        ("graph_throttles_total", "1"),
        ("graph_last_retry_after_seconds", "0.25"),
        ("graph_batch_size_count", "1"),
        ("graph_batch_size_sum", "3.0"),
        ("graphql_requests_in_flight", "0"),
    ] {
        let name = format!("gpo_gateway_{name}");
        assert_eq!(samples(&metrics, &name), [value], "{name}");
    }
    let mut timed = samples(
        &metrics,
        "gpo_gateway_graphql_request_duration_seconds_count",
    );
    timed.sort_unstable();
    assert_eq!(
        timed,
        [
            r#"{operation_type="mutation"} 2"#,
            r#"{operation_type="query"} 2"#,
            r#"{operation_type="unknown"} 1"#,
        ]
    );

    // Nothing a client sent as data reaches a label: no id, no token, no message.
    let mut secrets: Vec<&str> = ids.iter().map(String::as_str).collect();
    secrets.extend([
        file.as_str(),
        missing.as_str(),
        TOKEN,
        "Bomb",
        "not found",
        "Bearer",
    ]);
    for secret in secrets {
        assert!(
            !metrics.contains(secret),
            "{secret} in the metrics:\n{metrics}"
        );
    }
}

/// GET `/metrics` on `router`: the status and the page.
async fn scrape(router: axum::Router) -> (StatusCode, String) {
    let request = Request::get("/metrics")
        .body(Body::empty())
        .expect("request");
    let response = router.oneshot(request).await.expect("an answer");
    let status = response.status();
    let body = response.into_body().all_bytes().await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// POSTs `query` to `router` as a client would; the answer's status.
async fn post_to(router: &axum::Router, query: &str) -> StatusCode {
    let body = json!({ "query": query }).to_string();
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("an answer");
    response.status()
}

#[tokio::test]
async fn metrics_are_off_the_public_port_unless_enabled_and_always_on_their_own_router() {
    let app = gpo_gateway::app(&config()).expect("the gateway builds");
    // A labelled family is exported once it holds a sample: run one operation first.
    assert_eq!(post_to(&app.router, "{ __typename }").await, StatusCode::OK);
    assert_eq!(scrape(app.router).await.0, StatusCode::NOT_FOUND);
    let (status, text) = scrape(app.metrics).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("# TYPE gpo_gateway_graphql_requests_total counter"),
        "{text}"
    );
    let mut enabled = config();
    enabled.telemetry.metrics_on_main_port = true;
    let app = gpo_gateway::app(&enabled).expect("the gateway builds");
    assert_eq!(scrape(app.router).await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_a_listener_of_their_own() {
    let (child, addr, lines) = start_reading(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let metrics_url = lines
        .map(|line| line.expect("text"))
        .find_map(|line| {
            line.trim()
                .strip_prefix("metrics:")
                .map(|url| url.trim().to_owned())
        })
        .expect("the metrics URL is printed");
    let scraped = reqwest::get(&metrics_url).await.expect("metrics");
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.expect("text");
    assert!(
        text.contains("gpo_gateway_graphql_requests_in_flight"),
        "{text}"
    );
    let public = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("an answer");
    assert_eq!(public.status(), 404, "not on the public port");
    terminate(child).await;
}

#[tokio::test]
async fn the_dashboard_reads_only_metrics_the_gateway_exports() {
    // Labelled families are exported once they hold a sample.
    use gpo_gateway::telemetry::metrics;
    let app = gpo_gateway::app(&config()).expect("the gateway builds");
    assert_eq!(post_to(&app.router, "{ __typename }").await, StatusCode::OK);
    let counted = app.state.metrics();
    counted.refused(metrics::Limit::MaxDepth);
    counted
        .backend()
        .graph_request("GET", "/$batch", 200, std::time::Duration::ZERO);
    counted.cache_lookup(metrics::Cache::Document, true);
    {
        use gpo_gateway::backend::budget::Priority;
        let budget = counted.backend().budget();
        budget.granted(
            false,
            Priority::Interactive,
            1,
            Some(std::time::Duration::ZERO),
        );
        budget.refused(false, Priority::Poller);
    }
    let (_, exported) = scrape(app.metrics).await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana-dashboard.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).expect("JSON");
    let mut read = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("an expression");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|word| word.starts_with("gpo_gateway_"))
            {
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(name);
                assert!(
                    exported.contains(&format!("# TYPE {family} ")),
                    "{name} (panel {}) is not exported:\n{exported}",
                    panel["title"]
                );
                read += 1;
            }
        }
    }
    assert!(read >= 14, "the dashboard reads {read} series");
}

#[tokio::test]
async fn two_gateways_in_one_process_count_their_operations_and_refusals_apart() {
    let first = gpo_gateway::app(&config()).expect("the gateway builds");
    let second = gpo_gateway::app(&config()).expect("the gateway builds");
    for _ in 0..2 {
        assert_eq!(
            post_to(&first.router, "{ __typename }").await,
            StatusCode::OK
        );
    }
    let bomb = format!("{{ {} __typename {} }}", "a {".repeat(20), "}".repeat(20));
    post_to(&second.router, &bomb).await;
    let (_, first) = scrape(first.metrics).await;
    let (_, second) = scrape(second.metrics).await;
    assert_eq!(
        samples(&first, "gpo_gateway_graphql_requests_total"),
        [r#"{operation_type="query",operation_name="__anonymous",outcome="OK"} 2"#],
        "{first}"
    );
    assert_eq!(
        samples(&second, "gpo_gateway_graphql_requests_total"),
        [r#"{operation_type="unknown",operation_name="unknown",outcome="LIMIT_EXCEEDED"} 1"#],
        "{second}"
    );
    // The guard's refusals are each gateway's own.
    let depth = |page: &str| {
        samples(page, "gpo_gateway_refusals_total")
            .into_iter()
            .find_map(|sample| sample.strip_prefix(r#"{limit="max_depth"} "#))
            .map(str::to_owned)
    };
    assert_eq!(depth(&first), None, "{first}");
    assert_eq!(depth(&second).as_deref(), Some("1"), "{second}");
    let mut lookups = samples(&first, "gpo_gateway_cache_lookups_total");
    lookups.sort_unstable();
    assert_eq!(
        lookups,
        [
            r#"{cache="document",result="hit"} 1"#,
            r#"{cache="document",result="miss"} 1"#
        ],
        "{first}"
    );
}
