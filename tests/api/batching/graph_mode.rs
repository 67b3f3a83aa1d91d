//! Graph mode with `--graph-navigation-reads` (each lookup a GET of its own route): lookups
//! become few Graph `$batch` calls, each sub-response judged on its own, throttled keys retried
//! alone, and no batch mixes callers. The default (`$expand` reads) is in `graph/expand.rs`.

use super::*;

#[tokio::test]
async fn many_lookups_become_few_batches_fetching_each_key_once() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 45);
    let mut lookups = aliased(&ids, "id statusDetails");
    // Ten more aliases for keys already asked for, some with other fields.
    for i in 0..10 {
        lookups.push(lookup(
            format!("again{i}"),
            &ids[i * 4],
            "id operationStatus",
        ));
    }
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;

    assert_details(&data, &ids);
    for i in 0..10 {
        let stored = graph.entity(&file, &ids[i * 4]).expect("stored");
        let status = contract_status(stored["operationStatus"].as_str().expect("status"));
        assert_eq!(
            data[format!("again{i}")],
            json!({ "id": ids[i * 4], "operationStatus": status }),
            "again{i}"
        );
    }

    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 3, "three $batch calls");
    let mut sizes: Vec<usize> = posts.iter().map(|p| batch_ids(p).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 20, 20]);
    assert_eq!(plain_gets(graph), 0, "no plain GETs");
    assert_eq!(
        graph.requests().iter().filter(|r| !r.in_batch).count(),
        3,
        "nothing but the three $batch POSTs went out"
    );

    let counts = sub_counts(graph);
    assert_eq!(counts.len(), 45);
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "{id} fetched once");
    }
    let carried: Vec<String> = posts.iter().flat_map(batch_ids).collect();
    assert_eq!(carried.len(), 45, "no key in two batches");

    for post in &posts {
        assert_eq!(
            post.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let content_type = post.header("content-type").expect("a Content-Type");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body = post.body.as_ref().expect("body");
        let sub_ids: BTreeSet<String> = body["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| r["id"].as_str().expect("string id").to_lowercase())
            .collect();
        assert_eq!(
            sub_ids.len(),
            batch_ids(post).len(),
            "unique sub-request ids"
        );
    }
    // Every sub-request reads the whole entity, whatever each alias selected.
    for sub in sub_requests(graph) {
        let select = url::form_urlencoded::parse(sub.query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "$select");
        assert_eq!(select, None, "{:?}", sub.query);
    }
}

#[tokio::test]
async fn shuffled_sub_responses_still_map_to_their_keys() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    graph.set_shuffle_batch(true);
    let file = guid();
    for n in [2, 7, 20] {
        graph.clear_requests();
        let ids = insert_many(graph, &file, n);
        let lookups = aliased(&ids, "id operationStatus statusDetails");
        let data = app
            .data(&lookups_query(&lookups), json!({ "f": file }))
            .await;
        for (i, id) in ids.iter().enumerate() {
            let stored = graph.entity(&file, id).expect("stored");
            assert_eq!(
                data[format!("k{i}")],
                json!({
                    "id": id,
                    "operationStatus": contract_status(stored["operationStatus"].as_str().expect("s")),
                    "statusDetails": stored["statusDetails"],
                }),
                "{n} keys, k{i}"
            );
        }
        assert_eq!(batch_posts(graph).len(), 1, "{n} keys in one batch");
    }
}

#[tokio::test]
async fn found_missing_and_failing_keys_in_one_batch() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    let file = guid();
    let found = graph.insert_op(&file, "upload", "success", Some("here"));
    let also_found = graph.insert_op(&file, "remove", "failed", None);
    let failing = graph.insert_op(&file, "upload", "inProgress", None);
    let missing = guid();
    graph.inject(
        Match::method("GET").path_contains(&failing).in_batch(true),
        Canned::graph_error(403, "Forbidden", "Not for you"),
        1,
    );
    let lookups = [
        lookup("found", &found, "id statusDetails"),
        lookup("missing", &missing, "id statusDetails"),
        lookup("failing", &failing, "id statusDetails"),
        lookup("alsoFound", &also_found, "id operationType"),
    ];
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let data = &body["data"];
    assert_eq!(
        data["found"],
        json!({ "id": found, "statusDetails": "here" })
    );
    assert_eq!(
        data["alsoFound"],
        json!({ "id": also_found, "operationType": "REMOVE" })
    );
    assert_eq!(data["missing"], Value::Null);
    assert_eq!(data["failing"], Value::Null);
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "only the failing key errs: {body}");
    assert_eq!(errors[0]["path"], json!(["failing"]));
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(errors[0]["extensions"]["status"], 403);
    assert_eq!(errors[0]["extensions"]["graphCode"], "Forbidden");
    assert_eq!(errors[0]["message"], "Not for you");
    assert_eq!(batch_posts(graph).len(), 1);
    assert_eq!(plain_gets(graph), 0);
    assert_eq!(sub_counts(graph).values().sum::<usize>(), 4);
}

#[tokio::test]
async fn concurrent_requests_of_different_callers_never_share_a_batch() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    // Keep both requests' batches in flight at the same time.
    graph.set_delay(
        Match::method("POST").path_contains("batch").in_batch(false),
        Duration::from_millis(100),
    );
    let other_token = "second-caller-token-0123456789";
    let file = guid();
    let ids_a = insert_many(graph, &file, 25);
    let ids_b = insert_many(graph, &file, 25);
    let (crid_a, crid_b) = (guid(), guid());
    let request = |token: &str, crid: &str, ids: &[String]| {
        let lookups = aliased(ids, "id statusDetails");
        Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("client-request-id", crid)
            .body(Body::from(
                json!({ "query": lookups_query(&lookups), "variables": { "f": file } }).to_string(),
            ))
            .expect("a request")
    };
    let (a, b) = tokio::join!(
        app.send(request(TOKEN, &crid_a, &ids_a)),
        app.send(request(other_token, &crid_b, &ids_b)),
    );
    for ((status, _, body), ids) in [(a, &ids_a), (b, &ids_b)] {
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("errors").is_none(), "{body}");
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(body["data"][format!("k{i}")]["id"], json!(id));
        }
    }

    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 4, "two batches per caller");
    let mut carried: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for post in &posts {
        let auth = post.header("authorization").expect("authorization");
        let (mine, crid): (&[String], &str) = if auth == format!("Bearer {TOKEN}") {
            (&ids_a, &crid_a)
        } else if auth == format!("Bearer {other_token}") {
            (&ids_b, &crid_b)
        } else {
            panic!("unexpected Authorization {auth}");
        };
        assert_eq!(post.header("client-request-id"), Some(crid));
        let body = post.body.as_ref().expect("body");
        for sub in body["requests"].as_array().expect("requests") {
            assert_eq!(sub["headers"]["client-request-id"], json!(crid));
        }
        for id in batch_ids(post) {
            assert!(
                mine.contains(&id),
                "a batch with {auth:.20}… carried another caller's key {id}"
            );
            carried.entry(auth.to_owned()).or_default().insert(id);
        }
    }
    let expect = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(carried[&format!("Bearer {TOKEN}")], expect(&ids_a));
    assert_eq!(carried[&format!("Bearer {other_token}")], expect(&ids_b));
}

#[tokio::test]
async fn a_single_lookup_is_a_plain_get() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    let file = guid();
    let id = graph.insert_op(&file, "upload", "success", Some("one"));
    let data = app.data(GET, json!({ "f": file, "id": id })).await;
    assert_eq!(data["groupPolicyOperation"]["statusDetails"], "one");
    assert_eq!(batch_posts(graph).len(), 0);
    assert_eq!(plain_gets(graph), 1);

    // The same key under three aliases is still one plain GET.
    graph.clear_requests();
    let lookups = [
        lookup("a", &id, "id"),
        lookup("b", &id, "statusDetails"),
        lookup("c", &id, "operationStatus lastModifiedDateTime"),
    ];
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert_eq!(data["a"]["id"], json!(id));
    assert_eq!(data["b"]["statusDetails"], "one");
    assert_eq!(data["c"]["operationStatus"], "SUCCESS");
    assert_eq!(batch_posts(graph).len(), 0);
    assert_eq!(graph.requests().len(), 1);
    assert_eq!(plain_gets(graph), 1);
}
