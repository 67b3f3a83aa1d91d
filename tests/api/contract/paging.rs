//! Paging through the contract's connection, run once per backend: every operation once,
//! whatever is created or deleted between pages.

use serde_json::{Value, json};

use crate::support::helpers::*;

on_both_backends!(
    paging_across_pages_yields_every_operation_once,
    paging_while_others_are_created_skips_and_repeats_nothing,
    resuming_from_a_middle_edge_after_an_earlier_deletion_skips_nothing,
);

async fn paging_across_pages_yields_every_operation_once(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let mut created = Vec::new();
    for i in 0..23 {
        created.push(
            app.create(&file, "UPLOAD", "SUCCESS", Some(&format!("#{i}")))
                .await,
        );
    }
    let (ids, pages) = list_all(&app, &file, 5).await;
    assert_eq!(pages, 5);
    assert_eq!(ids, created, "every operation once, in creation order");
    let first = app.data(LIST, json!({ "f": file, "first": 5 })).await;
    let info = &first["groupPolicyOperations"]["pageInfo"];
    assert_eq!(info["hasPreviousPage"], false);
    assert_eq!(
        info["startCursor"],
        first["groupPolicyOperations"]["edges"][0]["cursor"]
    );
    // Resuming from a middle edge's cursor continues right after that edge.
    let middle = first["groupPolicyOperations"]["edges"][2]["cursor"].clone();
    let rest = app
        .data(LIST, json!({ "f": file, "first": 4, "after": middle }))
        .await;
    assert_eq!(node_ids(&rest), created[3..7]);
    assert_eq!(
        rest["groupPolicyOperations"]["pageInfo"]["hasPreviousPage"],
        true
    );
}

async fn paging_while_others_are_created_skips_and_repeats_nothing(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let mut before = Vec::new();
    for _ in 0..12 {
        before.push(app.create(&file, "UPLOAD", "SUCCESS", None).await);
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut added = Vec::new();
    loop {
        let data = app
            .data(LIST, json!({ "f": file, "first": 4, "after": after }))
            .await;
        let conn = &data["groupPolicyOperations"];
        for node in conn["nodes"].as_array().expect("nodes") {
            seen.push(node["id"].as_str().expect("id").to_owned());
        }
        // Someone else creates an operation between our page requests.
        if added.len() < 3 {
            added.push(app.create(&file, "REMOVE", "IN_PROGRESS", None).await);
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no operation twice");
    for id in &before {
        assert!(seen.contains(id), "{id} was skipped");
    }
}

async fn resuming_from_a_middle_edge_after_an_earlier_deletion_skips_nothing(mode: Mode) {
    let app = TestApp::new(mode).await;
    let file = app.new_file().await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(app.create(&file, "UPLOAD", "SUCCESS", None).await);
    }
    let page = app.data(LIST, json!({ "f": file, "first": 4 })).await;
    let middle = page["groupPolicyOperations"]["edges"][1]["cursor"].clone();
    assert_eq!(
        page["groupPolicyOperations"]["edges"][1]["node"]["id"],
        json!(ids[1])
    );
    // The operation before the cursor's edge goes away, shifting the page.
    app.data(DELETE, json!({ "f": file, "id": ids[0] })).await;
    let rest = app
        .data(LIST, json!({ "f": file, "first": 10, "after": middle }))
        .await;
    assert_eq!(node_ids(&rest), ids[2..]);
}
