//! What the gateway sends Graph with every call (the caller's bearer token, `Accept`,
//! `User-Agent`, a `client-request-id`), and where the token never goes: logs, errors, or
//! Graph when the caller sent none.

use super::*;

#[tokio::test]
async fn forwards_bearer_accept_user_agent_and_the_callers_client_request_id() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mine = guid();
    let (headers, body) = post_with(
        &app,
        &[("client-request-id", &mine)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"]["id"], json!(id));
    assert_eq!(
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(mine.as_str())
    );
    let requests = app.graph().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let sent = &requests[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(sent.header("accept"), Some("application/json"));
    let agent = sent.header("user-agent").expect("a User-Agent");
    assert!(agent.starts_with("gpo-gateway/"), "{agent}");
    assert_eq!(sent.header("client-request-id"), Some(mine.as_str()));
}

#[tokio::test]
async fn a_non_guid_client_request_id_is_replaced_by_a_fresh_guid_the_response_repeats() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mut seen = Vec::new();
    for theirs in ["not-a-guid", "0c9e4b7a1d2f4a6b8e3c5f7a9b1c2d01", ""] {
        let (headers, body) = post_with(
            &app,
            &[("client-request-id", theirs)],
            GET,
            json!({ "f": file, "id": id }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        let answered = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("the response carries client-request-id")
            .to_owned();
        assert!(is_guid(&answered), "{answered}");
        assert_ne!(answered, theirs);
        seen.push(answered);
    }
    // Without any client-request-id at all, too.
    let (headers, _) = post_with(&app, &[], GET, json!({ "f": file, "id": id })).await;
    seen.push(
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("client-request-id")
            .to_owned(),
    );
    let sent: Vec<String> = app
        .graph()
        .requests()
        .iter()
        .map(|r| r.header("client-request-id").expect("sent").to_owned())
        .collect();
    assert_eq!(sent, seen, "upstream got the id the response repeats");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a fresh id per request: {seen:?}");
}

#[tokio::test]
async fn an_upper_case_guid_client_request_id_is_kept() {
    let app = graph_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let mine = guid().to_uppercase();
    let (headers, _) = post_with(
        &app,
        &[("client-request-id", &mine)],
        GET,
        json!({ "f": file, "id": id }),
    )
    .await;
    let answered = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("client-request-id");
    // Kept exactly as sent, so it matches the client's own logs.
    assert_eq!(answered, mine);
    let sent = app.graph().requests();
    assert_eq!(sent[0].header("client-request-id"), Some(mine.as_str()));
}

// Long on purpose: a log capture set up, failing and unauthenticated calls driven, then the
// whole capture searched for the token.
#[tokio::test(flavor = "current_thread")]
async fn the_token_never_appears_in_logs_or_errors() {
    let (logs, _guard) = LogBuffer::capture();

    let app = graph_app().await;
    let file = app.new_file().await;
    let id = app.create(&file, "UPLOAD", "IN_PROGRESS", Some("x")).await;
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::intune_error(403, "Forbidden", "Application is not authorized"),
        1,
    );
    let failed = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&failed), "FORBIDDEN");
    // A Graph error that quotes the Authorization header back must not leak it either.
    app.graph().inject(
        Match::method("GET").path_contains(&file),
        Canned::graph_error(401, "InvalidAuthenticationToken", "Access token is empty."),
        1,
    );
    let unauthenticated = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&unauthenticated), "UNAUTHENTICATED");
    let listed = app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        listed["groupPolicyOperations"]["nodes"],
        json!([{ "id": id }])
    );
    // Lookups in two files: a $batch, whose sub-requests Graph authenticates with the outer
    // token.
    let other_file = app.new_file().await;
    let batched = app
        .data(
            "query($f: ID!, $g: ID!, $id: ID!, $other: ID!) {
               a: groupPolicyOperation(definitionFileId: $f, id: $id) { id }
               b: groupPolicyOperation(definitionFileId: $g, id: $other) { id } }",
            json!({ "f": file, "g": other_file, "id": id, "other": guid() }),
        )
        .await;
    assert_eq!(batched["a"]["id"], json!(id));
    assert!(app.graph().requests().iter().any(|r| r.in_batch));
    // No GraphQL error message or extension carries the token.
    for body in [&failed, &unauthenticated, &listed] {
        assert!(!body.to_string().contains(TOKEN), "{body}");
    }
    // The fake saw the token, so the calls did carry it.
    assert!(
        app.graph()
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );

    let text = logs.text();
    assert!(!text.is_empty(), "TRACE logging captured nothing");
    // The gateway's own events (its Graph calls included) were captured, not only the HTTP stack's.
    assert!(text.contains("gpo_gateway::backend::graph"), "{text}");
    assert!(
        !text.contains(TOKEN),
        "the token leaked into the logs:\n{text}"
    );
    // The JWT's payload half alone must not leak either.
    let half = &TOKEN[TOKEN.len() / 2..];
    assert!(!text.contains(half), "part of the token leaked:\n{text}");
}

#[tokio::test]
async fn a_missing_bearer_token_is_unauthenticated_and_nothing_reaches_graph() {
    let mut app = graph_app().await;
    app.token = None;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    let body = app.gql(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(body["data"]["groupPolicyOperation"], Value::Null);
    let body = app.gql(LIST, json!({ "f": file })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let body = app
        .gql(
            CREATE,
            json!({ "f": file, "input": { "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS" } }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    // A scheme other than Bearer, or an empty token, is no token either.
    for authorization in ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer"] {
        let (_, body) = post_with(
            &app,
            &[("authorization", authorization)],
            GET,
            json!({ "f": file, "id": id }),
        )
        .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{authorization}: {body}");
    }
    assert_eq!(app.graph().requests().len(), 0);
}
