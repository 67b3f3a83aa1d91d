//! What never reaches Graph, or never gets followed from it: hostile ids, tampered cursors,
//! redirects, next links to another resource, and lookups beyond the per-operation cap.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

// Long on purpose: one table of hostile ids, each tried on every id argument.
#[tokio::test]
async fn hostile_ids_never_reach_graph() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let long = "a".repeat(10 * 1024);
    let hostile = [
        "../x",
        "a/b",
        "x?$filter=1",
        "%2e%2e",
        "",
        long.as_str(),
        "..",
        "{0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01}",
        "0c9e4b7a1d2f4a6b8e3c5f7a9b1c2d01",
        "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01/../x",
        "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d0%",
    ];
    for bad in hostile {
        let calls = [
            (GET, json!({ "f": file, "id": bad })),
            (GET, json!({ "f": bad, "id": id })),
            (
                UPDATE,
                json!({ "f": file, "id": bad, "input": { "statusDetails": "x" } }),
            ),
            (DELETE, json!({ "f": file, "id": bad })),
            (DELETE, json!({ "f": bad, "id": id })),
            (LIST, json!({ "f": bad })),
            (
                CREATE,
                json!({ "f": bad, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
            ),
        ];
        for (query, variables) in calls {
            let body = app.gql(query, variables).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{bad:.40}: {body:.300}");
        }
        assert!(
            app.graph().requests().is_empty(),
            "{bad:.40} reached Graph: {:?}",
            app.graph().requests()
        );
    }

    // Valid calls (any case) reach exactly the GUID-only paths.
    let upper = id.to_uppercase();
    let upper_file = file.to_uppercase();
    app.data(GET, json!({ "f": upper_file, "id": upper })).await;
    app.data(LIST, json!({ "f": file })).await;
    app.update(&file, &id, json!({ "statusDetails": "x" }))
        .await;
    let created = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    app.data(DELETE, json!({ "f": file, "id": created })).await;
    let allowed = [
        collection_path(&file),
        entity_path(&file, &id),
        format!("{ROOT}/{file}"),
    ];
    let created_path = entity_path(&file, &created);
    let requests = app.graph().requests();
    assert!(requests.len() >= 6, "{requests:?}");
    for r in &requests {
        assert!(!r.in_batch);
        let ok = allowed
            .iter()
            .chain([&created_path])
            .any(|p| p.eq_ignore_ascii_case(&r.path));
        assert!(ok, "unexpected path {} for {}", r.path, r.method);
        for (key, _) in query_pairs(r) {
            assert!(
                ["$select", "$top", "$expand"].contains(&key.as_str()),
                "unexpected query option {key} in {:?}",
                r.query
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_cursor_never_reaches_graph() {
    let app = graph_app().await;
    app.graph().set_page_size(2);
    let file = guid();
    for _ in 0..5 {
        app.graph().insert_op(&file, "upload", "success", None);
    }
    let data = app.data(LIST, json!({ "f": file, "first": 2 })).await;
    let cursor = data["groupPolicyOperations"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("an endCursor")
        .to_owned();
    // The cursor still works as issued.
    app.data(LIST, json!({ "f": file, "first": 2, "after": cursor }))
        .await;

    let (payload, tag) = cursor.split_once('.').expect("payload.tag");
    let json_text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("utf-8");
    let mut doc: Value = serde_json::from_str(&json_text).expect("json");
    // Point the continuation at something Graph must never be sent.
    let evil = json!([["$filter", "1 eq 1"], ["$skiptoken", "../../x"]]);
    doc["p"]["p"] = evil.clone();
    doc["p"]["n"] = evil;
    let edited = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&doc).expect("json"))
    );
    let mut flipped = cursor.clone().into_bytes();
    let middle = flipped.len() / 3;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let truncated = cursor[..cursor.len() - 2].to_owned();

    app.graph().clear_requests();
    for bad in [edited, flipped, truncated, "bm90LWEtY3Vyc29y".to_owned()] {
        let body = app
            .gql(LIST, json!({ "f": file, "first": 2, "after": bad }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert_eq!(app.graph().requests().len(), 0, "{bad} reached Graph");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let elsewhere = format!(
        "{}/beta/deviceManagement/somewhereElse",
        app.graph().origin()
    );
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::empty(302).header("Location", &elsewhere),
        1,
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 302);
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, format!("{ROOT}/{file}"));
}

#[tokio::test]
async fn one_operation_looks_up_at_most_500_operations() {
    // A Graph budget large enough that the lookup cap is what stops the request, and guard
    // caps that would otherwise refuse the document first.
    let mut config = config();
    config.graph.graph_request_budget = 1000;
    lift_query_caps(&mut config);
    // Navigation reads: each lookup is its own $batch sub-request.
    let app = navigation_app_with(config).await;
    let file = guid();
    let aliases: String = (0..510)
        .map(|i| {
            format!(
                "o{i}: groupPolicyOperation(definitionFileId: \"{file}\", id: \"{}\") {{ id }} ",
                guid()
            )
        })
        .collect();
    let body = app.gql(&format!("{{ {aliases} }}"), json!({})).await;
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 10, "{}", errors.len());
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "LIMIT_EXCEEDED")
    );
    let batches = app
        .graph()
        .count(&Match::method("POST").path_contains("$batch"));
    assert_eq!(
        batches, 25,
        "500 keys in batches of 20; the refused ten never reach Graph"
    );
}

#[tokio::test]
async fn a_next_link_outside_the_version_root_is_never_followed() {
    let app = navigation_app().await;
    let file = guid();
    let other = format!(
        "{}/v1.0/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}/groupPolicyOperations?$skiptoken=abc",
        app.graph().origin()
    );
    for link in [
        other.as_str(),
        "https://evil.example/beta/x?$skiptoken=1",
        &format!("{}/beta/../v1.0/x", app.graph().origin()),
        &format!("{}/betamax/x", app.graph().origin()),
        "not a url",
    ] {
        app.graph().clear_requests();
        app.graph().inject(
            Match::method("GET").path_contains("groupPolicyOperations"),
            Canned::json(200, json!({ "value": [], "@odata.nextLink": link })),
            1,
        );
        let body = app.gql(LIST, json!({ "f": file, "first": 3 })).await;
        assert_eq!(code(&body), "UPSTREAM_ERROR", "{link}: {body}");
        assert_eq!(app.graph().requests().len(), 1, "{link} was not fetched");
    }
}
