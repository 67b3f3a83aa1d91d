//! The durable store (`--store-path`): what a client was told is stored survives a restart and
//! a `kill -9`, interrupted work is settled at start-up, the seed applies only to a new
//! database, and databases written by older schema versions open with their data.

mod crash;
mod lock;
mod schema;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::files::{contoso_input, get_file, sample, upload_file};
use crate::support::helpers::{CREATE, DEMO_FILE, GET, Mode, TestApp, config, temp_store_path};

fn durable_config(path: &Path) -> gpo_gateway::Config {
    let mut config = config();
    config.store.store_path = Some(path.to_owned());
    config
}

/// Polls `file` until its status is `status` (at most 20 s); returns the file.
async fn wait_for_status(app: &TestApp, file: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let read = app.data(&get_file(), json!({ "id": file })).await;
        let file = read["groupPolicyUploadedDefinitionFile"].clone();
        if file["status"] == status {
            return file;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not {status} in 20 s: {file}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn files_language_files_contents_and_operations_survive_a_restart() {
    let path = temp_store_path();
    let (file, op) = {
        let app = TestApp::with_config(Mode::Store, durable_config(&path)).await;
        let file = upload_file(&app, contoso_input()).await;
        wait_for_status(&app, &file, "AVAILABLE").await;
        let created = app
            .data(
                CREATE,
                json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS", "statusDetails": "kept" } }),
            )
            .await;
        (file, created["createGroupPolicyOperation"].clone())
    };
    let app = TestApp::with_config(Mode::Store, durable_config(&path)).await;
    let read = app.data(GET, json!({ "f": file, "id": op["id"] })).await;
    assert_eq!(read["groupPolicyOperation"], op);
    let reread = wait_for_status(&app, &file, "AVAILABLE").await;
    assert_eq!(reread["displayName"], "Contoso Browser");
    assert_eq!(
        reread["groupPolicyUploadedLanguageFiles"][0]["languageCode"],
        "en-US"
    );
    // Adding a language reads every ADML and the ADMX again: their bytes came back too.
    let added = app
        .gql(
            "mutation Add($id: ID!, $files: [GroupPolicyUploadedLanguageFileInput!]!) { \
             addGroupPolicyLanguageFiles(definitionFileId: $id, languageFiles: $files) { id } }",
            json!({ "id": file, "files": [{ "fileName": "contoso-browser.adml", "languageCode": "de-DE", "content": sample("de-DE/contoso-browser.adml") }] }),
        )
        .await;
    assert!(added.get("errors").is_none(), "{added}");
    let settled = wait_for_status(&app, &file, "AVAILABLE").await;
    let last = settled["groupPolicyOperations"]["nodes"]
        .as_array()
        .and_then(|ops| ops.last().cloned())
        .expect("operations");
    assert_eq!(last["operationType"], "ADD_LANGUAGE_FILES");
    assert_eq!(last["operationStatus"], "SUCCESS", "{last}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn the_seed_applies_only_to_a_new_database() {
    let path = temp_store_path();
    let mut seeded = durable_config(&path);
    seeded.store.no_seed = false;
    {
        let app = TestApp::with_config(Mode::Store, seeded.clone()).await;
        let deleted = app
            .gql(
                "mutation D($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }",
                json!({ "id": DEMO_FILE }),
            )
            .await;
        assert!(deleted.get("errors").is_none(), "{deleted}");
    }
    let app = TestApp::with_config(Mode::Store, seeded).await;
    let read = app.data(&get_file(), json!({ "id": DEMO_FILE })).await;
    assert_eq!(read["groupPolicyUploadedDefinitionFile"], Value::Null);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn an_exported_store_loads_back_as_a_seed_with_its_files_bytes_and_operations() {
    let app = TestApp::store().await;
    let file = upload_file(&app, contoso_input()).await;
    let before = wait_for_status(&app, &file, "AVAILABLE").await;
    let exported = app
        .store
        .as_ref()
        .expect("a store")
        .export_seed()
        .expect("exported");
    let seed_path = temp_store_path().with_extension("json");
    std::fs::write(&seed_path, &exported).expect("written");
    let mut config = config();
    config.store.no_seed = false;
    config.store.seed = Some(seed_path.clone());
    let copy = TestApp::with_config(Mode::Store, config).await;
    let after = copy.data(&get_file(), json!({ "id": file })).await;
    assert_eq!(after["groupPolicyUploadedDefinitionFile"], before);
    let _ = std::fs::remove_file(&seed_path);
}
