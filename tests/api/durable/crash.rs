//! `kill -9` in the middle of concurrent creates and uploads against the real binary with
//! `--store-path`: after a restart every write that was answered with success is there as
//! answered, nothing is half-written, and the interrupted uploads are failed, not left
//! IN_PROGRESS.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::files::{contoso_input, get_file, upload};
use crate::support::helpers::{CREATE, DEMO_FILE, GET, temp_store_path};
use crate::support::process::start;

const WHOLE_LIST: &str = "query L($f: ID!, $after: String) {
  groupPolicyOperations(definitionFileId: $f, first: 100, after: $after) {
    nodes { id definitionFileId operationType operationStatus statusDetails lastModifiedDateTime }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn post(
    client: &reqwest::Client,
    addr: &str,
    query: &str,
    variables: Value,
) -> Option<Value> {
    let response = client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body.get("errors").is_none().then(|| body["data"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_kill_9_and_interrupted_uploads_are_failed() {
    let path = temp_store_path();
    let path_arg = path.to_str().expect("a UTF-8 temp path").to_owned();
    // The demo seed gives a file to create on; processing never ends before the kill.
    let args = ["--store-path", &path_arg, "--store-processing-delay", "10m"];
    let (mut child, addr) = start(&args);
    let client = reqwest::Client::new();
    let created: Arc<Mutex<Vec<Value>>> = Arc::default();
    let uploaded: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    for worker in 0..8 {
        let (client, addr, created) = (client.clone(), addr.clone(), Arc::clone(&created));
        load.push(tokio::spawn(async move {
            for n in 0.. {
                let input = json!({ "operationType": "UPLOAD", "operationStatus": "SUCCESS", "statusDetails": format!("worker {worker} write {n}") });
                let Some(data) = post(&client, &addr, CREATE, json!({ "f": DEMO_FILE, "input": input })).await else {
                    break;
                };
                created.lock().expect("lock").push(data["createGroupPolicyOperation"].clone());
            }
        }));
    }
    for _ in 0..3 {
        let (client, addr, uploaded) = (client.clone(), addr.clone(), Arc::clone(&uploaded));
        load.push(tokio::spawn(async move {
            loop {
                let Some(data) = post(
                    &client,
                    &addr,
                    &upload(),
                    json!({ "input": contoso_input() }),
                )
                .await
                else {
                    break;
                };
                let id = data["uploadGroupPolicyDefinitionFile"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned();
                uploaded.lock().expect("lock").push(id);
            }
        }));
    }
    // Kill in the middle of the load: once enough writes of each kind were acknowledged.
    let started = Instant::now();
    while created.lock().expect("lock").len() < 200 || uploaded.lock().expect("lock").len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load did not get going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    child.wait().expect("the gateway exits");
    for task in load {
        task.await.expect("a load task");
    }
    let created = created.lock().expect("lock").clone();
    let uploaded = uploaded.lock().expect("lock").clone();

    let (mut child, addr) = start(&args);
    for op in &created {
        let read = post(
            &client,
            &addr,
            GET,
            json!({ "f": DEMO_FILE, "id": op["id"] }),
        )
        .await
        .expect("a read");
        assert_eq!(
            &read["groupPolicyOperation"], op,
            "an acknowledged create changed or vanished"
        );
    }
    for id in &uploaded {
        let read = post(&client, &addr, &get_file(), json!({ "id": id }))
            .await
            .expect("a read");
        let file = &read["groupPolicyUploadedDefinitionFile"];
        assert_eq!(file["status"], "UPLOAD_FAILED", "{file}");
        let op = &file["groupPolicyOperations"]["nodes"][0];
        assert_eq!(op["operationStatus"], "FAILED", "{file}");
        let details = op["statusDetails"].as_str().expect("details");
        assert!(details.contains("stopped before processing"), "{details}");
    }
    // Nothing half-written: the file's list pages through whole operations, the
    // acknowledged ones among them (a create killed before its answer may be there too).
    let mut listed = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = post(
            &client,
            &addr,
            WHOLE_LIST,
            json!({ "f": DEMO_FILE, "after": after }),
        )
        .await
        .expect("a page");
        let connection = &page["groupPolicyOperations"];
        listed.extend(
            connection["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .cloned(),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    for op in &listed {
        assert!(
            op.as_object()
                .expect("an object")
                .values()
                .all(|v| !v.is_null()),
            "{op}"
        );
    }
    for op in &created {
        assert!(listed.contains(op), "{op} is not listed");
    }
    child.kill().expect("stop");
    let _ = child.wait();
    let _ = std::fs::remove_file(&path);
}
