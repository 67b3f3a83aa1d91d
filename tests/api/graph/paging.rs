//! Lists over Graph's pages with `--graph-navigation-reads`: `first` becomes `$top`, upstream
//! pages are followed in order, and empty upstream pages never leave the client without a
//! cursor. (By default a file's operations come from one `$expand` read: see `expand.rs`.)

use super::*;

#[tokio::test]
async fn paging_follows_several_upstream_pages_in_order() {
    let app = navigation_app().await;
    app.graph().set_page_size(2);
    let file = guid();
    let expected: Vec<String> = (0..7)
        .map(|i| {
            app.graph()
                .insert_op(&file, "upload", "success", Some(&format!("op {i}")))
        })
        .collect();
    let (ids, pages) = list_all(&app, &file, 3).await;
    assert_eq!(ids, expected);
    assert_eq!(pages, 3);
    let lists: Vec<Recorded> = app
        .graph()
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // 7 items at 2 per upstream page: at least 4 upstream pages were read.
    assert!(lists.len() >= 4, "{}", lists.len());
    // `first` becomes `$top` on the first upstream call.
    assert_eq!(query_param(&lists[0], "$top").as_deref(), Some("3"));
    assert_eq!(query_param(&lists[0], "$skiptoken"), None);
    for r in &lists {
        assert_eq!(r.path, collection_path(&file));
        let top: usize = query_param(r, "$top")
            .expect("$top on every page")
            .parse()
            .expect("a number");
        assert!((1..=3).contains(&top), "{top}");
    }
    assert!(
        lists
            .iter()
            .skip(1)
            .all(|r| query_param(r, "$skiptoken").is_some())
    );
}

#[tokio::test]
async fn paging_past_a_leading_empty_page_still_yields_the_first_items() {
    let app = navigation_app().await;
    app.graph().set_leading_empty_page(true);
    let file = guid();
    let expected: Vec<String> = (0..4)
        .map(|_| app.graph().insert_op(&file, "upload", "success", None))
        .collect();
    let data = app.data(LIST, json!({ "f": file, "first": 3 })).await;
    let conn = &data["groupPolicyOperations"];
    let ids: Vec<&str> = conn["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        expected[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let (all, _) = list_all(&app, &file, 3).await;
    assert_eq!(all, expected);
}

/// GRAPH.md: "a page may be empty and still have a next link". However many empty pages
/// Graph serves in a row, a page that says `hasNextPage: true` must give the client an
/// `endCursor` to continue from; otherwise the client cannot go on (and re-asking without
/// `after` starts over).
#[tokio::test]
async fn a_long_run_of_empty_upstream_pages_never_leaves_the_client_without_a_cursor() {
    let app = navigation_app().await;
    let file = guid();
    let id = app.graph().insert_op(&file, "upload", "success", None);
    // Eleven empty pages in a row, each linking on (back to the collection's start, so the
    // fake serves the real first page once they are used up).
    let next = format!("{}?$top=3", app.graph().collection_url(&file));
    app.graph().inject(
        Match::method("GET").path_contains("groupPolicyOperations"),
        Canned::json(200, json!({ "value": [], "@odata.nextLink": next })),
        11,
    );
    let body = app.gql(LIST, json!({ "f": file, "first": 3 })).await;
    let conn = &body["data"]["groupPolicyOperations"];
    if body.get("errors").is_none() && conn["pageInfo"]["hasNextPage"] == true {
        assert!(
            conn["pageInfo"]["endCursor"].is_string(),
            "hasNextPage without an endCursor: the client cannot continue: {body}"
        );
    }
    if body.get("errors").is_none() && conn["pageInfo"]["hasNextPage"] == false {
        assert_eq!(conn["nodes"], json!([{ "id": id }]), "{body}");
    }
}

#[tokio::test]
async fn first_becomes_top() {
    let app = navigation_app().await;
    let file = guid();
    for _ in 0..3 {
        app.graph().insert_op(&file, "upload", "success", None);
    }
    for first in [1, 2, 25, 100] {
        app.graph().clear_requests();
        let data = app.data(LIST, json!({ "f": file, "first": first })).await;
        let got = data["groupPolicyOperations"]["nodes"]
            .as_array()
            .expect("nodes")
            .len();
        assert_eq!(got, first.min(3));
        let requests = plain_requests(app.graph());
        assert_eq!(
            query_param(&requests[0], "$top"),
            Some(first.to_string()),
            "first: {first}"
        );
    }
    // Omitted `first` is 25.
    app.graph().clear_requests();
    app.data(LIST, json!({ "f": file })).await;
    assert_eq!(
        query_param(&plain_requests(app.graph())[0], "$top").as_deref(),
        Some("25")
    );
}

/// Cursors are signed only for the fields selected; whichever field a client reads, the same
/// edge gives the same cursor, and any edge's cursor resumes right after that edge.
#[tokio::test]
async fn any_edge_cursor_made_on_demand_resumes_after_its_edge() {
    const EDGES: &str = "query($f: ID!, $first: Int, $after: String) { \
        groupPolicyOperations(definitionFileId: $f, first: $first, after: $after) { \
        edges { cursor node { id } } pageInfo { startCursor endCursor hasNextPage } } }";
    let app = navigation_app().await;
    app.graph().set_page_size(2);
    let file = guid();
    let expected: Vec<String> = (0..5)
        .map(|_| app.graph().insert_op(&file, "upload", "success", None))
        .collect();
    let data = app.data(EDGES, json!({ "f": file, "first": 3 })).await;
    let conn = &data["groupPolicyOperations"];
    let edges = conn["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 3);
    assert_eq!(conn["pageInfo"]["startCursor"], edges[0]["cursor"]);
    assert_eq!(conn["pageInfo"]["endCursor"], edges[2]["cursor"]);
    let middle = edges[1]["cursor"].as_str().expect("cursor");
    let rest = app
        .data(EDGES, json!({ "f": file, "first": 10, "after": middle }))
        .await;
    let ids: Vec<&str> = rest["groupPolicyOperations"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        expected[2..].iter().map(String::as_str).collect::<Vec<_>>()
    );
}
