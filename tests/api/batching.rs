//! The per-request DataLoader over Graph's JSON `$batch`: many lookups in one GraphQL request
//! become few upstream calls of at most 20 sub-requests, each key fetched once, each
//! sub-response judged on its own, and never mixing two callers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use gpo_gateway::backend::Backend;
use serde_json::{Value, json};

use crate::fake_graph::{Canned, FakeGraph, Match, Recorded};
use crate::helpers::*;
use crate::test_backend::DelegatingBackend;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// One aliased lookup in a generated query.
struct Lookup {
    alias: String,
    id: String,
    selection: &'static str,
}

fn lookup(alias: impl Into<String>, id: &str, selection: &'static str) -> Lookup {
    Lookup {
        alias: alias.into(),
        id: id.to_owned(),
        selection,
    }
}

/// `query($f: ID!) { alias: groupPolicyOperation(definitionFileId: $f, id: "…") { … } … }`
fn lookups_query(lookups: &[Lookup]) -> String {
    let mut query = String::from("query Many($f: ID!) {\n");
    for l in lookups {
        query.push_str(&format!(
            "  {}: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ {} }}\n",
            l.alias, l.id, l.selection
        ));
    }
    query.push('}');
    query
}

fn is_batch_post(r: &Recorded) -> bool {
    !r.in_batch
        && r.method == "POST"
        && (r.path.ends_with("/$batch") || r.path.eq_ignore_ascii_case("/beta/%24batch"))
}

/// The outer `POST /$batch` requests, in arrival order.
fn batch_posts(graph: &FakeGraph) -> Vec<Recorded> {
    graph.requests().into_iter().filter(is_batch_post).collect()
}

/// The sub-requests the fake unpacked from batches.
fn sub_requests(graph: &FakeGraph) -> Vec<Recorded> {
    graph
        .requests()
        .into_iter()
        .filter(|r| r.in_batch)
        .collect()
}

/// The operation id a recorded (sub-)request addressed: the path's last segment.
fn addressed_id(r: &Recorded) -> String {
    r.path.rsplit('/').next().unwrap_or_default().to_lowercase()
}

/// The operation ids an outer `$batch` POST carried, from its body.
fn batch_ids(r: &Recorded) -> Vec<String> {
    let body = r.body.as_ref().expect("a JSON $batch body");
    body["requests"]
        .as_array()
        .expect("a requests array")
        .iter()
        .map(|sub| {
            let url = sub["url"].as_str().expect("a url");
            assert!(!url.starts_with("http"), "absolute url {url}");
            let path = url.split('?').next().unwrap_or(url);
            path.rsplit('/').next().unwrap_or_default().to_lowercase()
        })
        .collect()
}

/// How many sub-requests addressed each id.
fn sub_counts(graph: &FakeGraph) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in sub_requests(graph) {
        assert_eq!(r.method, "GET", "{r:?}");
        *counts.entry(addressed_id(&r)).or_default() += 1;
    }
    counts
}

fn plain_gets(graph: &FakeGraph) -> usize {
    graph.count(&Match::method("GET").in_batch(false))
}

fn errors(body: &Value) -> Vec<Value> {
    body["errors"].as_array().cloned().unwrap_or_default()
}

/// Inserts `n` operations with `statusDetails` "details <i>" and a status cycling through
/// Graph's members; returns their ids.
fn insert_many(graph: &FakeGraph, file: &str, n: usize) -> Vec<String> {
    let statuses = ["unknown", "inProgress", "success", "failed"];
    (0..n)
        .map(|i| {
            graph.insert_op(
                file,
                "upload",
                statuses[i % statuses.len()],
                Some(&format!("details {i}")),
            )
        })
        .collect()
}

fn contract_status(graph_status: &str) -> &'static str {
    match graph_status {
        "unknown" => "UNKNOWN",
        "inProgress" => "IN_PROGRESS",
        "success" => "SUCCESS",
        "failed" => "FAILED",
        other => panic!("unexpected status {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Graph mode
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn many_lookups_become_few_batches_fetching_each_key_once() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 45);
    let mut lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id statusDetails"))
        .collect();
    // Ten more aliases for keys already asked for, some with other fields.
    for i in 0..10 {
        lookups.push(lookup(
            format!("again{i}"),
            &ids[i * 4],
            "id operationStatus",
        ));
    }
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;

    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            data[format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("details {i}") }),
            "k{i}"
        );
    }
    for i in 0..10 {
        let stored = graph.entity(&file, &ids[i * 4]).expect("stored");
        let status = contract_status(stored["operationStatus"].as_str().expect("status"));
        assert_eq!(
            data[format!("again{i}")],
            json!({ "id": ids[i * 4], "operationStatus": status }),
            "again{i}"
        );
    }

    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 3, "three $batch calls");
    let mut sizes: Vec<usize> = posts.iter().map(|p| batch_ids(p).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 20, 20]);
    assert_eq!(plain_gets(graph), 0, "no plain GETs");
    assert_eq!(
        graph.requests().iter().filter(|r| !r.in_batch).count(),
        3,
        "nothing but the three $batch POSTs went out"
    );

    let counts = sub_counts(graph);
    assert_eq!(counts.len(), 45);
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "{id} fetched once");
    }
    let carried: Vec<String> = posts.iter().flat_map(batch_ids).collect();
    assert_eq!(carried.len(), 45, "no key in two batches");

    for post in &posts {
        assert_eq!(
            post.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let content_type = post.header("content-type").expect("a Content-Type");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body = post.body.as_ref().expect("body");
        let sub_ids: BTreeSet<String> = body["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| r["id"].as_str().expect("string id").to_lowercase())
            .collect();
        assert_eq!(
            sub_ids.len(),
            batch_ids(post).len(),
            "unique sub-request ids"
        );
    }
    // Every sub-request reads the whole entity, whatever each alias selected.
    for sub in sub_requests(graph) {
        let select = url::form_urlencoded::parse(sub.query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "$select");
        assert_eq!(select, None, "{:?}", sub.query);
    }
}

#[tokio::test]
async fn shuffled_sub_responses_still_map_to_their_keys() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    graph.set_shuffle_batch(true);
    let file = guid();
    for n in [2, 7, 20] {
        graph.clear_requests();
        let ids = insert_many(graph, &file, n);
        let lookups: Vec<Lookup> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| lookup(format!("k{i}"), id, "id operationStatus statusDetails"))
            .collect();
        let data = app
            .data(&lookups_query(&lookups), json!({ "f": file }))
            .await;
        for (i, id) in ids.iter().enumerate() {
            let stored = graph.entity(&file, id).expect("stored");
            assert_eq!(
                data[format!("k{i}")],
                json!({
                    "id": id,
                    "operationStatus": contract_status(stored["operationStatus"].as_str().expect("s")),
                    "statusDetails": stored["statusDetails"],
                }),
                "{n} keys, k{i}"
            );
        }
        assert_eq!(batch_posts(graph).len(), 1, "{n} keys in one batch");
    }
}

#[tokio::test]
async fn found_missing_and_failing_keys_in_one_batch() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    let file = guid();
    let found = graph.insert_op(&file, "upload", "success", Some("here"));
    let also_found = graph.insert_op(&file, "remove", "failed", None);
    let failing = graph.insert_op(&file, "upload", "inProgress", None);
    let missing = guid();
    graph.inject(
        Match::method("GET").path_contains(&failing).in_batch(true),
        Canned::graph_error(403, "Forbidden", "Not for you"),
        1,
    );
    let lookups = [
        lookup("found", &found, "id statusDetails"),
        lookup("missing", &missing, "id statusDetails"),
        lookup("failing", &failing, "id statusDetails"),
        lookup("alsoFound", &also_found, "id operationType"),
    ];
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let data = &body["data"];
    assert_eq!(
        data["found"],
        json!({ "id": found, "statusDetails": "here" })
    );
    assert_eq!(
        data["alsoFound"],
        json!({ "id": also_found, "operationType": "REMOVE" })
    );
    assert_eq!(data["missing"], Value::Null);
    assert_eq!(data["failing"], Value::Null);
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "only the failing key errs: {body}");
    assert_eq!(errors[0]["path"], json!(["failing"]));
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(errors[0]["extensions"]["status"], 403);
    assert_eq!(errors[0]["extensions"]["graphCode"], "Forbidden");
    assert_eq!(errors[0]["message"], "Not for you");
    assert_eq!(batch_posts(graph).len(), 1);
    assert_eq!(plain_gets(graph), 0);
    assert_eq!(sub_counts(graph).values().sum::<usize>(), 4);
}

#[tokio::test]
async fn a_throttled_sub_request_alone_is_retried_in_a_later_batch() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 5);
    let throttled = ids[2].clone();
    graph.inject(
        Match::method("GET")
            .path_contains(&throttled)
            .in_batch(true),
        Canned::throttled("0.3"),
        1,
    );
    let lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id statusDetails"))
        .collect();
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let elapsed = started.elapsed();
    assert!(body.get("errors").is_none(), "{body}");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            body["data"][format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("details {i}") })
        );
    }
    let counts = sub_counts(graph);
    for id in &ids {
        let expected = if *id == throttled { 2 } else { 1 };
        assert_eq!(counts.get(id), Some(&expected), "{id}");
    }
    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 2, "a second $batch for the throttled key");
    assert_eq!(batch_ids(&posts[0]).len(), 5);
    assert_eq!(batch_ids(&posts[1]), vec![throttled.clone()]);
    // The retry came after the first batch's sub-requests, in the second batch.
    let order: Vec<String> = graph
        .requests()
        .iter()
        .map(|r| {
            if is_batch_post(r) {
                "batch".to_owned()
            } else {
                addressed_id(r)
            }
        })
        .collect();
    assert_eq!(order.len(), 8, "{order:?}");
    assert_eq!(order[6], "batch");
    assert_eq!(order[7], throttled);
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert_eq!(plain_gets(graph), 0);
}

#[tokio::test]
async fn a_sub_request_throttled_beyond_the_budget_is_throttled_alone() {
    let mut config = config();
    config.graph_timeout = Duration::from_secs(1);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 3);
    graph.inject(
        Match::method("GET").path_contains(&ids[1]).in_batch(true),
        Canned::throttled("30"),
        10,
    );
    let lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id"))
        .collect();
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert!(started.elapsed() < Duration::from_millis(900));
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["path"], json!(["k1"]));
    assert_eq!(errors[0]["extensions"]["code"], "THROTTLED");
    assert_eq!(errors[0]["extensions"]["retryAfter"], 30);
    assert_eq!(body["data"]["k0"]["id"], json!(ids[0]));
    assert_eq!(body["data"]["k2"]["id"], json!(ids[2]));
    assert_eq!(batch_posts(graph).len(), 1, "no hopeless retry");
}

#[tokio::test]
async fn a_slow_batch_is_upstream_timeout_for_its_keys() {
    let mut config = config();
    config.graph_timeout = Duration::from_millis(500);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 2);
    graph.set_delay(
        Match::method("POST").path_contains("batch").in_batch(false),
        Duration::from_millis(2500),
    );
    let lookups = [lookup("a", &ids[0], "id"), lookup("b", &ids[1], "id")];
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    let errors = errors(&body);
    assert_eq!(errors.len(), 2, "{body}");
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "UPSTREAM_TIMEOUT", "{error}");
    }
    let paths: BTreeSet<String> = errors
        .iter()
        .map(|e| e["path"][0].as_str().expect("path").to_owned())
        .collect();
    assert_eq!(paths, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
}

#[tokio::test]
async fn a_batch_answered_400_fails_only_the_keys_it_carried() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 25);
    graph.inject(
        Match::method("POST").path_contains("batch").in_batch(false),
        Canned::graph_error(
            400,
            "BadRequest",
            "Invalid batch payload format. Request Id '1' is not unique.",
        ),
        1,
    );
    let lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id statusDetails"))
        .collect();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;

    // Batches go out in parallel: find the one that got the 400 (its sub-requests were
    // never unpacked).
    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 2, "no retry of a 400");
    let unpacked: BTreeSet<String> = sub_requests(graph).iter().map(addressed_id).collect();
    let (failed, served): (Vec<&Recorded>, Vec<&Recorded>) = posts
        .iter()
        .partition(|p| batch_ids(p).iter().all(|id| !unpacked.contains(id)));
    assert_eq!(failed.len(), 1, "exactly one batch got the 400");
    assert_eq!(served.len(), 1);
    let failed_ids: BTreeSet<String> = batch_ids(failed[0]).into_iter().collect();
    assert!(
        failed_ids.len() == 20 || failed_ids.len() == 5,
        "{}",
        failed_ids.len()
    );
    assert_eq!(unpacked.len(), 25 - failed_ids.len());

    let errors = errors(&body);
    assert_eq!(errors.len(), failed_ids.len(), "{body}");
    let mut failed_aliases = BTreeSet::new();
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
        assert_eq!(error["extensions"]["status"], 400);
        let alias = error["path"][0].as_str().expect("a path").to_owned();
        assert_eq!(error["path"].as_array().map(Vec::len), Some(1));
        failed_aliases.insert(alias);
    }
    for (i, id) in ids.iter().enumerate() {
        let alias = format!("k{i}");
        if failed_ids.contains(id) {
            assert!(
                failed_aliases.contains(&alias),
                "{alias} should have failed"
            );
            assert_eq!(body["data"][&alias], Value::Null);
        } else {
            assert!(!failed_aliases.contains(&alias), "{alias} should not fail");
            assert_eq!(
                body["data"][&alias],
                json!({ "id": id, "statusDetails": format!("details {i}") })
            );
        }
    }
}

#[tokio::test]
async fn concurrent_requests_of_different_callers_never_share_a_batch() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    // Keep both requests' batches in flight at the same time.
    graph.set_delay(
        Match::method("POST").path_contains("batch").in_batch(false),
        Duration::from_millis(100),
    );
    let other_token = "second-caller-token-0123456789";
    let file = guid();
    let ids_a = insert_many(graph, &file, 25);
    let ids_b = insert_many(graph, &file, 25);
    let (crid_a, crid_b) = (guid(), guid());
    let request = |token: &str, crid: &str, ids: &[String]| {
        let lookups: Vec<Lookup> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| lookup(format!("k{i}"), id, "id statusDetails"))
            .collect();
        Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("client-request-id", crid)
            .body(Body::from(
                json!({ "query": lookups_query(&lookups), "variables": { "f": file } }).to_string(),
            ))
            .expect("a request")
    };
    let (a, b) = tokio::join!(
        app.send(request(TOKEN, &crid_a, &ids_a)),
        app.send(request(other_token, &crid_b, &ids_b)),
    );
    for ((status, _, body), ids) in [(a, &ids_a), (b, &ids_b)] {
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("errors").is_none(), "{body}");
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(body["data"][format!("k{i}")]["id"], json!(id));
        }
    }

    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 4, "two batches per caller");
    let mut carried: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for post in &posts {
        let auth = post.header("authorization").expect("authorization");
        let (mine, crid): (&[String], &str) = if auth == format!("Bearer {TOKEN}") {
            (&ids_a, &crid_a)
        } else if auth == format!("Bearer {other_token}") {
            (&ids_b, &crid_b)
        } else {
            panic!("unexpected Authorization {auth}");
        };
        assert_eq!(post.header("client-request-id"), Some(crid));
        let body = post.body.as_ref().expect("body");
        for sub in body["requests"].as_array().expect("requests") {
            assert_eq!(sub["headers"]["client-request-id"], json!(crid));
        }
        for id in batch_ids(post) {
            assert!(
                mine.contains(&id),
                "a batch with {auth:.20}… carried another caller's key {id}"
            );
            carried.entry(auth.to_owned()).or_default().insert(id);
        }
    }
    let expect = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(carried[&format!("Bearer {TOKEN}")], expect(&ids_a));
    assert_eq!(carried[&format!("Bearer {other_token}")], expect(&ids_b));
}

#[tokio::test]
async fn a_single_lookup_is_a_plain_get() {
    let app = TestApp::new(Mode::Graph).await;
    let graph = app.graph();
    let file = guid();
    let id = graph.insert_op(&file, "upload", "success", Some("one"));
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "one");
    assert_eq!(batch_posts(graph).len(), 0);
    assert_eq!(plain_gets(graph), 1);

    // The same key under three aliases is still one plain GET.
    graph.clear_requests();
    let lookups = [
        lookup("a", &id, "id"),
        lookup("b", &id, "statusDetails"),
        lookup("c", &id, "operationStatus lastModifiedDateTime"),
    ];
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert_eq!(data["a"]["id"], json!(id));
    assert_eq!(data["b"]["statusDetails"], "one");
    assert_eq!(data["c"]["operationStatus"], "SUCCESS");
    assert_eq!(batch_posts(graph).len(), 0);
    assert_eq!(graph.requests().len(), 1);
    assert_eq!(plain_gets(graph), 1);
}

// ---------------------------------------------------------------------------------------
// Store mode
// ---------------------------------------------------------------------------------------

/// A store-mode app over a [`DelegatingBackend`] that records each lookup batch.
fn counting_app(config: gpo_gateway::Config) -> (TestApp, Arc<DelegatingBackend>) {
    let store = Arc::new(DelegatingBackend::over_store());
    let backend: Arc<dyn Backend> = store.clone();
    let built = gpo_gateway::app_with_backend(&config, backend);
    let app = TestApp {
        router: built.router,
        mode: Mode::Store,
        graph: None,
        store: None,
        token: None,
    };
    (app, store)
}

#[tokio::test]
async fn lookups_in_aliases_and_nested_lists_of_one_step_are_one_store_call() {
    let mut config = config();
    config.federation = true;
    let (app, store) = counting_app(config);
    let file = guid();
    store
        .store
        .insert_file(bare_file(&file))
        .expect("the file is stored");
    let mut ids = Vec::new();
    for i in 0..45 {
        ids.push(
            app.create(&file, "UPLOAD", "SUCCESS", Some(&format!("d{i}")))
                .await,
        );
    }
    store.reset();
    let representations = |ids: &[String]| -> Value {
        ids.iter()
            .map(|id| json!({ "__typename": "GroupPolicyOperation", "definitionFileId": file, "id": id }))
            .collect()
    };
    // Two entity lists (one over 30 items, one under) and two aliased lookups, with a repeat.
    let query = format!(
        "query($f: ID!, $long: [_Any!]!, $short: [_Any!]!) {{
           long: _entities(representations: $long) {{ ... on GroupPolicyOperation {{ id }} }}
           short: _entities(representations: $short) {{ ... on GroupPolicyOperation {{ statusDetails }} }}
           a: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ id }}
           b: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ operationStatus }}
         }}",
        ids[44], ids[0]
    );
    let data = app
        .data(
            &query,
            json!({ "f": file, "long": representations(&ids[..35]), "short": representations(&ids[35..44]) }),
        )
        .await;
    for (i, id) in ids[..35].iter().enumerate() {
        assert_eq!(data["long"][i]["id"], json!(id));
    }
    for (i, _) in ids[35..44].iter().enumerate() {
        assert_eq!(
            data["short"][i]["statusDetails"],
            json!(format!("d{}", 35 + i))
        );
    }
    assert_eq!(data["a"]["id"], json!(ids[44]));
    assert_eq!(data["b"]["operationStatus"], "SUCCESS");
    assert_eq!(
        store.lookup_batches(),
        [45],
        "one get_many with every distinct key"
    );
}

#[tokio::test]
async fn store_mode_loads_all_lookups_of_a_request_in_one_call() {
    let (app, store) = counting_app(config());
    let file = guid();
    store
        .store
        .insert_file(bare_file(&file))
        .expect("the file is stored");
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            app.create(
                &file,
                "UPLOAD",
                "IN_PROGRESS",
                Some(&format!("details {i}")),
            )
            .await,
        );
    }
    store.reset();
    let mut lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id statusDetails"))
        .collect();
    lookups.push(lookup("again", &ids[0], "operationType"));
    lookups.push(lookup("missing", &guid(), "id"));
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            data[format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("details {i}") })
        );
    }
    assert_eq!(data["again"], json!({ "operationType": "UPLOAD" }));
    assert_eq!(data["missing"], Value::Null);
    assert_eq!(
        store.lookup_batches(),
        [31],
        "one get_many with the 30 keys (and the missing one)"
    );

    // Exactly 30 aliased lookups: one call with 30 keys.
    store.reset();
    let lookups: Vec<Lookup> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| lookup(format!("k{i}"), id, "id"))
        .collect();
    app.data(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert_eq!(store.lookup_batches(), [30]);
}
