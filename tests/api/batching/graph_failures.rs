//! Graph mode with `--graph-navigation-reads`, when Graph fails part of a `$batch`: a throttled sub-request alone is retried,
//! a slow `$batch` times out only its own keys, and a `$batch` answered 400 fails only the keys
//! it carried.

use super::*;

#[tokio::test]
async fn a_throttled_sub_request_alone_is_retried_in_a_later_batch() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 5);
    let throttled = ids[2].clone();
    graph.inject(
        Match::method("GET")
            .path_contains(&throttled)
            .in_batch(true),
        Canned::throttled("0.3"),
        1,
    );
    let lookups = aliased(&ids, "id statusDetails");
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let elapsed = started.elapsed();
    assert!(body.get("errors").is_none(), "{body}");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            body["data"][format!("k{i}")],
            json!({ "id": id, "statusDetails": format!("details {i}") })
        );
    }
    let counts = sub_counts(graph);
    for id in &ids {
        let expected = if *id == throttled { 2 } else { 1 };
        assert_eq!(counts.get(id), Some(&expected), "{id}");
    }
    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 2, "a second $batch for the throttled key");
    assert_eq!(batch_ids(&posts[0]).len(), 5);
    assert_eq!(batch_ids(&posts[1]), vec![throttled.clone()]);
    assert_eq!(posts[0].header("retry-attempt"), None);
    assert_eq!(
        posts[1].header("retry-attempt"),
        Some("1"),
        "the retry says so"
    );
    // The retry came after the first batch's sub-requests, in the second batch.
    let order: Vec<String> = graph
        .requests()
        .iter()
        .map(|r| {
            if is_batch_post(r) {
                "batch".to_owned()
            } else {
                addressed_id(r)
            }
        })
        .collect();
    assert_eq!(order.len(), 8, "{order:?}");
    assert_eq!(order[6], "batch");
    assert_eq!(order[7], throttled);
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert_eq!(plain_gets(graph), 0);
}

#[tokio::test]
async fn a_sub_request_throttled_beyond_the_budget_is_throttled_alone() {
    let mut config = config();
    config.graph.graph_timeout = Duration::from_secs(1);
    let app = crate::graph::navigation_app_with(config).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 3);
    graph.inject(
        Match::method("GET").path_contains(&ids[1]).in_batch(true),
        Canned::throttled("30"),
        10,
    );
    let lookups = aliased(&ids, "id");
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert!(started.elapsed() < Duration::from_millis(900));
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["path"], json!(["k1"]));
    assert_eq!(errors[0]["extensions"]["code"], "THROTTLED");
    assert_eq!(errors[0]["extensions"]["retryAfter"], 30);
    assert_eq!(body["data"]["k0"]["id"], json!(ids[0]));
    assert_eq!(body["data"]["k2"]["id"], json!(ids[2]));
    assert_eq!(batch_posts(graph).len(), 1, "no hopeless retry");
}

#[tokio::test]
async fn a_slow_batch_is_upstream_timeout_for_its_keys() {
    let mut config = config();
    config.graph.graph_timeout = Duration::from_millis(500);
    let app = crate::graph::navigation_app_with(config).await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 2);
    graph.set_delay(
        Match::method("POST").path_contains("batch").in_batch(false),
        Duration::from_millis(2500),
    );
    let lookups = [lookup("a", &ids[0], "id"), lookup("b", &ids[1], "id")];
    let started = Instant::now();
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    let errors = errors(&body);
    assert_eq!(errors.len(), 2, "{body}");
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "UPSTREAM_TIMEOUT", "{error}");
    }
    let paths: BTreeSet<String> = errors
        .iter()
        .map(|e| e["path"][0].as_str().expect("path").to_owned())
        .collect();
    assert_eq!(paths, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
}

#[tokio::test]
async fn a_batch_answered_400_fails_only_the_keys_it_carried() {
    let app = crate::graph::navigation_app().await;
    let graph = app.graph();
    let file = guid();
    let ids = insert_many(graph, &file, 25);
    graph.inject(
        Match::method("POST").path_contains("batch").in_batch(false),
        Canned::graph_error(
            400,
            "BadRequest",
            "Invalid batch payload format. Request Id '1' is not unique.",
        ),
        1,
    );
    let lookups = aliased(&ids, "id statusDetails");
    let body = app
        .gql(&lookups_query(&lookups), json!({ "f": file }))
        .await;

    // Batches go out in parallel: find the one that got the 400 (its sub-requests were
    // never unpacked).
    let posts = batch_posts(graph);
    assert_eq!(posts.len(), 2, "no retry of a 400");
    let unpacked: BTreeSet<String> = sub_requests(graph).iter().map(addressed_id).collect();
    let (failed, served): (Vec<&Recorded>, Vec<&Recorded>) = posts
        .iter()
        .partition(|p| batch_ids(p).iter().all(|id| !unpacked.contains(id)));
    assert_eq!(failed.len(), 1, "exactly one batch got the 400");
    assert_eq!(served.len(), 1);
    let failed_ids: BTreeSet<String> = batch_ids(failed[0]).into_iter().collect();
    assert!(
        failed_ids.len() == 20 || failed_ids.len() == 5,
        "{}",
        failed_ids.len()
    );
    assert_eq!(unpacked.len(), 25 - failed_ids.len());

    let errors = errors(&body);
    assert_eq!(errors.len(), failed_ids.len(), "{body}");
    let mut failed_aliases = BTreeSet::new();
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
        assert_eq!(error["extensions"]["status"], 400);
        let alias = error["path"][0].as_str().expect("a path").to_owned();
        assert_eq!(error["path"].as_array().map(Vec::len), Some(1));
        failed_aliases.insert(alias);
    }
    for (i, id) in ids.iter().enumerate() {
        let alias = format!("k{i}");
        if failed_ids.contains(id) {
            assert!(
                failed_aliases.contains(&alias),
                "{alias} should have failed"
            );
            assert_eq!(body["data"][&alias], Value::Null);
        } else {
            assert!(!failed_aliases.contains(&alias), "{alias} should not fail");
            assert_eq!(
                body["data"][&alias],
                json!({ "id": id, "statusDetails": format!("details {i}") })
            );
        }
    }
}
