//! `--store-max-bytes`: what the store holds in bytes is bounded; a write that would go over
//! is refused with LIMIT_EXCEEDED, one that reaches the limit exactly is accepted, and bytes
//! given back (a deletion, finished work) can be used again.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::files::{contoso_input, get_file, upload, upload_file};
use crate::support::helpers::*;

/// What one operation counts besides its statusDetails (the README's figure).
const OPERATION_BYTES: usize = 128;

async fn app_with_max(max: usize) -> TestApp {
    let mut config = config();
    config.store.store_max_bytes = max;
    TestApp::with_config(Mode::Store, config).await
}

async fn create(app: &TestApp, file: &str, details: &str) -> Value {
    app.gql(
        CREATE,
        json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS", "statusDetails": details } }),
    )
    .await
}

fn assert_over_the_limit(body: &Value) {
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("--store-max-bytes"), "{message}");
}

#[tokio::test]
async fn a_create_that_reaches_the_limit_passes_and_one_byte_more_is_refused() {
    let app = app_with_max(OPERATION_BYTES + 10).await;
    let file = app.new_file().await;
    let over = create(&app, &file, "eleven byte").await;
    assert_over_the_limit(&over);
    let fits = create(&app, &file, "ten bytes!").await;
    assert!(fits.get("errors").is_none(), "{fits}");
}

#[tokio::test]
async fn an_update_that_grows_over_the_limit_is_refused_and_changes_nothing() {
    let app = app_with_max(OPERATION_BYTES + 10).await;
    let file = app.new_file().await;
    let created = create(&app, &file, "short").await;
    let id = created["data"]["createGroupPolicyOperation"]["id"].clone();
    let grown = app
        .gql(
            UPDATE,
            json!({ "f": file, "id": id, "input": { "statusDetails": "much longer than ten" } }),
        )
        .await;
    assert_over_the_limit(&grown);
    let read = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(read["groupPolicyOperation"]["statusDetails"], "short");
    let to_limit = app
        .gql(
            UPDATE,
            json!({ "f": file, "id": id, "input": { "statusDetails": "ten bytes!" } }),
        )
        .await;
    assert!(to_limit.get("errors").is_none(), "{to_limit}");
}

fn decoded_len(input: &Value) -> usize {
    let len = |v: &Value| {
        STANDARD
            .decode(v.as_str().expect("base64"))
            .expect("base64")
            .len()
    };
    len(&input["content"])
        + input["groupPolicyUploadedLanguageFiles"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| len(&f["content"]))
            .sum::<usize>()
}

async fn wait_until_gone_from_work(app: &TestApp, file: &str) {
    let started = Instant::now();
    loop {
        let read = app.data(&get_file(), json!({ "id": file })).await;
        if read["groupPolicyUploadedDefinitionFile"]["status"] == "AVAILABLE" {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{read}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_upload_counts_its_contents_and_a_deleted_file_gives_them_back() {
    let input = contoso_input();
    // The upload's contents, its UPLOAD operation, and later its success details.
    let needed = decoded_len(&input) + OPERATION_BYTES;
    let tight = app_with_max(needed - 1).await;
    let refused = tight.gql(&upload(), json!({ "input": input })).await;
    assert_over_the_limit(&refused);

    let app = app_with_max(needed + 1024).await;
    let file = upload_file(&app, input.clone()).await;
    wait_until_gone_from_work(&app, &file).await;
    let second = app.gql(&upload(), json!({ "input": input })).await;
    assert_over_the_limit(&second);
    let deleted = app
        .gql(
            "mutation D($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }",
            json!({ "id": file }),
        )
        .await;
    assert!(deleted.get("errors").is_none(), "{deleted}");
    let again = app.gql(&upload(), json!({ "input": input })).await;
    assert!(again.get("errors").is_none(), "{again}");
}
