//! The contract's behaviour, run once per backend: the store, and Graph mode over the fake
//! Graph. Each test is written once and instantiated for both.

use serde_json::{Value, json};

use crate::support::helpers::*;

mod paging;

on_both_backends!(
    create_get_list_update_delete_round_trip,
    every_enum_member_round_trips_through_create_and_read,
    a_missing_operation_reads_as_null,
    update_and_delete_of_a_missing_operation_are_not_found,
    update_leaves_absent_fields_and_clears_null_details,
    update_with_an_empty_input_is_bad_user_input,
    unknown_future_value_is_refused_as_input,
    every_id_argument_must_be_a_guid,
    first_outside_1_to_100_is_bad_user_input,
    malformed_tampered_and_foreign_cursors_are_bad_user_input,
);

async fn create_get_list_update_delete_round_trip(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let created = app.create_op(&file, json!({ "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS", "statusDetails": "Importing chrome.admx" })).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(id, id.to_lowercase());
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(created["definitionFileId"], json!(file));
    assert_eq!(created["operationType"], "UPLOAD");
    assert_eq!(created["operationStatus"], "IN_PROGRESS");
    assert_eq!(created["statusDetails"], "Importing chrome.admx");
    let stamped = created["lastModifiedDateTime"].as_str().expect("timestamp");
    assert!(stamped.ends_with('Z') && stamped.contains('.'), "{stamped}");

    let got = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(got["groupPolicyOperation"], created);

    let listed = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id }])
    );
    assert_eq!(
        listed["groupPolicyOperations"]["pageInfo"]["hasNextPage"],
        false
    );

    let updated = app
        .update(
            &file,
            &id,
            json!({ "operationStatus": "SUCCESS", "statusDetails": "412 policies" }),
        )
        .await;
    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["operationType"], "UPLOAD");
    assert_eq!(updated["operationStatus"], "SUCCESS");
    assert_eq!(updated["statusDetails"], "412 policies");
    let reread = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(reread["groupPolicyOperation"], updated);

    let deleted = app.data(DELETE, json!({ "f": file, "id": id })).await;
    assert_eq!(deleted["deleteGroupPolicyOperation"], json!(id));
    let gone = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(gone["groupPolicyOperation"], Value::Null);
    let listed = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(listed["groupPolicyOperations"]["nodes"], json!([]));
}

async fn every_enum_member_round_trips_through_create_and_read(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let types = [
        "NONE",
        "UPLOAD",
        "UPLOAD_NEW_VERSION",
        "ADD_LANGUAGE_FILES",
        "REMOVE_LANGUAGE_FILES",
        "UPDATE_LANGUAGE_FILES",
        "REMOVE",
    ];
    let statuses = ["UNKNOWN", "IN_PROGRESS", "SUCCESS", "FAILED"];
    for (i, op_type) in types.iter().enumerate() {
        let status = statuses[i % statuses.len()];
        let id = app.create(&file, op_type, status, None).await;
        let got = app.data(GET, json!({ "f": file, "id": id })).await;
        assert_eq!(got["groupPolicyOperation"]["operationType"], *op_type);
        assert_eq!(got["groupPolicyOperation"]["operationStatus"], status);
    }
    for status in statuses {
        let id = app.create(&file, "UPLOAD", status, Some("")).await;
        let got = app.data(GET, json!({ "f": file, "id": id })).await;
        assert_eq!(got["groupPolicyOperation"]["operationStatus"], status);
        assert_eq!(got["groupPolicyOperation"]["statusDetails"], "");
    }
}

async fn a_missing_operation_reads_as_null(mode: Mode) {
    let app = TestApp::new(mode).await;
    let body = app.gql(GET, json!({ "f": guid(), "id": guid() })).await;
    assert_eq!(body, json!({ "data": { "groupPolicyOperation": null } }));
}

async fn update_and_delete_of_a_missing_operation_are_not_found(mode: Mode) {
    let app = TestApp::new(mode).await;
    let (file, id) = (guid(), guid());
    let body = app
        .gql(
            UPDATE,
            json!({ "f": file, "id": id, "input": { "operationStatus": "FAILED" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["updateGroupPolicyOperation"])
    );
    let body = app.gql(DELETE, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

async fn update_leaves_absent_fields_and_clears_null_details(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let id = app
        .create(&file, "UPLOAD", "IN_PROGRESS", Some("working"))
        .await;
    let updated = app
        .update(&file, &id, json!({ "operationType": "REMOVE" }))
        .await;
    assert_eq!(updated["operationType"], "REMOVE");
    assert_eq!(updated["operationStatus"], "IN_PROGRESS");
    assert_eq!(updated["statusDetails"], "working");
    let cleared = app
        .update(&file, &id, json!({ "statusDetails": null }))
        .await;
    assert_eq!(cleared["statusDetails"], Value::Null);
    assert_eq!(cleared["operationType"], "REMOVE");
    let reread = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(reread["groupPolicyOperation"]["statusDetails"], Value::Null);
}

async fn update_with_an_empty_input_is_bad_user_input(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    let body = app
        .gql(UPDATE, json!({ "f": file, "id": id, "input": {} }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let still = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(
        still["groupPolicyOperation"]["operationStatus"],
        "IN_PROGRESS"
    );
}

async fn unknown_future_value_is_refused_as_input(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    for input in [
        json!({ "operationType": "UNKNOWN_FUTURE_VALUE", "operationStatus": "SUCCESS" }),
        json!({ "operationType": "UPLOAD", "operationStatus": "UNKNOWN_FUTURE_VALUE" }),
    ] {
        let body = app.gql(CREATE, json!({ "f": file, "input": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", None).await;
    for input in [
        json!({ "operationType": "UNKNOWN_FUTURE_VALUE" }),
        json!({ "operationStatus": "UNKNOWN_FUTURE_VALUE" }),
    ] {
        let body = app
            .gql(UPDATE, json!({ "f": file, "id": id, "input": input }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    let (ids, _) = list_all(&app, &file, 100).await;
    assert_eq!(ids, vec![id.clone()], "nothing else was created");
    let still = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(still["groupPolicyOperation"]["operationType"], "UPLOAD");
}

async fn every_id_argument_must_be_a_guid(mode: Mode) {
    let app = TestApp::new(mode).await;
    let good = guid();
    let cases: Vec<(&str, &str, Value)> = vec![
        (GET, "definitionFileId", json!({ "f": "BAD", "id": good })),
        (GET, "id", json!({ "f": good, "id": "BAD" })),
        (LIST, "definitionFileId", json!({ "f": "BAD" })),
        (
            CREATE,
            "definitionFileId",
            json!({ "f": "BAD", "input": { "operationType": "UPLOAD", "operationStatus": "SUCCESS" } }),
        ),
        (
            UPDATE,
            "definitionFileId",
            json!({ "f": "BAD", "id": good, "input": { "operationStatus": "SUCCESS" } }),
        ),
        (
            UPDATE,
            "id",
            json!({ "f": good, "id": "BAD", "input": { "operationStatus": "SUCCESS" } }),
        ),
        (
            DELETE,
            "definitionFileId",
            json!({ "f": "BAD", "id": good }),
        ),
        (DELETE, "id", json!({ "f": good, "id": "BAD" })),
    ];
    let bad_values = [
        "../x",
        "a/b",
        "x?$filter=1",
        "%2e%2e",
        "",
        &"a".repeat(10 * 1024),
    ];
    if let Some(graph) = &app.graph {
        graph.clear_requests();
    }
    for (query, argument, variables) in &cases {
        for bad in bad_values {
            let text = variables
                .to_string()
                .replace("\"BAD\"", &json!(bad).to_string());
            let variables: Value = serde_json::from_str(&text).expect("json");
            let body = app.gql(query, variables).await;
            assert_eq!(
                code(&body),
                "BAD_USER_INPUT",
                "{argument}={bad:.20}: {body}"
            );
            assert_eq!(
                body["errors"][0]["extensions"]["argument"], *argument,
                "{body}"
            );
        }
    }
    if let Some(graph) = &app.graph {
        assert!(graph.requests().is_empty(), "no invalid id may reach Graph");
    }
}

async fn first_outside_1_to_100_is_bad_user_input(mode: Mode) {
    let app = TestApp::new(mode).await;
    for first in [0, -1, 101, 100_000] {
        let body = app.gql(LIST, json!({ "f": guid(), "first": first })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "first={first}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["argument"], "first");
    }
    let file = app.new_file().await;
    for first in [1, 100] {
        app.data(LIST, json!({ "f": file, "first": first })).await;
    }
}

async fn malformed_tampered_and_foreign_cursors_are_bad_user_input(mode: Mode) {
    let app = TestApp::new(mode).await;
    let (file, other) = (app.new_file().await, app.new_file().await);
    for _ in 0..3 {
        app.create(&file, "UPLOAD", "SUCCESS", None).await;
        app.create(&other, "UPLOAD", "SUCCESS", None).await;
    }
    let page = app.data(LIST, json!({ "f": other, "first": 1 })).await;
    let foreign = page["groupPolicyOperations"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let page = app.data(LIST, json!({ "f": file, "first": 1 })).await;
    let own = page["groupPolicyOperations"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let mut tampered = own.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    if let Some(graph) = &app.graph {
        graph.clear_requests();
    }
    for cursor in [
        foreign.as_str(),
        tampered.as_str(),
        "not-a-cursor",
        "",
        "eyJ9.e30",
    ] {
        let body = app.gql(LIST, json!({ "f": file, "after": cursor })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{cursor}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["argument"], "after");
    }
    if let Some(graph) = &app.graph {
        assert!(
            graph.requests().is_empty(),
            "a refused cursor never reaches Graph"
        );
    }
    let next = app
        .data(LIST, json!({ "f": file, "first": 1, "after": own }))
        .await;
    assert_eq!(
        next["groupPolicyOperations"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
