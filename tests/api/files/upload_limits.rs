//! Limits that uploads meet: the default body limits fit a 1 MB ADMX with two 1 MB ADMLs,
//! variables and query text have their own limits, and a file holds at most 50 ADMLs.

use serde_json::json;

use crate::files::simulation::{b64, settled, upload_settled};
use crate::support::files::{contoso_input, sample, upload};
use crate::support::helpers::*;

/// `text` padded with an XML comment to exactly `size` bytes.
fn padded(text: &str, size: usize) -> String {
    let filler = size - text.len() - "<!--  -->".len();
    format!("{text}<!-- {} -->", "x".repeat(filler))
}

fn read_sample(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("playground/samples")
            .join(path),
    )
    .expect("sample")
}

#[tokio::test]
async fn a_one_mb_admx_with_two_one_mb_admls_fits_the_default_limits() {
    const MB: usize = 1024 * 1024;
    let app = TestApp::store().await;
    let language = |code: &str, path: &str| json!({ "fileName": "contoso-browser.adml", "languageCode": code, "content": b64(&padded(&read_sample(path), MB)) });
    let input = json!({
        "fileName": "contoso-browser.admx",
        "content": b64(&padded(&read_sample("contoso-browser.admx"), MB)),
        "defaultLanguageCode": "en-US",
        "groupPolicyUploadedLanguageFiles": [
            language("en-US", "en-US/contoso-browser.adml"),
            language("de-DE", "de-DE/contoso-browser.adml"),
        ]
    });
    let body = json!({ "query": upload(), "variables": { "input": input } });
    assert!(body.to_string().len() > 4 * MB, "the request is over 4 MiB");
    let (status, _, answer) = app.post(body).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["data"]["uploadGroupPolicyDefinitionFile"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();
    let file = settled(&app, &id).await;
    assert_eq!(file["status"], "AVAILABLE", "{file}");
    assert_eq!(file["languageCodes"], json!(["de-DE", "en-US"]));
}

#[tokio::test]
async fn variables_over_their_limit_and_a_query_over_the_body_limit_are_refused() {
    let mut config = config();
    config.http.max_body_bytes = 2000;
    config.http.max_variables_bytes = 20_000;
    let app = TestApp::with_config(Mode::Store, config).await;
    let query = "query Q($x: String) { __typename }";
    let under = json!({ "query": query, "variables": { "x": "y".repeat(19_000) } });
    let (status, _, body) = app.post(under).await;
    assert_eq!(status, 200, "variables just under their limit pass: {body}");
    let over = json!({ "query": query, "variables": { "x": "y".repeat(20_001) } });
    let (status, _, body) = app.post(over).await;
    assert_eq!(status, 413);
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
    let long_query = json!({ "query": format!("{query} #{}", "z".repeat(2000)), "variables": {} });
    let (status, _, body) = app.post(long_query).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("outside its `variables`")
    );
}

#[tokio::test]
async fn a_file_holds_at_most_fifty_language_files() {
    let app = TestApp::store().await;
    let file = upload_settled(&app, contoso_input()).await;
    let id = file["id"].as_str().expect("id").to_owned();
    let adml = |language: String| json!({ "fileName": "contoso-browser.adml", "languageCode": language, "content": sample("en-US/contoso-browser.adml") });
    let add = "mutation A($id: ID!, $files: [GroupPolicyUploadedLanguageFileInput!]!) { addGroupPolicyLanguageFiles(definitionFileId: $id, languageFiles: $files) { id } }";
    let up_to_fifty: Vec<_> = (1..50).map(|i| adml(format!("en-{i}"))).collect();
    app.data(add, json!({ "id": id, "files": up_to_fifty }))
        .await;
    let file = settled(&app, &id).await;
    assert_eq!(
        file["languageCodes"].as_array().expect("codes").len(),
        50,
        "{file}"
    );
    let body = app
        .gql(add, json!({ "id": id, "files": [adml("fr-FR".into())] }))
        .await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
}
