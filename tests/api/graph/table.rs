//! README's "Graph mode" table cannot drift: each GraphQL field is driven once, alone, against
//! the fake Graph with the gateway's defaults, and the requests the fake logged (method, route
//! template, query options, how many) must be exactly the table's rows for that field.

use std::collections::BTreeMap;

use super::*;
use crate::support::files::contoso_input;
use crate::support::ws;

/// One request as the table writes it.
type Row = (String, String, String);

/// The table's rows by field, each row repeated as many times as its count says.
fn readme_table() -> BTreeMap<String, Vec<Row>> {
    let readme = include_str!("../../../README.md");
    let header = "| field | method | route | query options | requests |";
    let start = readme
        .find(header)
        .expect("README has the Graph mode table");
    let mut table: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for line in readme[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 5, "{line}");
        let unquote = |cell: &str| cell.trim_matches('`').to_owned();
        let count: usize = cells[4]
            .split([' ', ','])
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count first in {line}"));
        let row = (unquote(cells[1]), unquote(cells[2]), unquote(cells[3]));
        let rows = table.entry(unquote(cells[0])).or_default();
        rows.extend(std::iter::repeat_n(row, count));
    }
    table
}

/// What the fake logged, as table rows (`$batch` envelopes and sub-requests alike).
fn logged(graph: &FakeGraph) -> Vec<Row> {
    let mut rows: Vec<Row> = graph
        .requests()
        .iter()
        .map(|r| {
            let route = r
                .path
                .trim_start_matches("/beta")
                .split('/')
                .map(|s| if is_guid(s) { "{id}" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let options = query_pairs(r)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>();
            let options = if options.is_empty() {
                "none".to_owned()
            } else {
                options.join("&")
            };
            (r.method.clone(), route, options)
        })
        .collect();
    rows.sort();
    rows
}

const ADML: &str = "PHBvbGljeURlZmluaXRpb25SZXNvdXJjZXMvPg==";

/// The document that drives `field` on `file` (which holds operation `op`).
fn document(field: &str, file: &str, op: &str) -> (String, Value) {
    let add = json!([{ "fileName": "x.adml", "languageCode": "de-DE", "content": ADML }]);
    let on_file = |args: &str| {
        format!(
            "mutation($f: ID!, $l: [GroupPolicyUploadedLanguageFileInput!]!) {{ {field}(definitionFileId: $f, {args}) {{ id }} }}"
        )
    };
    match field {
        "groupPolicyOperation" => (GET.to_owned(), json!({ "f": file, "id": op })),
        "groupPolicyOperations" => (LIST.to_owned(), json!({ "f": file })),
        "groupPolicyUploadedDefinitionFile" => (
            "query($id: ID!) { groupPolicyUploadedDefinitionFile(id: $id) { id } }".to_owned(),
            json!({ "id": file }),
        ),
        "groupPolicyUploadedDefinitionFiles" => (
            "{ groupPolicyUploadedDefinitionFiles { nodes { id } } }".to_owned(),
            json!({}),
        ),
        "createGroupPolicyOperation" => (
            CREATE.to_owned(),
            json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
        ),
        "updateGroupPolicyOperation" => (
            UPDATE.to_owned(),
            json!({ "f": file, "id": op, "input": { "statusDetails": "x" } }),
        ),
        "deleteGroupPolicyOperation" => (DELETE.to_owned(), json!({ "f": file, "id": op })),
        "uploadGroupPolicyDefinitionFile" => (
            "mutation($input: UploadGroupPolicyDefinitionFileInput!) { uploadGroupPolicyDefinitionFile(input: $input) { id } }".to_owned(),
            json!({ "input": contoso_input() }),
        ),
        "addGroupPolicyLanguageFiles" | "updateGroupPolicyLanguageFiles" => {
            (on_file("languageFiles: $l"), json!({ "f": file, "l": add }))
        }
        "removeGroupPolicyLanguageFiles" => (
            format!("mutation($f: ID!) {{ {field}(definitionFileId: $f, languageFiles: [{{ fileName: \"x.adml\", languageCode: \"de-DE\" }}]) {{ id }} }}"),
            json!({ "f": file }),
        ),
        "uploadNewGroupPolicyDefinitionFileVersion" => (
            on_file(&format!("content: \"{ADML}\", languageFiles: $l")),
            json!({ "f": file, "l": add }),
        ),
        "removeGroupPolicyUploadedDefinitionFile" => (
            "mutation($id: ID!) { removeGroupPolicyUploadedDefinitionFile(id: $id) { id } }"
                .to_owned(),
            json!({ "id": file }),
        ),
        "deleteGroupPolicyUploadedDefinitionFile" => (
            "mutation($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }".to_owned(),
            json!({ "id": file }),
        ),
        other => panic!("the README table names a field this test does not drive: {other}"),
    }
}

/// Subscribes over WebSocket and waits for the first state: a settled target is polled once.
async fn first_poll(app: &TestApp, field: &str, file: &str, op: &str) {
    let (query, variables) = match field {
        "groupPolicyOperationChanged" => (ws::CHANGED.to_owned(), json!({ "f": file, "id": op })),
        _ => (
            "subscription($id: ID!) { groupPolicyUploadedDefinitionFileChanged(id: $id) { id } }"
                .to_owned(),
            json!({ "id": file }),
        ),
    };
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ws::ready_with_token(addr).await;
    ws::send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
    )
    .await;
    assert_eq!(ws::next(&mut socket).await["type"], "next", "{field}");
    // Settled: the stream completes after the one poll.
    assert_eq!(ws::next(&mut socket).await["type"], "complete", "{field}");
}

#[tokio::test]
async fn every_field_makes_exactly_the_graph_requests_the_readme_table_lists() {
    let table = readme_table();
    assert!(table.len() >= 16, "{table:?}");
    for (field, expected) in &table {
        let app = graph_app().await;
        let file = app.new_file().await;
        let op = app.graph().insert_op(&file, "upload", "success", None);
        app.graph().clear_requests();
        if field.ends_with("Changed") {
            first_poll(&app, field, &file, &op).await;
        } else {
            let (query, variables) = document(field, &file, &op);
            let body = app.gql(&query, variables).await;
            assert!(body.get("errors").is_none(), "{field}: {body}");
        }
        let mut expected = expected.clone();
        expected.sort();
        assert_eq!(logged(app.graph()), expected, "{field}");
        // The default never reads through the navigation routes.
        assert!(
            app.graph()
                .requests()
                .iter()
                .all(|r| r.method != "GET" || !r.path.contains("groupPolicyOperations")),
            "{field}"
        );
    }
}
