//! Store mode's simulation of Intune: uploads and actions are read with a real XML parser after
//! the processing delay and end the way Intune ends them, with the reason in the operation's
//! `statusDetails`; Intune's limits are refused at once with clear codes.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::files::{
    FILE_FIELDS, contoso_input, get_file, op_types, sample, upload, upload_file,
};
use crate::support::helpers::*;

/// Reads the file until no work on it is in progress (bounded wait).
pub(crate) async fn settled(app: &TestApp, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = app.data(&get_file(), json!({ "id": id })).await;
        let file = data["groupPolicyUploadedDefinitionFile"].clone();
        let busy = file["status"]
            .as_str()
            .is_some_and(|s| s.ends_with("_IN_PROGRESS"));
        if !busy {
            return file;
        }
        assert!(Instant::now() < deadline, "the work never ended: {file}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Uploads `input`; returns the file once its processing ended.
pub(crate) async fn upload_settled(app: &TestApp, input: Value) -> Value {
    let id = upload_file(app, input).await;
    settled(app, &id).await
}

pub(crate) fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// The one operation of a file (after an upload).
fn only_op(file: &Value) -> &Value {
    let ops = file["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("ops");
    assert_eq!(ops.len(), 1, "{file}");
    &ops[0]
}

#[tokio::test]
async fn a_valid_upload_ends_available_with_the_fields_read_from_the_xml() {
    let app = TestApp::store().await;
    let file = upload_settled(&app, contoso_input()).await;
    assert_eq!(file["status"], "AVAILABLE", "{file}");
    assert_eq!(file["displayName"], "Contoso Browser");
    assert_eq!(
        file["description"],
        "Settings for the Contoso Browser: home page, pop-ups and sync."
    );
    assert_eq!(file["targetPrefix"], "contosobrowser");
    assert_eq!(file["targetNamespace"], "Contoso.Policies.Browser");
    assert_eq!(file["revision"], "1.2");
    assert_eq!(file["languageCodes"], json!(["en-US"]));
    let op = only_op(&file);
    assert_eq!(op["operationType"], "UPLOAD");
    assert_eq!(op["operationStatus"], "SUCCESS");
    let details = op["statusDetails"].as_str().expect("details");
    assert!(details.contains("3 policies in 2 categories"), "{details}");
}

/// Uploads contoso with one part replaced; returns the failed operation's details.
async fn failed_upload(app: &TestApp, change: impl FnOnce(&mut Value)) -> String {
    let mut input = contoso_input();
    change(&mut input);
    let file = upload_settled(app, input).await;
    assert_eq!(file["status"], "UPLOAD_FAILED", "{file}");
    let op = only_op(&file);
    assert_eq!(op["operationStatus"], "FAILED");
    op["statusDetails"].as_str().expect("a reason").to_owned()
}

#[tokio::test]
async fn broken_uploads_fail_with_the_reason_intune_gives() {
    let app = TestApp::store().await;
    let missing_string = failed_upload(&app, |input| {
        input["groupPolicyUploadedLanguageFiles"][0]["content"] =
            json!(sample("en-US/northwind-updates.adml"));
    })
    .await;
    assert!(
        missing_string.contains("localizedStringValue cannot be null"),
        "{missing_string}"
    );
    let no_default =
        failed_upload(&app, |input| input["defaultLanguageCode"] = json!("fr-FR")).await;
    assert!(
        no_default.contains("default language fr-FR"),
        "{no_default}"
    );
    let malformed = failed_upload(&app, |input| {
        input["content"] = json!(b64("<policyDefinitions revision=\"1\"><policies>"))
    })
    .await;
    assert!(malformed.contains("not well-formed XML"), "{malformed}");
    let foreign = failed_upload(&app, |input| {
        input["content"] = json!(b64("<html><body/></html>"))
    })
    .await;
    assert!(
        foreign.contains("not an ADMX file") && foreign.contains("<html>"),
        "{foreign}"
    );
}

#[tokio::test]
async fn intune_limits_are_refused_at_once() {
    let app = TestApp::store().await;
    // One byte over 1 MB.
    let mut input = contoso_input();
    input["content"] = json!(STANDARD.encode(vec![b' '; 1024 * 1024 + 1]));
    let body = app.gql(&upload(), json!({ "input": input })).await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("1 MB")
    );
    // Two ADMLs for one language.
    let mut input = contoso_input();
    let adml = input["groupPolicyUploadedLanguageFiles"][0].clone();
    input["groupPolicyUploadedLanguageFiles"] = json!([adml.clone(), adml]);
    let body = app.gql(&upload(), json!({ "input": input })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // Ten files fit; the eleventh is refused.
    for _ in 0..10 {
        app.data(&upload(), json!({ "input": contoso_input() }))
            .await;
    }
    let body = app
        .gql(&upload(), json!({ "input": contoso_input() }))
        .await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("10")
    );
}

fn action(field: &str, args: &str, types: &str) -> String {
    format!(
        "mutation A($id: ID!{types}) {{ {field}(definitionFileId: $id{args}) {{ {FILE_FIELDS} }} }}"
    )
}

fn adml_input(language: &str, path: &str) -> Value {
    json!([{ "fileName": "contoso-browser.adml", "languageCode": language, "content": sample(path) }])
}

/// The last operation of a settled file: its type, status and details.
fn last_op(file: &Value) -> (String, String, String) {
    let ops = file["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("ops");
    let op = ops.last().expect("an operation");
    (
        op["operationType"].as_str().expect("type").to_owned(),
        op["operationStatus"].as_str().expect("status").to_owned(),
        op["statusDetails"].as_str().unwrap_or_default().to_owned(),
    )
}

// Long on purpose: the actions run in sequence on one file, as Intune allows them, each
// checked where it leaves the file before the next one starts.
#[tokio::test]
async fn every_action_records_its_operation_type_and_outcome() {
    let app = TestApp::store().await;
    let file = upload_settled(&app, contoso_input()).await;
    let id = file["id"].as_str().expect("id").to_owned();
    let files_arg = (
        ", languageFiles: $files",
        ", $files: [GroupPolicyUploadedLanguageFileInput!]!",
    );

    let add = action("addGroupPolicyLanguageFiles", files_arg.0, files_arg.1);
    app.data(
        &add,
        json!({ "id": id, "files": adml_input("de-DE", "de-DE/contoso-browser.adml") }),
    )
    .await;
    let file = settled(&app, &id).await;
    assert_eq!(last_op(&file).0, "ADD_LANGUAGE_FILES");
    assert_eq!(last_op(&file).1, "SUCCESS", "{file}");
    assert_eq!(file["languageCodes"], json!(["de-DE", "en-US"]));
    let again = app
        .gql(
            &add,
            json!({ "id": id, "files": adml_input("de-DE", "de-DE/contoso-browser.adml") }),
        )
        .await;
    assert_eq!(code(&again), "CONFLICT", "one ADML per language: {again}");

    let update = action("updateGroupPolicyLanguageFiles", files_arg.0, files_arg.1);
    app.data(
        &update,
        json!({ "id": id, "files": adml_input("de-DE", "en-US/northwind-updates.adml") }),
    )
    .await;
    let file = settled(&app, &id).await;
    let (kind, status, details) = last_op(&file);
    assert_eq!(
        (kind.as_str(), status.as_str()),
        ("UPDATE_LANGUAGE_FILES", "FAILED")
    );
    assert!(
        details.contains("localizedStringValue cannot be null"),
        "{details}"
    );
    assert_eq!(
        file["status"], "AVAILABLE",
        "a failed action leaves the file as it was"
    );

    let remove_refs = action(
        "removeGroupPolicyLanguageFiles",
        files_arg.0,
        ", $files: [GroupPolicyLanguageFileRefInput!]!",
    );
    let refs =
        |language: &str| json!([{ "fileName": "contoso-browser.adml", "languageCode": language }]);
    let default = app
        .gql(&remove_refs, json!({ "id": id, "files": refs("en-US") }))
        .await;
    assert_eq!(
        code(&default),
        "CONFLICT",
        "the default language stays: {default}"
    );
    app.data(&remove_refs, json!({ "id": id, "files": refs("de-DE") }))
        .await;
    let file = settled(&app, &id).await;
    assert_eq!(last_op(&file).0, "REMOVE_LANGUAGE_FILES");
    assert_eq!(last_op(&file).1, "SUCCESS");
    assert_eq!(file["languageCodes"], json!(["en-US"]));

    let new_version = action(
        "uploadNewGroupPolicyDefinitionFileVersion",
        ", content: $content, languageFiles: []",
        ", $content: Base64!",
    );
    app.data(
        &new_version,
        json!({ "id": id, "content": sample("fabrikam-vpn.admx") }),
    )
    .await;
    let file = settled(&app, &id).await;
    let (kind, status, details) = last_op(&file);
    assert_eq!(
        (kind.as_str(), status.as_str()),
        ("UPLOAD_NEW_VERSION", "FAILED")
    );
    assert!(
        details.contains("keep the namespace Contoso.Policies.Browser"),
        "{details}"
    );
    app.data(
        &new_version,
        json!({ "id": id, "content": sample("contoso-browser.admx") }),
    )
    .await;
    let file = settled(&app, &id).await;
    assert_eq!(last_op(&file).1, "SUCCESS");

    let remove = format!(
        "mutation R($id: ID!) {{ removeGroupPolicyUploadedDefinitionFile(id: $id) {{ {FILE_FIELDS} }} }}"
    );
    let removing = app.data(&remove, json!({ "id": id })).await;
    let removing = &removing["removeGroupPolicyUploadedDefinitionFile"];
    assert_eq!(removing["status"], "REMOVAL_IN_PROGRESS");
    assert_eq!(
        op_types(removing).last().map(String::as_str),
        Some("REMOVE")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = app.data(&get_file(), json!({ "id": id })).await;
        if data["groupPolicyUploadedDefinitionFile"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "the file was never removed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let body = app.gql(LIST, json!({ "f": id })).await;
    assert_eq!(code(&body), "NOT_FOUND", "its operations went with it");
}

#[tokio::test]
async fn work_on_a_busy_file_is_a_conflict() {
    let mut config = config();
    config.store.store_processing_delay = Duration::from_secs(600);
    let app = TestApp::with_config(Mode::Store, config).await;
    let data = app
        .data(&upload(), json!({ "input": contoso_input() }))
        .await;
    let id = data["uploadGroupPolicyDefinitionFile"]["id"].clone();
    let remove = "mutation R($id: ID!) { removeGroupPolicyUploadedDefinitionFile(id: $id) { id } }";
    let body = app.gql(remove, json!({ "id": id })).await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn the_demo_holds_files_in_different_states() {
    let app = TestApp::demo().await;
    let list = "{ groupPolicyUploadedDefinitionFiles { nodes { fileName status displayName groupPolicyOperations { nodes { operationStatus statusDetails } } } } }";
    let data = app.data(list, json!({})).await;
    let nodes = data["groupPolicyUploadedDefinitionFiles"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    let states: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| {
            (
                n["fileName"].as_str().expect("name"),
                n["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("contoso-browser.admx", "AVAILABLE"),
            ("fabrikam-vpn.admx", "ASSIGNED"),
            ("northwind-updates.admx", "UPLOAD_FAILED"),
        ]
    );
    assert_eq!(
        nodes[0]["displayName"], "Contoso Browser",
        "read from the sample"
    );
    let failed = &nodes[2]["groupPolicyOperations"]["nodes"][0];
    assert_eq!(failed["operationStatus"], "FAILED");
}
