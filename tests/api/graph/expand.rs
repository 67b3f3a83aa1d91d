//! The default read path, as real tools read operations: one
//! `GET .../groupPolicyUploadedDefinitionFiles/{id}?$expand=groupPolicyOperations` per file per
//! request (one `$batch` for several files), paged by the gateway, lookups answered from the
//! same read, fresh after every write of the request; creates answered without a body are read
//! back, never posted twice; routes Graph does not serve and oversized answers are upstream
//! errors.

use super::*;
use crate::support::helpers::AnswerJson;

/// A gateway whose query guard lets a test send many aliases.
async fn roomy_app() -> TestApp {
    let mut config = config();
    lift_query_caps(&mut config);
    TestApp::with_config(Mode::Graph, config).await
}

fn expand_reads(graph: &FakeGraph) -> Vec<Recorded> {
    graph
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && query_param(r, "$expand").is_some())
        .collect()
}

#[tokio::test]
async fn thirty_lookups_and_the_files_list_in_one_query_cost_one_graph_call() {
    let app = roomy_app().await;
    let file = guid();
    let ids: Vec<String> = (0..30)
        .map(|i| {
            app.graph()
                .insert_op(&file, "upload", "success", Some(&format!("op {i}")))
        })
        .collect();
    let lookups: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!("k{i}: groupPolicyOperation(definitionFileId: $f, id: \"{id}\") {{ id statusDetails }} ")
        })
        .collect();
    let query = format!(
        "query($f: ID!) {{ {lookups} list: groupPolicyOperations(definitionFileId: $f, first: 100) {{ nodes {{ id }} }} }}"
    );
    let data = app.data(&query, json!({ "f": file })).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            data[format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("op {i}") })
        );
    }
    assert_eq!(
        node_ids(&json!({ "groupPolicyOperations": data["list"] })),
        ids
    );
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 1, "one Graph call: {requests:?}");
    assert_eq!(requests[0].path, format!("{ROOT}/{file}"));
    assert_eq!(
        query_param(&requests[0], "$expand").as_deref(),
        Some("groupPolicyOperations")
    );
}

#[tokio::test]
async fn ten_files_lists_in_one_query_are_one_batch() {
    let app = roomy_app().await;
    let files: Vec<String> = (0..10).map(|_| guid()).collect();
    let mut expected = Vec::new();
    for file in &files {
        expected.push(vec![
            app.graph().insert_op(file, "upload", "success", None),
            app.graph().insert_op(file, "remove", "inProgress", None),
        ]);
    }
    let lists: String = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!("l{i}: groupPolicyOperations(definitionFileId: \"{f}\") {{ nodes {{ id }} }} ")
        })
        .collect();
    // A lookup in one of the files rides on the same read.
    let query = format!(
        "{{ {lists} one: groupPolicyOperation(definitionFileId: \"{}\", id: \"{}\") {{ id }} }}",
        files[3], expected[3][1]
    );
    let data = app.data(&query, json!({})).await;
    for (i, ids) in expected.iter().enumerate() {
        assert_eq!(
            node_ids(&json!({ "groupPolicyOperations": data[format!("l{i}")] })),
            *ids
        );
    }
    assert_eq!(data["one"]["id"], json!(expected[3][1]));
    let plain = plain_requests(app.graph());
    assert_eq!(plain.len(), 1, "one $batch: {plain:?}");
    assert_eq!(plain[0].path, "/beta/$batch");
    let mut paths: Vec<String> = expand_reads(app.graph())
        .into_iter()
        .map(|r| r.path)
        .collect();
    paths.sort();
    let mut want: Vec<String> = files.iter().map(|f| format!("{ROOT}/{f}")).collect();
    want.sort();
    assert_eq!(paths, want, "each file read once, with $expand");
}

#[tokio::test]
async fn pages_are_cut_by_the_gateway_from_one_read_per_request() {
    let app = graph_app().await;
    let file = guid();
    let expected: Vec<String> = (0..7)
        .map(|_| app.graph().insert_op(&file, "upload", "success", None))
        .collect();
    let (ids, pages) = list_all(&app, &file, 3).await;
    assert_eq!(ids, expected);
    assert_eq!(pages, 3);
    let reads = app.graph().requests();
    assert_eq!(reads.len(), 3, "one read per GraphQL request");
    assert!(reads.iter().all(|r| r.path == format!("{ROOT}/{file}")));
    // A missing file is NOT_FOUND, as in store mode.
    let body = app.gql(LIST, json!({ "f": guid() })).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn two_actions_on_one_file_in_one_document_each_see_their_own_new_operation() {
    let app = graph_app().await;
    let file = app.new_file().await;
    let content = "PHBvbGljeURlZmluaXRpb25SZXNvdXJjZXMvPg==";
    let query = "mutation($f: ID!, $add: [GroupPolicyUploadedLanguageFileInput!]!, $remove: [GroupPolicyLanguageFileRefInput!]!) {
      first: addGroupPolicyLanguageFiles(definitionFileId: $f, languageFiles: $add) {
        groupPolicyOperations { nodes { operationType } } }
      second: removeGroupPolicyLanguageFiles(definitionFileId: $f, languageFiles: $remove) {
        groupPolicyOperations { nodes { operationType } } }
    }";
    let data = app
        .data(
            query,
            json!({
                "f": file,
                "add": [{ "fileName": "x.adml", "languageCode": "de-DE", "content": content }],
                "remove": [{ "fileName": "x.adml", "languageCode": "de-DE" }],
            }),
        )
        .await;
    let types = |field: &str| -> Vec<String> {
        data[field]["groupPolicyOperations"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["operationType"].as_str().expect("a type").to_owned())
            .collect()
    };
    assert_eq!(types("first"), ["ADD_LANGUAGE_FILES"]);
    assert_eq!(
        types("second"),
        ["ADD_LANGUAGE_FILES", "REMOVE_LANGUAGE_FILES"]
    );
}

#[tokio::test]
async fn a_create_answered_without_a_body_is_read_back_and_never_posted_twice() {
    let app = graph_app().await;
    let file = app.new_file().await;
    for (status, location) in [(204, true), (204, false), (202, false)] {
        app.graph().set_create_status(status);
        app.graph().set_create_location(location);
        app.graph().clear_requests();
        let details = format!("{status} {location}");
        let created = app
            .data(
                CREATE,
                json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS", "statusDetails": details } }),
            )
            .await;
        let op = &created["createGroupPolicyOperation"];
        let id = op["id"].as_str().expect("an id");
        let stored = app
            .graph()
            .entity(&file, id)
            .expect("the created operation");
        assert_eq!(stored["statusDetails"], json!(details));
        assert_eq!(op["lastModifiedDateTime"], stored["lastModifiedDateTime"]);
        assert_eq!(app.graph().count(&Match::method("POST")), 1);
        let reads = expand_reads(app.graph());
        assert_eq!(reads.len(), 1, "read back from the file's $expand");
    }
    // Graph says it created something the gateway cannot find: an error that says so, and
    // still one POST.
    app.graph().clear_requests();
    app.graph()
        .inject(Match::method("POST"), Canned::empty(204), 1);
    let body = app
        .gql(
            CREATE,
            json!({ "f": file, "input": { "operationType": "REMOVE", "operationStatus": "FAILED", "statusDetails": "nowhere" } }),
        )
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("was created") && message.contains("do not retry"),
        "{message}"
    );
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
}

#[tokio::test]
async fn a_route_graph_does_not_serve_is_upstream_error_naming_it() {
    // The gateway told to use the navigation routes, against an Intune that refuses them.
    let mut config = config();
    config.graph.graph_navigation_reads = true;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    for nested in [false, true] {
        app.graph().set_nested_route_errors(nested);
        for (query, variables) in [
            (GET, json!({ "f": file, "id": id })),
            (LIST, json!({ "f": file })),
        ] {
            let body = app.gql(query, variables).await;
            let error = only_error(&body);
            assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
            assert_eq!(ext(error, "status"), 400);
            assert_eq!(ext(error, "graphCode"), "No method match route template");
            let message = error["message"].as_str().expect("a message");
            assert!(
                message.contains("/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations"),
                "names the route: {message}"
            );
            assert!(!message.contains("_version"), "{message}");
        }
    }
    // The same gateway by default never meets the refusal.
    let app = graph_app().await;
    app.graph().insert_op(&file, "upload", "success", None);
    let data = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(node_ids(&data).len(), 1);
}

#[tokio::test]
async fn a_get_404_is_absent_only_when_graph_says_not_found() {
    let app = graph_app().await;
    let (file, id) = failing_reads(
        &app,
        None,
        Canned::graph_error(404, "UnknownError", "Something went wrong"),
        1,
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 404);
    for code in ["ResourceNotFound", "NotFound", "Request_ResourceNotFound"] {
        app.graph().inject(
            Match::method("GET").path_contains(&file),
            Canned::graph_error(404, code, "gone"),
            1,
        );
        let body = app.gql(GET, json!({ "f": file, "id": id })).await;
        assert!(body.get("errors").is_none(), "{code}: {body}");
        assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    }
}

#[tokio::test]
async fn a_graph_answer_over_the_body_limit_is_refused_unread() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    // 17 MiB of JSON: over the 16 MiB default of --graph-max-body-bytes.
    let huge = format!(
        "{{\"id\":\"{file}\",\"padding\":\"{}\"}}",
        "x".repeat(17 * 1024 * 1024)
    );
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::raw(200, &huge),
        1,
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("--graph-max-body-bytes")),
        "{body}"
    );
    // A smaller limit applies to answers of any size above it, nextLinks included.
    let mut config = config();
    config.graph.graph_max_body_bytes = 2048;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = guid();
    for i in 0..40 {
        app.graph().insert_op(
            &file,
            "upload",
            "success",
            Some(&format!("operation number {i}")),
        );
    }
    let body = app.gql(LIST, json!({ "f": file })).await;
    assert_eq!(code(&body), "UPSTREAM_ERROR", "{body}");
}

#[tokio::test]
async fn the_fake_accepts_the_portals_upload_and_answers_as_captured() {
    let app = graph_app().await;
    let client = reqwest::Client::new();
    // The admin portal's body: no @odata.type, an empty defaultLanguageCode, no language files.
    let answer: Value = client
        .post(format!(
            "{}/deviceManagement/groupPolicyUploadedDefinitionFiles",
            app.graph().base_url()
        ))
        .bearer_auth(TOKEN)
        .json(
            &json!({ "fileName": "portal.admx", "content": "PHgvPg==", "defaultLanguageCode": "" }),
        )
        .answer_json()
        .await;
    assert_eq!(answer["uploadDateTime"], "0001-01-01T00:00:00Z");
    assert_eq!(answer["languageCodes"], json!([]));
    assert_eq!(answer["groupPolicyUploadedLanguageFiles"], json!([]));
    // The gateway reads Graph's "never" as null.
    let id = answer["id"].as_str().expect("an id");
    let data = app
        .data(
            "query($id: ID!) { groupPolicyUploadedDefinitionFile(id: $id) { uploadDateTime languageCodes } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["groupPolicyUploadedDefinitionFile"],
        json!({ "uploadDateTime": null, "languageCodes": [] })
    );
}

#[tokio::test]
async fn a_file_with_its_operations_is_one_call() {
    let app = graph_app().await;
    let file = app.new_file().await;
    let op = app.graph().insert_op(&file, "upload", "success", None);
    let query = "query($f: ID!) {
      groupPolicyUploadedDefinitionFile(id: $f) { id groupPolicyOperations { nodes { id } } } }";
    let data = app.data(query, json!({ "f": file })).await;
    assert_eq!(
        data["groupPolicyUploadedDefinitionFile"]["groupPolicyOperations"]["nodes"],
        json!([{ "id": op }])
    );
    assert_eq!(
        app.graph().requests().len(),
        1,
        "{:?}",
        app.graph().requests()
    );
}
