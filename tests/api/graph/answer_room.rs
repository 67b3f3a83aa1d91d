//! `--graph-answer-bytes-in-flight`: the bytes of Graph answers being read at once, all
//! requests together. An answer larger than the whole budget is refused unread with
//! `LIMIT_EXCEEDED` naming the flag; answers that fit wait for room and all arrive, and the room
//! comes back after each (the in-process semantics are `answer_room`'s unit tests).

use super::*;

/// The size of the answer Graph gives for `file`'s expanded read.
async fn expanded_size(app: &TestApp, file: &str) -> usize {
    reqwest::Client::new()
        .get(format!(
            "{}/deviceManagement/groupPolicyUploadedDefinitionFiles/{file}?$expand=groupPolicyOperations",
            app.graph().base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("an answer")
        .bytes()
        .await
        .expect("a body")
        .len()
}

fn file_with_operations(app: &TestApp, count: usize) -> (String, String) {
    let file = guid();
    let ids: Vec<String> = (0..count)
        .map(|i| {
            app.graph().insert_op(
                &file,
                "upload",
                "success",
                Some(&format!(
                    "operation number {i} of a file that fills the budget"
                )),
            )
        })
        .collect();
    (file, ids[0].clone())
}

#[tokio::test]
async fn an_answer_larger_than_the_whole_budget_is_limit_exceeded_and_leaves_room_for_others() {
    let mut config = config();
    config.graph.graph_answer_bytes_in_flight = 4096;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let (big, id) = file_with_operations(&app, 40);
    assert!(expanded_size(&app, &big).await > 4096);
    let body = app.gql(GET, json!({ "f": big, "id": id })).await;
    let error = only_error(&body);
    assert_eq!(ext(error, "code"), "LIMIT_EXCEEDED", "{body}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("--graph-answer-bytes-in-flight")),
        "{body}"
    );
    // The refused answer took no room: a small one is read at once, twice.
    let (small, id) = file_with_operations(&app, 2);
    for _ in 0..2 {
        let data = app.data(GET, json!({ "f": small, "id": id })).await;
        assert_eq!(data["groupPolicyOperation"]["id"], id);
    }
}

#[tokio::test]
async fn concurrent_answers_over_the_budget_wait_for_room_and_all_arrive() {
    let app = graph_app().await;
    let (file, _) = file_with_operations(&app, 20);
    let size = expanded_size(&app, &file).await;
    let budget = size + size / 2;
    let mut config = config();
    config.graph.graph_answer_bytes_in_flight = budget;
    let app = TestApp::with_config(Mode::Graph, config).await;
    let (file, id) = file_with_operations(&app, 20);
    let here = expanded_size(&app, &file).await;
    assert!(
        here <= budget && 2 * here > budget,
        "room for one answer at a time, not two"
    );
    let expand_reads = || {
        app.graph()
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && query_param(r, "$expand").is_some())
            .count()
    };
    let before = expand_reads();
    let lookups = (0..16).map(|_| app.gql(GET, json!({ "f": file, "id": id })));
    for body in futures_util::future::join_all(lookups).await {
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["groupPolicyOperation"]["id"], id);
    }
    assert_eq!(
        expand_reads() - before,
        16,
        "each request read the file once"
    );
}
