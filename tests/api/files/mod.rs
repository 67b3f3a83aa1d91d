//! The definition-file API of the contract, run once per backend: reads, the file list, the
//! upload and every action (each records its own operation), deletion, the operation's
//! `definitionFile`, NOT_FOUND for a missing file's operations and the `Base64` scalar.

mod parse_limits;
mod simulation;
mod subscriptions;
mod upload_limits;

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::files::*;
use crate::support::helpers::*;

on_both_backends!(
    a_file_reads_with_its_fields_and_a_missing_one_as_null,
    the_file_list_pages_through_every_file_once,
    an_upload_returns_the_file_in_progress_with_an_upload_operation,
    each_action_starts_its_own_operation_and_returns_the_file_after_it,
    delete_removes_the_record_and_a_second_delete_is_not_found,
    operations_of_a_missing_file_are_not_found,
    an_operation_resolves_its_definition_file,
    invalid_base64_is_bad_user_input,
);

/// A config whose simulated processing never finishes during a test, so in-progress states
/// can be observed (Graph mode ignores it: the fake Graph only moves when told).
fn slow() -> gpo_gateway::Config {
    let mut config = config();
    config.store.store_processing_delay = Duration::from_secs(600);
    config
}

async fn a_file_reads_with_its_fields_and_a_missing_one_as_null(mode: Mode) {
    let app = TestApp::new(mode).await;
    let id = app.new_file().await;
    let data = app.data(&get_file(), json!({ "id": id })).await;
    let file = &data["groupPolicyUploadedDefinitionFile"];
    assert_eq!(file["id"], json!(id));
    assert_eq!(file["status"], "AVAILABLE");
    assert_eq!(file["policyType"], "ADMX_INGESTED");
    assert_eq!(file["fileName"], "test.admx");
    assert!(
        file["groupPolicyOperations"]["nodes"]
            .as_array()
            .expect("nodes")
            .is_empty()
    );
    let missing = app.data(&get_file(), json!({ "id": guid() })).await;
    assert_eq!(
        missing,
        json!({ "groupPolicyUploadedDefinitionFile": null })
    );
    let bad = app.gql(&get_file(), json!({ "id": "../x" })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["argument"], "id");
}

async fn the_file_list_pages_through_every_file_once(mode: Mode) {
    let app = TestApp::new(mode).await;
    if let Some(graph) = &app.graph {
        graph.set_page_size(2);
    }
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.new_file().await);
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for page in 0.. {
        let data = app
            .data(LIST_FILES, json!({ "first": 2, "after": after }))
            .await;
        let conn = &data["groupPolicyUploadedDefinitionFiles"];
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(page > 0));
        for node in conn["nodes"].as_array().expect("nodes") {
            seen.push(node["id"].as_str().expect("id").to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(page < 10, "paging ends");
    }
    assert_eq!(seen, created, "every file once, in a stable order");
    let bad = app.gql(LIST_FILES, json!({ "first": 101 })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    let tampered = app.gql(LIST_FILES, json!({ "after": "nope" })).await;
    assert_eq!(code(&tampered), "BAD_USER_INPUT");
}

async fn an_upload_returns_the_file_in_progress_with_an_upload_operation(mode: Mode) {
    let app = TestApp::with_config(mode, slow()).await;
    let data = app
        .data(&upload(), json!({ "input": contoso_input() }))
        .await;
    let file = &data["uploadGroupPolicyDefinitionFile"];
    assert_eq!(file["status"], "UPLOAD_IN_PROGRESS");
    assert_eq!(file["fileName"], "contoso-browser.admx");
    assert_eq!(file["defaultLanguageCode"], "en-US");
    if app.graph.is_some() {
        // Intune does not echo the language files of an upload (the captured portal traffic
        // answers with empty lists and `uploadDateTime` "never", which reads as null).
        assert_eq!(file["languageCodes"], json!([]));
        assert_eq!(file["groupPolicyUploadedLanguageFiles"], json!([]));
        assert_eq!(file["uploadDateTime"], Value::Null);
    } else {
        assert_eq!(file["languageCodes"], json!(["en-US"]));
        assert_eq!(
            file["groupPolicyUploadedLanguageFiles"][0]["fileName"],
            "contoso-browser.adml"
        );
    }
    let ops = &file["groupPolicyOperations"]["nodes"];
    assert_eq!(op_types(file), vec!["UPLOAD"]);
    assert_eq!(ops[0]["operationStatus"], "IN_PROGRESS");
    assert!(
        !data.to_string().contains(&sample("contoso-browser.admx")),
        "contents are write-only"
    );
    if let Some(graph) = &app.graph {
        let post = graph
            .requests()
            .into_iter()
            .find(|r| r.method == "POST")
            .expect("the upload reached Graph");
        assert_eq!(
            post.path,
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles"
        );
        let input = contoso_input();
        assert_eq!(
            post.body.expect("a JSON body"),
            json!({
                "@odata.type": "#microsoft.graph.groupPolicyUploadedDefinitionFile",
                "fileName": "contoso-browser.admx",
                "content": input["content"],
                "defaultLanguageCode": "en-US",
                "groupPolicyUploadedLanguageFiles": [{
                    "@odata.type": "microsoft.graph.groupPolicyUploadedLanguageFile",
                    "fileName": "contoso-browser.adml", "languageCode": "en-US",
                    "content": input["groupPolicyUploadedLanguageFiles"][0]["content"]
                }]
            }),
            "the body is Graph's shape with the content bytes unchanged"
        );
    }
}

/// Runs one action on a fresh file; returns the file as the mutation answered.
async fn run_action(app: &TestApp, mutation: &str, field: &str, vars: Value) -> Value {
    let body = app.gql(mutation, vars).await;
    assert!(body.get("errors").is_none(), "{field}: {body}");
    body["data"][field].clone()
}

// Long on purpose: most of it is the table of the three actions that carry files, each
// checked alike in one loop; the removals follow as named steps.
async fn each_action_starts_its_own_operation_and_returns_the_file_after_it(mode: Mode) {
    let app = TestApp::with_config(mode, slow()).await;
    let adml = json!([{ "fileName": "test.adml", "languageCode": "de-DE", "content": sample("de-DE/contoso-browser.adml") }]);
    let cases = [
        (
            "addGroupPolicyLanguageFiles",
            "ADD_LANGUAGE_FILES",
            "UPLOAD_IN_PROGRESS",
            "languageFiles: $files",
            "[GroupPolicyUploadedLanguageFileInput!]!",
            json!(adml),
            "addLanguageFiles",
        ),
        (
            "updateGroupPolicyLanguageFiles",
            "UPDATE_LANGUAGE_FILES",
            "UPLOAD_IN_PROGRESS",
            "languageFiles: $files",
            "[GroupPolicyUploadedLanguageFileInput!]!",
            json!([{ "fileName": "test.adml", "languageCode": "en-US", "content": sample("en-US/contoso-browser.adml") }]),
            "updateLanguageFiles",
        ),
        (
            "uploadNewGroupPolicyDefinitionFileVersion",
            "UPLOAD_NEW_VERSION",
            "UPLOAD_IN_PROGRESS",
            "content: $content, languageFiles: $files",
            "[GroupPolicyUploadedLanguageFileInput!]!",
            json!([]),
            "uploadNewVersion",
        ),
    ];
    for (field, op_type, status, args, files_type, files, action) in cases {
        let id = app.new_file().await;
        let content = if args.contains("$content") {
            ", $content: Base64!"
        } else {
            ""
        };
        let mutation = format!(
            "mutation Act($id: ID!, $files: {files_type}{content}) {{ {field}(definitionFileId: $id, {args}) {{ {FILE_FIELDS} }} }}"
        );
        let file = run_action(
            &app,
            &mutation,
            field,
            json!({ "id": id, "files": files, "content": sample("contoso-browser.admx") }),
        )
        .await;
        assert_eq!(file["status"], status, "{field}");
        assert_eq!(op_types(&file), vec![op_type], "{field}");
        assert_eq!(
            file["groupPolicyOperations"]["nodes"][0]["operationStatus"],
            "IN_PROGRESS"
        );
        if let Some(graph) = &app.graph {
            let post = last_post(graph);
            assert_eq!(
                post.path,
                format!("/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/{action}")
            );
            assert_eq!(
                post.body.expect("a body")["groupPolicyUploadedLanguageFiles"],
                strip_to_graph(&files),
                "{field}"
            );
        }
    }
    removing_a_language_file_starts_its_operation(&app).await;
    removing_the_file_starts_its_operation(&app).await;
}

/// Removing a language file the file has.
async fn removing_a_language_file_starts_its_operation(app: &TestApp) {
    let id = app.new_file().await;
    let remove_languages = format!(
        "mutation R($id: ID!, $files: [GroupPolicyLanguageFileRefInput!]!) {{ removeGroupPolicyLanguageFiles(definitionFileId: $id, languageFiles: $files) {{ {FILE_FIELDS} }} }}"
    );
    let refs = json!([{ "fileName": "test.adml", "languageCode": "en-US" }]);
    let file = run_action(
        app,
        &remove_languages,
        "removeGroupPolicyLanguageFiles",
        json!({ "id": id, "files": refs }),
    )
    .await;
    assert_eq!(op_types(&file), vec!["REMOVE_LANGUAGE_FILES"]);
    if let Some(graph) = &app.graph {
        let post = last_post(graph);
        assert_eq!(
            post.body.expect("body"),
            json!({ "groupPolicyUploadedLanguageFiles": [{ "@odata.type": "microsoft.graph.groupPolicyUploadedLanguageFile", "fileName": "test.adml", "languageCode": "en-US" }] })
        );
    }
}

/// Removing the file itself; a missing file is NOT_FOUND.
async fn removing_the_file_starts_its_operation(app: &TestApp) {
    let id = app.new_file().await;
    let remove = format!(
        "mutation R($id: ID!) {{ removeGroupPolicyUploadedDefinitionFile(id: $id) {{ {FILE_FIELDS} }} }}"
    );
    let file = run_action(
        app,
        &remove,
        "removeGroupPolicyUploadedDefinitionFile",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(file["status"], "REMOVAL_IN_PROGRESS");
    assert_eq!(op_types(&file), vec!["REMOVE"]);
    if let Some(graph) = &app.graph {
        let post = last_post(graph);
        assert!(
            post.path.ends_with(&format!("/{id}/remove")),
            "{}",
            post.path
        );
        assert!(post.body_text.is_none(), "remove takes no body");
        let requests = graph.requests();
        let post_at = requests
            .iter()
            .rposition(|r| r.method == "POST")
            .expect("the POST");
        assert!(
            requests[post_at..]
                .iter()
                .any(|r| r.method == "GET" && r.path.ends_with(&id)),
            "the 204 was followed by a read of the file"
        );
    }
    let missing = app.gql(&remove, json!({ "id": guid() })).await;
    assert_eq!(code(&missing), "NOT_FOUND", "{missing}");
}

/// A list of language file inputs as Graph's body carries them.
fn strip_to_graph(files: &Value) -> Value {
    Value::Array(
        files
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                json!({
                    "@odata.type": "microsoft.graph.groupPolicyUploadedLanguageFile",
                    "fileName": f["fileName"], "languageCode": f["languageCode"], "content": f["content"]
                })
            })
            .collect(),
    )
}

async fn delete_removes_the_record_and_a_second_delete_is_not_found(mode: Mode) {
    let app = TestApp::new(mode).await;
    let id = app.new_file().await;
    let op = app.create(&id, "UPLOAD", "FAILED", Some("bad")).await;
    let delete = "mutation D($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }";
    let data = app.data(delete, json!({ "id": id })).await;
    assert_eq!(data["deleteGroupPolicyUploadedDefinitionFile"], json!(id));
    let gone = app.data(&get_file(), json!({ "id": id })).await;
    assert_eq!(gone["groupPolicyUploadedDefinitionFile"], Value::Null);
    let op_gone = app.data(GET, json!({ "f": id, "id": op })).await;
    assert_eq!(op_gone["groupPolicyOperation"], Value::Null);
    let again = app.gql(delete, json!({ "id": id })).await;
    assert_eq!(code(&again), "NOT_FOUND", "{again}");
}

async fn operations_of_a_missing_file_are_not_found(mode: Mode) {
    let app = TestApp::new(mode).await;
    let missing = guid();
    let body = app
        .gql(CREATE, json!({ "f": missing, "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS" } }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let body = app.gql(LIST, json!({ "f": missing })).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

async fn an_operation_resolves_its_definition_file(mode: Mode) {
    let app = TestApp::new(mode).await;
    let (a, b) = (app.new_file().await, app.new_file().await);
    let op_a = app.create(&a, "UPLOAD", "SUCCESS", None).await;
    let op_b = app.create(&b, "UPLOAD", "SUCCESS", None).await;
    if let Some(graph) = &app.graph {
        graph.clear_requests();
    }
    let query = "query Q($a: ID!, $b: ID!, $oa: ID!, $ob: ID!) {
      x: groupPolicyOperation(definitionFileId: $a, id: $oa) { id definitionFile { id fileName status } }
      y: groupPolicyOperation(definitionFileId: $b, id: $ob) { id definitionFile { id } }
    }";
    let data = app
        .data(query, json!({ "a": a, "b": b, "oa": op_a, "ob": op_b }))
        .await;
    assert_eq!(data["x"]["definitionFile"]["id"], json!(a));
    assert_eq!(data["x"]["definitionFile"]["status"], "AVAILABLE");
    assert_eq!(data["y"]["definitionFile"]["id"], json!(b));
    if let Some(graph) = &app.graph {
        let file_reads = graph
            .requests()
            .iter()
            .filter(|r| r.in_batch && !r.path.contains("groupPolicyOperations"))
            .count();
        assert_eq!(file_reads, 2, "both files were read in one $batch");
    }
}

async fn invalid_base64_is_bad_user_input(mode: Mode) {
    let app = TestApp::new(mode).await;
    for bad in ["PD94bWw", "PD94 bWw+", "@@@@", "PD94bWw-"] {
        let mut input = contoso_input();
        input["content"] = json!(bad);
        let body = app.gql(&upload(), json!({ "input": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
    }
    let mut input = contoso_input();
    input["fileName"] = json!("../contoso.admx");
    let body = app.gql(&upload(), json!({ "input": input })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["argument"],
        "input.fileName"
    );
    if let Some(graph) = &app.graph {
        assert!(graph.requests().is_empty(), "nothing invalid reached Graph");
    }
}

/// The last POST the fake Graph received.
fn last_post(graph: &fake_graph::FakeGraph) -> fake_graph::Recorded {
    graph
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST")
        .expect("a POST")
}
