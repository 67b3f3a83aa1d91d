//! A document the gateway has seen and validated before runs without the schema's per-field
//! hooks (`src/graphql/fast.rs`). Repeating each request must change nothing a client or an
//! operator sees: the same answers, every error with its code, the error cap applied, and
//! each operation and refusal counted exactly once in the metrics.

use serde_json::{Value, json};

use crate::support::helpers::{DELETE, DEMO_FILE, DEMO_OP, GET, TOKEN, guid};
use crate::support::process::{start, terminate};

const PAGE: &str = "query Page($f: ID!, $n: Int) { \
    groupPolicyOperations(definitionFileId: $f, first: $n) { nodes { id } } }";

const DELETE_THREE: &str = "mutation DeleteThree($f: ID!, $a: ID!, $b: ID!, $c: ID!) { \
    a: deleteGroupPolicyOperation(definitionFileId: $f, id: $a) \
    b: deleteGroupPolicyOperation(definitionFileId: $f, id: $b) \
    c: deleteGroupPolicyOperation(definitionFileId: $f, id: $c) }";

async fn post(client: &reqwest::Client, addr: &str, query: &str, variables: Value) -> Value {
    client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("a JSON answer")
}

fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("none"))
                .collect()
        })
        .unwrap_or_default()
}

/// The samples of metric `name` (without the name), sorted.
fn samples(metrics: &str, name: &str) -> Vec<String> {
    let mut found: Vec<String> = metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.strip_prefix(name))
        .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
        .map(|rest| rest.trim().to_owned())
        .collect();
    found.sort_unstable();
    found
}

#[tokio::test]
async fn repeated_documents_answer_and_count_exactly_as_the_first_time() {
    let (child, addr) = start(&[
        "--metrics-on-main-port",
        "--max-complexity",
        "50",
        "--max-errors",
        "2",
    ]);
    let client = reqwest::Client::new();

    let lookup = json!({ "f": DEMO_FILE, "id": DEMO_OP });
    let first = post(&client, &addr, GET, lookup.clone()).await;
    assert_eq!(
        first["data"]["groupPolicyOperation"]["id"], DEMO_OP,
        "{first}"
    );
    for _ in 0..2 {
        assert_eq!(post(&client, &addr, GET, lookup.clone()).await, first);
    }

    // A field error keeps its code on every run.
    for _ in 0..2 {
        let body = post(
            &client,
            &addr,
            DELETE,
            json!({ "f": DEMO_FILE, "id": guid() }),
        )
        .await;
        assert_eq!(codes(&body), ["NOT_FOUND"], "{body}");
    }

    // Three field errors over a cap of two: two kept and one that says how many were dropped.
    for _ in 0..2 {
        let ids = json!({ "f": DEMO_FILE, "a": guid(), "b": guid(), "c": guid() });
        let body = post(&client, &addr, DELETE_THREE, ids).await;
        assert_eq!(
            codes(&body),
            ["NOT_FOUND", "NOT_FOUND", "LIMIT_EXCEEDED"],
            "{body}"
        );
    }

    // A validated document is still measured with each request's variables.
    for _ in 0..2 {
        let body = post(&client, &addr, PAGE, json!({ "f": DEMO_FILE, "n": 2 })).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let body = post(&client, &addr, PAGE, json!({ "f": DEMO_FILE, "n": 60 })).await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");

    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    terminate(child).await;
    assert_eq!(
        samples(&metrics, "gpo_gateway_graphql_requests_total"),
        [
            r#"{operation_type="mutation",operation_name="Delete",outcome="NOT_FOUND"} 2"#,
            r#"{operation_type="mutation",operation_name="DeleteThree",outcome="NOT_FOUND"} 2"#,
            r#"{operation_type="query",operation_name="Get",outcome="OK"} 3"#,
            r#"{operation_type="query",operation_name="Page",outcome="OK"} 2"#,
            r#"{operation_type="unknown",operation_name="unknown",outcome="LIMIT_EXCEEDED"} 1"#,
        ],
        "{metrics}"
    );
    assert_eq!(
        samples(&metrics, "gpo_gateway_refusals_total"),
        [r#"{limit="max_complexity"} 1"#, r#"{limit="max_errors"} 2"#],
        "{metrics}"
    );
}
