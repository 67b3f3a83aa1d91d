//! `groupPolicyUploadedDefinitionFileChanged` on both backends: the file at once, each change,
//! and the end once the work is settled (or NOT_FOUND for a missing file).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::files::*;
use crate::support::helpers::*;
use crate::support::ws;

on_both_backends!(the_file_subscription_streams_until_the_work_is_settled);

const FILE_CHANGED: &str = "subscription W($id: ID!) {
  groupPolicyUploadedDefinitionFileChanged(id: $id) {
    id status groupPolicyOperations { nodes { operationType operationStatus statusDetails } }
  }
}";

// Long on purpose: one subscription followed from its first event to its completion.
async fn the_file_subscription_streams_until_the_work_is_settled(mode: Mode) {
    let mut config = config();
    config.graph.poll_interval = std::time::Duration::from_millis(50);
    let app = TestApp::with_config(mode, config).await;
    let id = match mode {
        Mode::Store | Mode::Durable => upload_file(&app, contoso_input()).await,
        Mode::Graph => {
            let id = app.new_file().await;
            app.graph()
                .update_file(&id, json!({ "status": "uploadInProgress" }));
            let op = app.graph().insert_op(&id, "upload", "inProgress", None);
            let graph = app.graph().clone();
            let (file, op) = (id.clone(), op);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                graph.update(
                    &file,
                    &op,
                    json!({ "operationStatus": "success", "statusDetails": "done" }),
                );
                graph.update_file(&file, json!({ "status": "available" }));
            });
            id
        }
    };
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ws::connect(addr, "graphql-transport-ws").await;
    let payload = match &app.token {
        Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    ws::init(&mut socket, payload).await;
    ws::send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": FILE_CHANGED, "variables": { "id": id } } })).await;
    let mut last = Value::Null;
    loop {
        let message = ws::next(&mut socket).await;
        match message["type"].as_str() {
            Some("next") => {
                last =
                    message["payload"]["data"]["groupPolicyUploadedDefinitionFileChanged"].clone()
            }
            Some("complete") => break,
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert_eq!(last["status"], "AVAILABLE", "{last}");
    let ops = &last["groupPolicyOperations"]["nodes"];
    assert_eq!(ops[0]["operationType"], "UPLOAD");
    assert_eq!(ops[0]["operationStatus"], "SUCCESS");
    if let Some(graph) = &app.graph {
        assert!(
            graph.requests().iter().all(|r| r.method != "GET"
                || r.query.as_deref() == Some("%24expand=groupPolicyOperations")),
            "each poll read the file with its operations in one call"
        );
    }
    let missing = json!({ "id": "2", "type": "subscribe", "payload": { "query": FILE_CHANGED, "variables": { "id": guid() } } });
    ws::send(&mut socket, missing).await;
    let message = ws::next(&mut socket).await;
    assert_eq!(message["type"], "next");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{message}"
    );
    ws::assert_complete(&mut socket, "2").await;
}
