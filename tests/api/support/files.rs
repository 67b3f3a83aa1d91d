//! Shared pieces of the definition-file suites: the operations they send and the samples of
//! `playground/samples` they upload.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::helpers::TestApp;

pub(crate) const FILE_FIELDS: &str = "id displayName description fileName languageCodes targetPrefix \
    targetNamespace policyType revision status uploadDateTime lastModifiedDateTime \
    defaultLanguageCode groupPolicyUploadedLanguageFiles { fileName languageCode lastModifiedDateTime } \
    groupPolicyOperations(first: 100) { nodes { id operationType operationStatus statusDetails } pageInfo { hasNextPage } }";

pub(crate) fn get_file() -> String {
    format!(
        "query GetFile($id: ID!) {{ groupPolicyUploadedDefinitionFile(id: $id) {{ {FILE_FIELDS} }} }}"
    )
}

pub(crate) fn upload() -> String {
    format!(
        "mutation Upload($input: UploadGroupPolicyDefinitionFileInput!) {{ \
         uploadGroupPolicyDefinitionFile(input: $input) {{ {FILE_FIELDS} }} }}"
    )
}

pub(crate) const LIST_FILES: &str = "query Files($first: Int, $after: String) {
  groupPolicyUploadedDefinitionFiles(first: $first, after: $after) {
    edges { cursor node { id fileName } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

/// Standard base64 of a sample under playground/samples.
/// Uploads `input` (the upload must be accepted); returns the new file's id.
pub(crate) async fn upload_file(app: &TestApp, input: Value) -> String {
    app.data(&upload(), json!({ "input": input })).await["uploadGroupPolicyDefinitionFile"]["id"]
        .as_str()
        .expect("the new file's id")
        .to_owned()
}

pub(crate) fn sample(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("playground/samples")
        .join(path);
    STANDARD.encode(std::fs::read(&full).expect("the sample exists"))
}

/// The upload input for the contoso-browser sample (ADMX + en-US ADML).
pub(crate) fn contoso_input() -> Value {
    json!({
        "fileName": "contoso-browser.admx",
        "content": sample("contoso-browser.admx"),
        "defaultLanguageCode": "en-US",
        "groupPolicyUploadedLanguageFiles": [{
            "fileName": "contoso-browser.adml", "languageCode": "en-US",
            "content": sample("en-US/contoso-browser.adml")
        }]
    })
}

/// Types of a file's operations, in order, from a `FILE_FIELDS` selection.
pub(crate) fn op_types(file: &Value) -> Vec<String> {
    file["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|op| op["operationType"].as_str().expect("type").to_owned())
        .collect()
}
