//! What the gateway asks Graph for (`$select` from the client's selection) and how it reads
//! the values back (enum members it does not know, timestamps as Graph wrote them).

use super::*;

#[tokio::test]
async fn unknown_enum_members_from_graph_are_unknown_future_value() {
    let app = graph_app().await;
    let file = guid();
    let id = FakeGraph::new_id();
    app.graph().insert(
        &file,
        json!({ "id": id, "operationType": "uploadSomethingNew", "operationStatus": "paused",
                "statusDetails": null, "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z" }),
    );
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let op = &body["data"]["groupPolicyOperation"];
    assert_eq!(op["operationType"], "UNKNOWN_FUTURE_VALUE");
    assert_eq!(op["operationStatus"], "UNKNOWN_FUTURE_VALUE");
    assert_eq!(op["lastModifiedDateTime"], "2025-09-07T08:32:57.5081686Z");
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { id operationType operationStatus } } }";
    let listed = app.data(query, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id, "operationType": "UNKNOWN_FUTURE_VALUE", "operationStatus": "UNKNOWN_FUTURE_VALUE" }])
    );
}

#[tokio::test]
async fn last_modified_date_time_is_returned_verbatim() {
    let app = graph_app().await;
    let file = guid();
    let stamps = [
        "2016-12-31T23:59:40.8735716+03:00",
        "0001-01-01T00:00:00Z",
        "2025-09-07T08:42:58.653605Z",
    ];
    let mut ids = Vec::new();
    for stamp in stamps {
        let id = FakeGraph::new_id();
        app.graph().insert(
            &file,
            json!({ "@odata.type": "#microsoft.graph.groupPolicyOperation", "id": id,
                    "operationType": "upload", "operationStatus": "success",
                    "statusDetails": "", "lastModifiedDateTime": stamp }),
        );
        ids.push(id);
    }
    for (id, stamp) in ids.iter().zip(stamps) {
        let data = app.data(GET, json!({ "f": file, "id": id })).await;
        assert_eq!(
            data["groupPolicyOperation"]["lastModifiedDateTime"], stamp,
            "{data}"
        );
        assert_eq!(data["groupPolicyOperation"]["statusDetails"], "");
    }
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { lastModifiedDateTime } } }";
    let listed = app.data(query, json!({ "f": file })).await;
    let listed: Vec<&Value> = listed["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| &n["lastModifiedDateTime"])
        .collect();
    assert_eq!(listed, stamps.map(Value::from).iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn lookups_and_lists_read_whole_entities() {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "success", Some("details"));

    // Whatever the selection, Graph is asked for the whole entity (no `$select`), and the
    // client still gets exactly what it selected.
    let query = "query($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id operationStatus } }";
    let data = app.data(query, json!({ "f": file, "id": id })).await;
    assert_eq!(
        data["groupPolicyOperation"],
        json!({ "id": id, "operationStatus": "SUCCESS" })
    );
    let query = "query($f: ID!) { groupPolicyOperations(definitionFileId: $f) { nodes { statusDetails } } }";
    let data = app.data(query, json!({ "f": file })).await;
    assert_eq!(
        data["groupPolicyOperations"]["nodes"],
        json!([{ "statusDetails": "details" }])
    );
    let requests = plain_requests(app.graph());
    assert_eq!(requests.len(), 2, "{requests:?}");
    for request in &requests {
        assert_eq!(query_param(request, "$select"), None, "{request:?}");
    }
}
