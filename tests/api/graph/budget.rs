//! The Graph request budget of one GraphQL request, counted at the fake Graph as Intune counts
//! its throttling budget: every `$batch` sub-request, list page and retry is one request. Fields
//! the budget cannot pay for get `LIMIT_EXCEEDED` and never reach Graph; an HTTP batch shares
//! one budget; each WebSocket operation has its own; shared pollers are not charged.
//! These run with `--graph-navigation-reads`, where each lookup and list page is its own
//! request (the default `$expand` reads cost one request per file: see `graph/expand.rs`).

use serde_json::{Value, json};

use crate::support::helpers::*;
use crate::support::ws::{config_with, next, ready, ready_with_token, send, status_of, subscribe};
use fake_graph::{Canned, Match};

/// A Graph-mode gateway whose requests may each make `budget` Graph requests.
async fn with_budget(budget: usize) -> TestApp {
    let mut config = config();
    config.graph.graph_request_budget = budget;
    crate::graph::navigation_app_with(config).await
}

/// A Graph-mode gateway with the default budget and the query guard's caps lifted, so that
/// the budget is what stops a huge request.
async fn behind_the_guard() -> TestApp {
    let mut config = config();
    lift_query_caps(&mut config);
    crate::graph::navigation_app_with(config).await
}

/// Every request that reached Graph as Intune counts them: plain calls and `$batch`
/// sub-requests, but not the `$batch` envelopes that carry them.
fn graph_requests(app: &TestApp) -> usize {
    let envelopes = app.graph().count(
        &Match::method("POST")
            .path_contains("$batch")
            .in_batch(false),
    );
    app.graph().requests().len() - envelopes
}

fn batch_envelopes(app: &TestApp) -> usize {
    app.graph().count(
        &Match::method("POST")
            .path_contains("$batch")
            .in_batch(false),
    )
}

fn errors(body: &Value) -> Vec<Value> {
    body["errors"].as_array().cloned().unwrap_or_default()
}

/// `count` aliased lookups of the given ids in `file`.
fn lookups_of(file: &str, ids: &[String]) -> String {
    let aliases: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                "o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{id}\") {{ id }}\n"
            )
        })
        .collect();
    format!("{{ {aliases} }}")
}

/// `count` aliased lists, each of its own definition file (so none repeats another).
fn lists_of_distinct_files(app: &TestApp, count: usize) -> String {
    let aliases: String = (0..count)
        .map(|i| {
            let file = guid();
            app.graph().insert_file(&file);
            format!(
                "l{i}: groupPolicyOperations(definitionFileId: \"{file}\", first: 100) {{ nodes {{ statusDetails }} }}\n"
            )
        })
        .collect();
    format!("{{ {aliases} }}")
}

fn insert(app: &TestApp, file: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| app.graph().insert_op(file, "upload", "success", None))
        .collect()
}

fn assert_budget_refusals(body: &Value, refused: usize, budget: usize) {
    let errors = errors(body);
    assert_eq!(errors.len(), refused, "{body}");
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{error}");
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.contains(&format!("budget of {budget} Microsoft Graph requests")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_query_of_100_distinct_lookups_fits_the_default_budget_in_5_batches() {
    let app = crate::graph::navigation_app().await;
    let file = guid();
    let ids = insert(&app, &file, 100);
    let data = app.data(&lookups_of(&file, &ids), json!({})).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(data[format!("o{i}")]["id"], json!(id));
    }
    assert_eq!(batch_envelopes(&app), 5);
    assert_eq!(graph_requests(&app), 100);
}

#[tokio::test]
async fn lookups_just_within_the_budget_pass_and_one_more_is_refused_before_reaching_graph() {
    let app = with_budget(40).await;
    let file = guid();
    let ids = insert(&app, &file, 41);
    app.data(&lookups_of(&file, &ids[..40]), json!({})).await;
    assert_eq!(graph_requests(&app), 40);

    app.graph().clear_requests();
    let body = app.gql(&lookups_of(&file, &ids), json!({})).await;
    assert_budget_refusals(&body, 1, 40);
    assert_eq!(
        graph_requests(&app),
        40,
        "the refused lookup never reached Graph"
    );
    let answered = body["data"]
        .as_object()
        .expect("data")
        .values()
        .filter(|v| !v.is_null())
        .count();
    assert_eq!(answered, 40);
}

#[tokio::test]
async fn lists_just_within_the_budget_pass_and_one_more_is_refused() {
    let app = with_budget(3).await;
    let body = app.gql(&lists_of_distinct_files(&app, 3), json!({})).await;
    assert!(errors(&body).is_empty(), "{body}");
    assert_eq!(graph_requests(&app), 3);

    app.graph().clear_requests();
    let body = app.gql(&lists_of_distinct_files(&app, 4), json!({})).await;
    assert_budget_refusals(&body, 1, 3);
    assert_eq!(graph_requests(&app), 3);
}

#[tokio::test]
async fn a_500_alias_list_query_makes_no_more_graph_calls_than_the_budget() {
    // With the default settings the query guard refuses it before any call.
    let app = crate::graph::navigation_app().await;
    let body = app
        .gql(&lists_of_distinct_files(&app, 500), json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body}"
    );
    assert_eq!(graph_requests(&app), 0, "refused before reaching Graph");

    // Past the guard, the budget stops it.
    let app = behind_the_guard().await;
    let body = app
        .gql(&lists_of_distinct_files(&app, 500), json!({}))
        .await;
    assert_eq!(graph_requests(&app), 200, "the default budget");
    assert_budget_refusals(&body, 300, 200);
}

#[tokio::test]
async fn an_http_batch_of_ten_500_alias_list_queries_shares_one_budget() {
    let app = behind_the_guard().await;
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({ "query": lists_of_distinct_files(&app, 500) }))
        .collect();
    let (status, _, body) = app.post(Value::Array(batch)).await;
    assert_eq!(status, 200);
    assert_eq!(
        graph_requests(&app),
        200,
        "one budget for the whole HTTP batch"
    );
    let refused: usize = body
        .as_array()
        .expect("a batch answer")
        .iter()
        .map(|response| errors(response).len())
        .sum();
    assert_eq!(refused, 5000 - 200);
}

#[tokio::test]
async fn identical_list_calls_of_one_request_are_made_once() {
    let app = behind_the_guard().await;
    let file = guid();
    insert(&app, &file, 3);
    let alias = |i: usize| {
        format!(
            "l{i}: groupPolicyOperations(definitionFileId: \"{file}\", first: 2) {{ nodes {{ id }} }}\n"
        )
    };
    let query = format!("{{ {} }}", (0..500).map(alias).collect::<String>());
    let data = app.data(&query, json!({})).await;
    assert_eq!(data["l0"]["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(data["l0"], data["l499"]);
    assert_eq!(graph_requests(&app), 1);

    // An HTTP batch is one request: its operations share the remembered page too.
    app.graph().clear_requests();
    let batch: Vec<Value> = (0..10).map(|_| json!({ "query": query })).collect();
    let (status, _, _) = app.post(Value::Array(batch)).await;
    assert_eq!(status, 200);
    assert_eq!(graph_requests(&app), 1);

    // Another page size is another call.
    app.graph().clear_requests();
    let other = format!(
        "{{ a: groupPolicyOperations(definitionFileId: \"{file}\", first: 2) {{ nodes {{ id }} }} \
           b: groupPolicyOperations(definitionFileId: \"{file}\", first: 3) {{ nodes {{ id }} }} }}"
    );
    app.data(&other, json!({})).await;
    assert_eq!(graph_requests(&app), 2);
}

#[tokio::test]
async fn a_retry_is_paid_from_the_budget_and_not_made_without_it() {
    let app = with_budget(2).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    app.graph().inject(
        Match::method("GET").path_contains(&id),
        Canned::throttled("0"),
        3,
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&body), "THROTTLED", "the last answer stands: {body}");
    assert_eq!(graph_requests(&app), 2, "the first try and one paid retry");
}

#[tokio::test]
async fn a_list_that_runs_out_of_budget_ends_its_page_early_and_its_cursor_resumes() {
    let app = with_budget(2).await;
    let file = guid();
    let ids = insert(&app, &file, 5);
    app.graph().set_page_size(2);
    let data = app.data(LIST, json!({ "f": file, "first": 5 })).await;
    assert_eq!(node_ids(&data), ids[..4]);
    let page_info = &data["groupPolicyOperations"]["pageInfo"];
    assert_eq!(page_info["hasNextPage"], true);
    assert_eq!(graph_requests(&app), 2);

    let after = page_info["endCursor"].clone();
    let data = app
        .data(LIST, json!({ "f": file, "first": 5, "after": after }))
        .await;
    assert_eq!(node_ids(&data), ids[4..]);
}

#[tokio::test]
async fn each_websocket_operation_has_its_own_budget() {
    let app = with_budget(30).await;
    let file = guid();
    let ids = insert(&app, &file, 31);
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ready_with_token(addr).await;
    for round in 0..3 {
        let query = lookups_of(&file, &ids[..30]);
        send(
            &mut socket,
            json!({ "id": format!("{round}"), "type": "subscribe", "payload": { "query": query } }),
        )
        .await;
        let result = next(&mut socket).await;
        assert!(
            result["payload"].get("errors").is_none(),
            "round {round}: {result}"
        );
        assert_eq!(next(&mut socket).await["type"], "complete");
    }
    let query = lookups_of(&file, &ids);
    send(
        &mut socket,
        json!({ "id": "over", "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    assert_budget_refusals(&next(&mut socket).await["payload"], 1, 30);
}

#[tokio::test]
async fn a_shared_poller_is_not_charged_to_the_subscribing_operation() {
    let config = config_with(&["--graph-request-budget", "1", "--poll-interval", "0.05"]);
    let app = crate::graph::navigation_app_with(config).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ready(
        addr,
        "graphql-transport-ws",
        json!({ "Authorization": "Bearer poller" }),
    )
    .await;
    subscribe(&mut socket, "1", &file, &id).await;
    assert_eq!(status_of(&next(&mut socket).await), "IN_PROGRESS");
    // Wait for polls beyond the operation's budget of one.
    let polls = || app.graph().count(&Match::method("GET").path_contains(&id));
    let start = std::time::Instant::now();
    while polls() < 3 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the poller keeps polling"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.graph()
        .update(&file, &id, json!({ "operationStatus": "success" }));
    assert_eq!(status_of(&next(&mut socket).await), "SUCCESS");
}
