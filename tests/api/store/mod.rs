//! Store mode: demo data, seeds, the playground's examples, concurrency and capacity.

mod bytes;
mod export;

use std::collections::HashSet;
use std::sync::Arc;

use gpo_gateway::Config;
use serde_json::{Value, json};

use crate::support::helpers::*;

/// Every example operation in playground/examples (name, query, variables), in file order.
pub(crate) fn examples() -> Vec<(String, String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playground/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("playground/examples exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let query = std::fs::read_to_string(&path).expect("example");
            let vars = std::fs::read_to_string(path.with_extension("json"))
                .map(|v| serde_json::from_str(&v).expect("variables are JSON"))
                .unwrap_or(Value::Null);
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, query, vars)
        })
        .collect()
}

fn is_subscription(query: &str) -> bool {
    query.trim_start().starts_with("subscription")
        || query
            .lines()
            .any(|l| l.trim_start().starts_with("subscription"))
}

#[tokio::test]
async fn every_playground_example_runs_against_the_demo_data() {
    let app = TestApp::demo().await;
    let examples = examples();
    assert!(examples.len() >= 6, "examples cover every operation");
    for (name, query, vars) in examples {
        if is_subscription(&query) {
            continue;
        }
        let body = app.gql(&query, vars).await;
        assert!(body.get("errors").is_none(), "{name}: {body}");
        assert!(body["data"].is_object(), "{name}: {body}");
    }
}

#[tokio::test]
async fn every_playground_example_runs_over_a_real_socket() {
    let app = TestApp::demo().await;
    let addr = serve_tcp(app.router.clone()).await;
    let client = reqwest::Client::new();
    for (name, query, vars) in examples() {
        if is_subscription(&query) {
            continue;
        }
        let response = client
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": query, "variables": vars }))
            .send()
            .await
            .expect("the gateway answers over TCP");
        assert_eq!(response.status(), 200, "{name}");
        let body: Value = response.json().await.expect("json");
        assert!(body.get("errors").is_none(), "{name}: {body}");
    }
    // And the playground page itself.
    let page = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn the_first_example_lists_demo_operations() {
    let app = TestApp::demo().await;
    let (name, query, vars) = examples().into_iter().next().expect("an example");
    let body = app.gql(&query, vars).await;
    let text = body.to_string();
    assert!(text.contains(DEMO_OP), "{name} shows demo data: {body}");
}

#[tokio::test]
async fn the_demo_data_is_there_by_default_and_not_with_no_seed() {
    let demo = TestApp::demo().await;
    let (ids, _) = list_all(&demo, DEMO_FILE, 100).await;
    assert_eq!(ids.len(), 3);
    let got = demo
        .data(GET, json!({ "f": DEMO_FILE, "id": DEMO_OP }))
        .await;
    assert_eq!(
        got["groupPolicyOperation"]["lastModifiedDateTime"],
        "2025-09-07T08:32:57.5081686Z"
    );
    let empty = TestApp::store().await;
    let body = app_list_code(&empty, DEMO_FILE).await;
    assert_eq!(body, "NOT_FOUND", "the demo file is not there");
}

#[tokio::test]
async fn a_seed_file_replaces_the_demo_data() {
    let dir = std::env::temp_dir().join(format!("gpo-seed-{}", guid()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.json");
    let (file, id) = (guid(), guid());
    std::fs::write(
        &path,
        json!({ "definitionFiles": [{ "id": file, "operations": [{
            "id": id, "operationType": "remove", "operationStatus": "failed",
            "statusDetails": "Zugriff verweigert", "lastModifiedDateTime": "2024-01-02T03:04:05.6+01:00"
        }]}]})
        .to_string(),
    )
    .expect("write seed");
    let mut config = Config::defaults();
    config.store.seed = Some(path.clone());
    let app = TestApp::with_config(Mode::Store, config).await;
    let got = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(got["groupPolicyOperation"]["operationType"], "REMOVE");
    assert_eq!(
        got["groupPolicyOperation"]["lastModifiedDateTime"],
        "2024-01-02T03:04:05.6+01:00"
    );
    assert_eq!(
        app_list_code(&app, DEMO_FILE).await,
        "NOT_FOUND",
        "the demo data is not loaded with --seed"
    );

    std::fs::write(&path, r#"{"definitionFiles":[{"id":"x","operations":[]}]}"#).expect("write");
    let mut config = Config::defaults();
    config.store.seed = Some(path);
    let err = gpo_gateway::app(&config)
        .err()
        .expect("a bad seed is refused");
    assert!(err.contains("GUID"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_creates_are_all_readable_with_distinct_ids() {
    let app = Arc::new(TestApp::store().await);
    let file = app.new_file().await;
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let app = Arc::clone(&app);
            let file = file.clone();
            tokio::spawn(async move {
                app.create(&file, "UPLOAD", "IN_PROGRESS", Some(&format!("n{i}")))
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("create task"));
    }
    assert_eq!(ids.len(), 1000, "distinct ids");
    let (listed, pages) = list_all(&app, &file, 100).await;
    assert_eq!(pages, 10);
    assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), ids);
    for id in ids.iter().take(50) {
        let got = app.data(GET, json!({ "f": file, "id": id })).await;
        assert_eq!(got["groupPolicyOperation"]["id"], json!(id));
    }
}

#[tokio::test]
async fn a_full_store_refuses_creates_with_limit_exceeded() {
    let mut config = config();
    config.store.store_capacity = 2;
    let app = TestApp::with_config(Mode::Store, config).await;
    let file = app.new_file().await;
    app.create(&file, "UPLOAD", "SUCCESS", None).await;
    let id = app.create(&file, "UPLOAD", "SUCCESS", None).await;
    let body = app
        .gql(CREATE, json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS" } }))
        .await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    app.data(DELETE, json!({ "f": file, "id": id })).await;
    app.create(&file, "UPLOAD", "SUCCESS", None).await;
}

/// The error code of listing `file`'s operations.
async fn app_list_code(app: &TestApp, file: &str) -> String {
    let body = app.gql(LIST, json!({ "f": file })).await;
    code(&body).to_owned()
}

/// The example named `stem` (file name without extension).
fn example(stem: &str) -> (String, Value) {
    let (_, query, vars) = examples()
        .into_iter()
        .find(|(name, _, _)| name == &format!("{stem}.graphql"))
        .unwrap_or_else(|| panic!("no example {stem}"));
    (query, vars)
}

/// Subscribes to `query` over WebSocket and returns every `next` payload until `complete`.
async fn stream_to_completion(app: &TestApp, query: &str, vars: Value) -> Vec<Value> {
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = crate::support::ws::connect(addr, "graphql-transport-ws").await;
    crate::support::ws::init(&mut socket, json!({})).await;
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": vars } });
    crate::support::ws::send(&mut socket, subscribe).await;
    let mut payloads = Vec::new();
    loop {
        let message = crate::support::ws::next(&mut socket).await;
        match message["type"].as_str() {
            Some("next") => payloads.push(message["payload"].clone()),
            Some("complete") => return payloads,
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
}

#[tokio::test]
async fn the_upload_example_is_watched_to_available_by_the_subscription_example() {
    let app = TestApp::demo().await;
    let (upload, vars) = example("09-upload-definition-file");
    let data = app.data(&upload, vars).await;
    let file = &data["uploadGroupPolicyDefinitionFile"];
    assert_eq!(file["status"], "UPLOAD_IN_PROGRESS");
    let (watch, mut vars) = example("10-definition-file-changed");
    vars["id"] = file["id"].clone();
    let payloads = stream_to_completion(&app, &watch, vars).await;
    let last = &payloads.last().expect("at least one state")["data"]["groupPolicyUploadedDefinitionFileChanged"];
    assert_eq!(last["status"], "AVAILABLE", "{payloads:?}");
    assert_eq!(last["displayName"], "Fabrikam VPN");
    assert_eq!(
        last["groupPolicyOperations"]["nodes"][0]["operationStatus"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn the_subscription_example_on_a_settled_demo_file_emits_once_and_completes() {
    let app = TestApp::demo().await;
    let (watch, vars) = example("10-definition-file-changed");
    let payloads = stream_to_completion(&app, &watch, vars).await;
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    assert_eq!(
        payloads[0]["data"]["groupPolicyUploadedDefinitionFileChanged"]["status"],
        "ASSIGNED"
    );
}

#[tokio::test]
async fn the_remove_example_ends_with_the_file_gone() {
    let app = TestApp::demo().await;
    let (remove, vars) = example("11-remove-definition-file");
    let data = app.data(&remove, vars.clone()).await;
    assert_eq!(
        data["removeGroupPolicyUploadedDefinitionFile"]["status"],
        "REMOVAL_IN_PROGRESS"
    );
    let (list, list_vars) = example("08-list-definition-files");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let files = app.data(&list, list_vars.clone()).await;
        let names: Vec<Value> = files["groupPolicyUploadedDefinitionFiles"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["fileName"].clone())
            .collect();
        if !names.contains(&json!("northwind-updates.admx")) {
            assert_eq!(names.len(), 2, "{names:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the file was never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
