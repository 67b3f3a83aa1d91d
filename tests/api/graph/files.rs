//! Graph mode's fidelity to GRAPH.md for definition files and paging: exact paths, `$batch`
//! for file lookups, nextLinks followed byte for byte (another key form, extra parameters),
//! a repeating nextLink stopped, Intune's twice-nested errors read, and a fresh
//! `client-request-id` for every poll.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::support::files::{FILE_FIELDS, contoso_input, get_file, upload};
use crate::support::helpers::*;
use crate::support::ws;
use fake_graph::{Canned, Match};

const FILES: &str = "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles";

#[tokio::test]
async fn file_reads_and_deletes_use_graphs_paths_and_many_lookups_one_batch() {
    let app = TestApp::new(Mode::Graph).await;
    let (a, b) = (app.new_file().await, app.new_file().await);
    app.data(&get_file(), json!({ "id": a })).await;
    let get = app.graph().requests()[0].clone();
    assert_eq!(
        (get.method.as_str(), get.path.clone()),
        ("GET", format!("{FILES}/{a}"))
    );
    assert_eq!(
        get.query.as_deref(),
        Some("%24expand=groupPolicyOperations")
    );

    app.graph().clear_requests();
    let query = "query($a: ID!, $b: ID!) { x: groupPolicyUploadedDefinitionFile(id: $a) { id } y: groupPolicyUploadedDefinitionFile(id: $b) { id } }";
    let data = app.data(query, json!({ "a": a, "b": b })).await;
    assert_eq!(
        (data["x"]["id"].clone(), data["y"]["id"].clone()),
        (json!(a), json!(b))
    );
    let requests = app.graph().requests();
    assert_eq!(
        requests.iter().filter(|r| !r.in_batch).count(),
        1,
        "one $batch call"
    );
    let mut paths: Vec<String> = requests
        .iter()
        .filter(|r| r.in_batch)
        .map(|r| r.path.clone())
        .collect();
    paths.sort();
    let mut expected = vec![format!("{FILES}/{a}"), format!("{FILES}/{b}")];
    expected.sort();
    assert_eq!(paths, expected);

    app.graph().clear_requests();
    app.data(
        "mutation($id: ID!) { deleteGroupPolicyUploadedDefinitionFile(id: $id) }",
        json!({ "id": a }),
    )
    .await;
    let delete = app.graph().requests()[0].clone();
    assert_eq!(
        (delete.method.as_str(), delete.path),
        ("DELETE", format!("{FILES}/{a}"))
    );
}

#[tokio::test]
async fn a_next_link_in_another_key_form_with_extra_parameters_is_followed_byte_for_byte() {
    let app = crate::graph::navigation_app().await;
    let file = app.new_file().await;
    let first = app.graph().insert_op(&file, "upload", "success", None);
    let second = app
        .graph()
        .insert_op(&file, "addLanguageFiles", "failed", Some("x"));
    let entities = app.graph().entities(&file);
    let raw_path = format!("{FILES}('{file}')/groupPolicyOperations");
    let raw_query = "$top=1&$select=id,operationType&$skiptoken=Zm9vYmFy&custom=1";
    let link = format!("{}{raw_path}?{raw_query}", app.graph().origin());
    app.graph().inject(
        Match::method("GET").path_contains(&format!("{file}/groupPolicyOperations")),
        Canned::json(
            200,
            json!({ "value": [entities[0]], "@odata.nextLink": link }),
        ),
        1,
    );
    app.graph().inject(
        Match::method("GET").path_contains("Files('"),
        Canned::json(200, json!({ "value": [entities[1]] })),
        1,
    );
    let data = app.data(LIST, json!({ "f": file, "first": 5 })).await;
    assert_eq!(node_ids(&data), vec![first, second]);
    let followed = app.graph().requests()[1].clone();
    assert_eq!(
        followed.path, raw_path,
        "the path exactly as Graph wrote it"
    );
    assert_eq!(
        followed.query.as_deref(),
        Some(raw_query),
        "the query untouched"
    );
}

#[tokio::test]
async fn a_next_link_returned_twice_ends_the_listing_with_upstream_error() {
    let app = crate::graph::navigation_app().await;
    let file = app.new_file().await;
    app.graph().insert_op(&file, "upload", "success", None);
    let entity = app.graph().entities(&file)[0].clone();
    let link = format!("{}?$skiptoken=same", app.graph().collection_url(&file));
    app.graph().inject(
        Match::method("GET").path_contains("groupPolicyOperations"),
        Canned::json(200, json!({ "value": [entity], "@odata.nextLink": link })),
        5,
    );
    let body = app.gql(LIST, json!({ "f": file, "first": 10 })).await;
    assert_eq!(code(&body), "UPSTREAM_ERROR", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("already"),
        "{body}"
    );
    assert_eq!(
        app.graph().requests().len(),
        2,
        "the repeated link was not fetched again"
    );

    // A link to another origin is never fetched either.
    app.graph().clear_injections();
    app.graph().clear_requests();
    let foreign =
        "https://attacker.example/beta/deviceManagement/groupPolicyUploadedDefinitionFiles";
    app.graph().inject(
        Match::method("GET").path_contains(FILES),
        Canned::json(200, json!({ "value": [], "@odata.nextLink": foreign })),
        1,
    );
    let files = "{ groupPolicyUploadedDefinitionFiles { nodes { id } } }";
    let body = app.gql(files, json!({})).await;
    assert_eq!(code(&body), "UPSTREAM_ERROR", "{body}");
    assert_eq!(app.graph().requests().len(), 1);
}

/// Microsoft's rule: request a nextLink exactly as given. `Url::parse` would send a bare `'`
/// in the query as `%27`; the fake records the request target as it arrived.
#[tokio::test]
async fn next_links_with_quotes_and_escapes_are_sent_byte_for_byte() {
    let app = TestApp::new(Mode::Graph).await;
    let (a, b) = (app.new_file().await, app.new_file().await);
    let (first, second) = (
        app.graph().file(&a).expect("a"),
        app.graph().file(&b).expect("b"),
    );
    // A key form the gateway never sends, a bare quote, an escaped quote and an escaped `=`.
    let raw_path = "/beta/deviceManagement('default')/groupPolicyUploadedDefinitionFiles";
    let raw_query = "$skiptoken='a%27b%3D'&$filter=id%20ne%20'x'&plain=it's";
    let link = format!("{}{raw_path}?{raw_query}", app.graph().origin());
    app.graph().inject(
        Match::method("GET").path_contains(FILES),
        Canned::json(200, json!({ "value": [first], "@odata.nextLink": link })),
        1,
    );
    app.graph().inject(
        Match::method("GET").path_contains("deviceManagement('default')"),
        Canned::json(200, json!({ "value": [second] })),
        1,
    );
    app.graph().clear_requests();
    let data = app
        .data(
            "{ groupPolicyUploadedDefinitionFiles { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["groupPolicyUploadedDefinitionFiles"]["nodes"],
        json!([{ "id": a }, { "id": b }])
    );
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[1].path, raw_path,
        "the path exactly as Graph wrote it"
    );
    assert_eq!(
        requests[1].query.as_deref(),
        Some(raw_query),
        "the query byte for byte"
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the link is sent with the caller's token"
    );
}

#[tokio::test]
async fn a_twice_nested_intune_error_yields_its_message_and_intune_code() {
    let app = TestApp::new(Mode::Graph).await;
    let innermost = json!({ "_version": 3, "Message": "The ADMX file could not be parsed - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000", "CustomApiErrorPhrase": "ContentParsingException", "RetryAfter": null });
    let middle = json!({ "ErrorCode": "BadRequest", "Message": innermost.to_string() });
    app.graph().inject(
        Match::method("POST"),
        Canned::json(400, json!({ "error": {
            "code": "BadRequest", "message": middle.to_string(),
            "innerError": { "date": "", "request-id": "", "client-request-id": "", "innererror": { "code": "admxParse" } }
        }})),
        1,
    );
    let body = app
        .gql(&upload(), json!({ "input": contoso_input() }))
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(error["extensions"]["intuneCode"], "ContentParsingException");
    assert_eq!(error["extensions"]["innerCodes"], json!(["admxParse"]));
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .starts_with("The ADMX file could not be parsed"),
        "{body}"
    );
}

#[tokio::test]
async fn every_poll_sends_a_fresh_client_request_id() {
    let mut config = config();
    config.graph.poll_interval = std::time::Duration::from_millis(50);
    let app = TestApp::with_config(Mode::Graph, config).await;
    let file = app.new_file().await;
    app.graph()
        .update_file(&file, json!({ "status": "uploadInProgress" }));
    let op = app.graph().insert_op(&file, "upload", "inProgress", None);
    let addr = serve_tcp(app.router.clone()).await;
    let mut socket = ws::ready_with_token(addr).await;
    let watch = format!(
        "subscription W($id: ID!) {{ groupPolicyUploadedDefinitionFileChanged(id: $id) {{ {FILE_FIELDS} }} }}"
    );
    ws::send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": watch, "variables": { "id": file } } })).await;
    assert_eq!(ws::next(&mut socket).await["type"], "next");
    let polls = |app: &TestApp| app.graph().count(&Match::method("GET"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while polls(&app) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the poller kept polling"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.graph()
        .update(&file, &op, json!({ "operationStatus": "success" }));
    app.graph()
        .update_file(&file, json!({ "status": "available" }));
    loop {
        let message = ws::next(&mut socket).await;
        if message["type"] == "complete" {
            break;
        }
    }
    let ids: Vec<String> = app
        .graph()
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.header("client-request-id").expect("an id").to_owned())
        .collect();
    assert!(ids.len() >= 3);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "{ids:?}"
    );
}

/// Uploads on `mode` with every log line captured at TRACE; returns the logs.
async fn upload_with_logs(mode: Mode) -> String {
    let (logs, _guard) = crate::graph::LogBuffer::capture();
    let app = TestApp::new(mode).await;
    let data = app
        .data(&upload(), json!({ "input": contoso_input() }))
        .await;
    let id = data["uploadGroupPolicyDefinitionFile"]["id"].clone();
    app.data(&get_file(), json!({ "id": id })).await;
    logs.text()
}

#[tokio::test(flavor = "current_thread")]
async fn file_contents_never_reach_the_logs() {
    let input = contoso_input();
    let admx = input["content"].as_str().expect("base64").to_owned();
    let adml = input["groupPolicyUploadedLanguageFiles"][0]["content"]
        .as_str()
        .expect("base64")
        .to_owned();
    for mode in [Mode::Store, Mode::Graph] {
        let logs = upload_with_logs(mode).await;
        assert!(!logs.is_empty(), "{mode:?}: something was logged");
        for secret in [&admx[..40], &adml[..40], "Software\\Policies\\Contoso"] {
            assert!(
                !logs.contains(secret),
                "{mode:?}: file contents in the logs"
            );
        }
    }
}
