//! Graph's error answers as the client sees them: each status becomes its contract code with
//! Graph's own details (`status`, `graphCode`, `requestId`, `clientRequestId`), and one
//! field's error leaves its siblings resolved.

use super::*;

#[tokio::test]
async fn status_401_is_unauthenticated() {
    assert_mapped(
        Call::Get,
        401,
        "InvalidAuthenticationToken",
        "UNAUTHENTICATED",
    )
    .await;
    assert_mapped(
        Call::Update,
        401,
        "InvalidAuthenticationToken",
        "UNAUTHENTICATED",
    )
    .await;
}

#[tokio::test]
async fn status_403_is_forbidden() {
    assert_mapped(Call::Get, 403, "Forbidden", "FORBIDDEN").await;
    assert_mapped(Call::Delete, 403, "Forbidden", "FORBIDDEN").await;
}

#[tokio::test]
async fn a_read_only_token_gets_forbidden_on_writes() {
    let mut app = graph_app().await;
    app.token = Some("read-only".into());
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let body = app
        .gql(
            UPDATE,
            json!({ "f": file, "id": id, "input": { "operationStatus": "SUCCESS" } }),
        )
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN", "{body}");
    // Intune's nested JSON message is unwrapped to its human text.
    let message = error["message"].as_str().expect("message");
    assert!(
        message.starts_with("Application is not authorized"),
        "{message}"
    );
    assert!(!message.contains("_version"), "{message}");
}

#[tokio::test]
async fn status_404_on_read_is_null_without_error() {
    let app = graph_app().await;
    let (body, _, _) = answer_with(
        &app,
        Call::Get,
        Canned::graph_error(404, "ResourceNotFound", "Resource not found."),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    // And a real miss from the fake.
    let body = app.gql(GET, json!({ "f": guid(), "id": guid() })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    assert_eq!(app.graph().count(&Match::method("GET")), 2);
}

#[tokio::test]
async fn status_404_on_update_and_delete_is_not_found() {
    assert_mapped(Call::Update, 404, "ResourceNotFound", "NOT_FOUND").await;
    assert_mapped(Call::Delete, 404, "ResourceNotFound", "NOT_FOUND").await;
}

#[tokio::test]
async fn status_400_is_bad_user_input_only_for_a_body_the_user_shaped() {
    // A lookup's URL is the gateway's own (checked GUIDs, its query options): not the user's.
    assert_mapped(Call::Get, 400, "BadRequest", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Delete, 400, "BadRequest", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Update, 400, "BadRequest", "BAD_USER_INPUT").await;
}

#[tokio::test]
async fn status_409_and_412_are_conflict() {
    assert_mapped(Call::Update, 409, "Conflict", "CONFLICT").await;
    assert_mapped(Call::Update, 412, "PreconditionFailed", "CONFLICT").await;
    assert_mapped(Call::Delete, 409, "Conflict", "CONFLICT").await;
}

#[tokio::test]
async fn status_500_and_502_are_upstream_error() {
    assert_mapped(Call::Get, 500, "InternalServerError", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Get, 502, "BadGateway", "UPSTREAM_ERROR").await;
    assert_mapped(Call::Update, 500, "InternalServerError", "UPSTREAM_ERROR").await;
}

#[tokio::test]
async fn status_429_after_retries_is_throttled_with_retry_after() {
    let app = graph_app().await;
    let (file, id) = failing_reads(&app, None, Canned::throttled("0.2"), 10);
    let client_request_id = guid();
    let (_, body) = post_with(
        &app,
        &[("client-request-id", &client_request_id)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "THROTTLED", "{body}");
    assert_eq!(ext(error, "status"), 429);
    assert_eq!(ext(error, "graphCode"), "TooManyRequests");
    assert_eq!(ext(error, "retryAfter"), 1, "seconds, rounded up: {body}");
    assert_eq!(ext(error, "clientRequestId"), &json!(client_request_id));
    assert!(ext(error, "requestId").as_str().is_some_and(is_guid));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Too many requests")),
        "{body}"
    );
    // One try and three retries.
    assert_eq!(app.graph().count(&Match::method("GET")), 4);
}

#[tokio::test]
async fn an_unreadable_body_on_200_is_upstream_error() {
    let app = graph_app().await;
    let (body, client_request_id, _) = answer_with(
        &app,
        Call::Get,
        Canned::raw(
            200,
            "{\"id\":\"0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01\",\"opera",
        ),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert_eq!(ext(error, "status"), 200);
    assert_eq!(ext(error, "clientRequestId"), &json!(client_request_id));
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
}

#[tokio::test]
async fn a_slow_upstream_beyond_graph_timeout_is_upstream_timeout() {
    let app = graph_app_with_timeout(0.5).await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    app.graph()
        .set_delay(Match::method("GET"), Duration::from_millis(2500));
    let started = Instant::now();
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    let elapsed = started.elapsed();
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_TIMEOUT", "{body}");
    assert!(ext(error, "clientRequestId").as_str().is_some_and(is_guid));
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(2000),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn intune_nested_error_messages_become_their_human_text() {
    let app = graph_app().await;
    let human = "Application is not authorized to perform this operation";
    let (body, _, _) = answer_with(
        &app,
        Call::Update,
        Canned::intune_error(403, "Forbidden", human),
    )
    .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN");
    assert_eq!(ext(error, "graphCode"), "Forbidden");
    let message = error["message"].as_str().expect("a message");
    assert!(message.starts_with(human), "{message}");
    assert!(
        !message.contains("_version") && !message.starts_with('{'),
        "{message}"
    );
    // A plain message stays as it is.
    let (body, _, _) = answer_with(
        &app,
        Call::Get,
        Canned::graph_error(400, "BadRequest", "Invalid filter clause"),
    )
    .await;
    assert_eq!(only_error(&body)["message"], "Invalid filter clause");
}

#[tokio::test]
async fn a_graph_error_on_one_file_leaves_the_fields_of_other_files_resolved() {
    let app = graph_app().await;
    let (file, other_file) = (guid(), guid());
    let failing = app.graph().insert_op(&file, "upload", "inProgress", None);
    let other = app
        .graph()
        .insert_op(&other_file, "remove", "success", Some("ok"));
    let query = "query($f: ID!, $g: ID!, $a: ID!, $b: ID!) {
      broken: groupPolicyOperation(definitionFileId: $f, id: $a) { id }
      list: groupPolicyOperations(definitionFileId: $g) { nodes { id statusDetails } }
      fine: groupPolicyOperation(definitionFileId: $g, id: $b) { id statusDetails }
    }";
    // The two files are read in one $batch; the failure hits that file's sub-request only.
    app.graph().inject(
        Match::method("GET").path_contains(&file).in_batch(true),
        Canned::graph_error(403, "Forbidden", "Nope"),
        1,
    );
    let body = app
        .gql(
            query,
            json!({ "f": file, "g": other_file, "a": failing, "b": other }),
        )
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN", "{body}");
    assert_eq!(error["path"], json!(["broken"]));
    assert_eq!(body["data"]["broken"], Value::Null);
    assert_eq!(
        body["data"]["fine"],
        json!({ "id": other, "statusDetails": "ok" })
    );
    assert_eq!(
        body["data"]["list"]["nodes"],
        json!([{ "id": other, "statusDetails": "ok" }])
    );
    assert_eq!(plain_requests(app.graph()).len(), 1, "one $batch in all");
}

#[tokio::test]
async fn a_graph_error_on_one_field_leaves_siblings_resolved_with_navigation_reads() {
    let app = navigation_app().await;
    let file = guid();
    let failing = app.graph().insert_op(&file, "upload", "inProgress", None);
    let other = app
        .graph()
        .insert_op(&file, "remove", "success", Some("ok"));
    let query = "query($f: ID!, $a: ID!, $b: ID!) {
      broken: groupPolicyOperation(definitionFileId: $f, id: $a) { id }
      list: groupPolicyOperations(definitionFileId: $f) { nodes { id statusDetails } }
      fine: groupPolicyOperation(definitionFileId: $f, id: $b) { id statusDetails }
    }";
    // The two lookups go out as one $batch; the failure hits that key's sub-request only.
    app.graph().inject(
        Match::method("GET").path_contains(&failing),
        Canned::graph_error(403, "Forbidden", "Nope"),
        1,
    );
    let body = app
        .gql(query, json!({ "f": file, "a": failing, "b": other }))
        .await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "FORBIDDEN", "{body}");
    assert_eq!(error["path"], json!(["broken"]));
    assert_eq!(
        body["data"]["fine"],
        json!({ "id": other, "statusDetails": "ok" })
    );
    assert_eq!(
        body["data"]["list"]["nodes"],
        json!([{ "id": failing, "statusDetails": null }, { "id": other, "statusDetails": "ok" }])
    );
}
