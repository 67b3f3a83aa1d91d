//! Mutations on the wire: the bodies Graph expects for create and update, and the success
//! statuses Graph may answer with (201 or 200 for create, 200 with a body or 204 for update),
//! and uploads answered without a body read back, never posted twice.

use super::*;

#[tokio::test]
async fn create_posts_exactly_the_body_graph_expects() {
    let app = graph_app().await;
    let file = app.new_file().await;
    let details = "Téléversement de chrome.admx …";
    let created = app.create_op(&file, json!({ "operationType": "UPLOAD_NEW_VERSION", "operationStatus": "IN_PROGRESS", "statusDetails": details })).await;
    assert_eq!(created["operationType"], "UPLOAD_NEW_VERSION");
    assert_eq!(created["statusDetails"], details);
    let posts: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.path, collection_path(&file));
    assert_eq!(post.query, None);
    assert_eq!(
        post.body,
        Some(json!({
            "@odata.type": "#microsoft.graph.groupPolicyOperation",
            "operationType": "uploadNewVersion",
            "operationStatus": "inProgress",
            "statusDetails": details,
        }))
    );
    let content_type = post.header("content-type").expect("a Content-Type");
    assert_eq!(
        content_type.split(';').next().map(str::trim),
        Some("application/json")
    );
    // Stored as sent.
    let stored = app
        .graph()
        .entity(&file, created["id"].as_str().expect("id"))
        .expect("stored");
    assert_eq!(stored["statusDetails"], details);
}

// Long on purpose: successive updates of one operation, each PATCH body checked in turn.
#[tokio::test]
async fn update_patches_only_changed_fields_and_sends_null_to_clear_details() {
    let app = graph_app().await;
    let file = guid();
    let id = app
        .graph()
        .insert_op(&file, "upload", "inProgress", Some("working"));
    let updated = app
        .update(&file, &id, json!({ "operationStatus": "SUCCESS" }))
        .await;
    assert_eq!(updated["operationStatus"], "SUCCESS");
    assert_eq!(updated["statusDetails"], "working");
    let cleared = app
        .update(&file, &id, json!({ "statusDetails": null }))
        .await;
    assert_eq!(cleared["statusDetails"], Value::Null);
    let both = app
        .update(
            &file,
            &id,
            json!({ "operationType": "REMOVE", "statusDetails": "gone" }),
        )
        .await;
    assert_eq!(both["operationType"], "REMOVE");

    let patches: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 3);
    for patch in &patches {
        assert_eq!(patch.path, entity_path(&file, &id));
        assert_eq!(patch.query, None);
        let content_type = patch.header("content-type").expect("a Content-Type");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
    }
    let odata = "#microsoft.graph.groupPolicyOperation";
    assert_eq!(
        patches[0].body,
        Some(json!({ "@odata.type": odata, "operationStatus": "success" }))
    );
    assert_eq!(
        patches[1].body,
        Some(json!({ "@odata.type": odata, "statusDetails": null }))
    );
    let text = patches[1].body_text.as_deref().expect("a body");
    assert!(
        text.replace(' ', "").contains("\"statusDetails\":null"),
        "{text}"
    );
    assert_eq!(
        patches[2].body,
        Some(json!({ "@odata.type": odata, "operationType": "remove", "statusDetails": "gone" }))
    );
    let stored = app.graph().entity(&file, &id).expect("stored");
    assert_eq!(stored["operationStatus"], "success");
    assert_eq!(stored["operationType"], "remove");
}

#[tokio::test]
async fn create_accepts_201_and_200() {
    for status in [201, 200] {
        let app = graph_app().await;
        app.graph().set_create_status(status);
        let file = app.new_file().await;
        let created = app.create_op(&file, json!({ "operationType": "UPLOAD", "operationStatus": "IN_PROGRESS", "statusDetails": "s" })).await;
        let id = created["id"].as_str().expect("id");
        assert!(is_guid(id), "{status}: {created}");
        assert_eq!(created["definitionFileId"], json!(file));
        assert_eq!(created["operationStatus"], "IN_PROGRESS");
        assert!(app.graph().entity(&file, id).is_some());
        assert_eq!(app.graph().count(&Match::method("POST")), 1);
    }
}

/// Updates an operation in progress with `input` on a Graph that answers PATCH with 204
/// (`no_content`) or with the entity; checks that the answer carries the stored timestamp and
/// returns the app, the file, the operation and the answer.
async fn patched(no_content: bool, input: Value) -> (TestApp, String, String, Value) {
    let app = graph_app().await;
    app.graph().set_patch_no_content(no_content);
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "inProgress", None);
    let updated = app.update(&file, &id, input).await;
    let stored = app.graph().entity(&file, &id).expect("stored");
    assert_eq!(
        updated["lastModifiedDateTime"],
        stored["lastModifiedDateTime"]
    );
    (app, file, id, updated)
}

#[tokio::test]
async fn patch_answered_200_with_a_body_is_used_without_a_reread() {
    let (app, _, _, updated) = patched(
        false,
        json!({ "operationStatus": "FAILED", "statusDetails": "bad ADMX" }),
    )
    .await;
    assert_eq!(updated["operationStatus"], "FAILED");
    assert_eq!(updated["statusDetails"], "bad ADMX");
    let methods: Vec<String> = app
        .graph()
        .requests()
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, ["PATCH"]);
}

#[tokio::test]
async fn patch_answered_204_is_followed_by_a_get_of_the_new_state() {
    let (app, file, id, updated) = patched(
        true,
        json!({ "operationStatus": "SUCCESS", "statusDetails": "412 policies" }),
    )
    .await;
    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["operationType"], "UPLOAD");
    assert_eq!(updated["operationStatus"], "SUCCESS");
    assert_eq!(updated["statusDetails"], "412 policies");
    let requests = app.graph().requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["PATCH", "GET"], "{requests:?}");
    // The new state comes from the file's `$expand` read, as real tools poll it.
    assert_eq!(requests[1].path, format!("{ROOT}/{file}"));
    assert_eq!(
        query_param(&requests[1], "$expand").as_deref(),
        Some("groupPolicyOperations")
    );
}

#[tokio::test]
async fn an_upload_answered_without_a_body_is_read_back_and_never_posted_twice() {
    let app = graph_app().await;
    let upload = "mutation($input: UploadGroupPolicyDefinitionFileInput!) {
      uploadGroupPolicyDefinitionFile(input: $input) { id fileName } }";
    let input = crate::support::files::contoso_input();
    // 202 with a Location: the file it names.
    let located = app.new_file().await;
    app.graph().inject(
        Match::method("POST"),
        Canned::empty(202).header(
            "Location",
            &format!(
                "{}/deviceManagement/groupPolicyUploadedDefinitionFiles('{located}')",
                app.graph().base_url()
            ),
        ),
        1,
    );
    let data = app.data(upload, json!({ "input": input })).await;
    assert_eq!(
        data["uploadGroupPolicyDefinitionFile"]["id"],
        json!(located)
    );
    // 204 without one: the last file of that name.
    let named = guid();
    let mut entity = app.graph().file(&located).expect("a file");
    entity["id"] = json!(named);
    entity["fileName"] = input["fileName"].clone();
    app.graph().put_file(entity);
    app.graph()
        .inject(Match::method("POST"), Canned::empty(204), 1);
    let data = app.data(upload, json!({ "input": input })).await;
    assert_eq!(data["uploadGroupPolicyDefinitionFile"]["id"], json!(named));
    // Nothing to find: an error that says the upload went through; one POST each time.
    app.graph().clear_requests();
    let mut other = input.clone();
    other["fileName"] = json!("nowhere.admx");
    app.graph()
        .inject(Match::method("POST"), Canned::empty(204), 1);
    let body = app.gql(upload, json!({ "input": other })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "UPSTREAM_ERROR", "{body}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("was uploaded") && m.contains("do not retry")),
        "{body}"
    );
    assert_eq!(app.graph().count(&Match::method("POST")), 1);
}
