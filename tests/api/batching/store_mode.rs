//! Store mode: the lookups of one execution step are one store call.

use super::*;

/// A store-mode app over a [`DelegatingBackend`] that records each lookup batch.
fn counting_app(config: gpo_gateway::Config) -> (TestApp, Arc<DelegatingBackend>) {
    let store = Arc::new(DelegatingBackend::over_store());
    let backend: Arc<dyn Backend> = store.clone();
    let built = gpo_gateway::app_with_backend(&config, backend);
    let app = TestApp {
        router: built.router,
        mode: Mode::Store,
        graph: None,
        store: None,
        token: None,
    };
    (app, store)
}

/// `counting_app` with a file of `count` operations in `status`, the i-th with statusDetails
/// "details <i>", and no batch recorded yet; returns the app, its backend, the file and the
/// operations.
async fn counting_file(
    config: gpo_gateway::Config,
    count: usize,
    status: &str,
) -> (TestApp, Arc<DelegatingBackend>, String, Vec<String>) {
    let (app, store) = counting_app(config);
    let file = guid();
    store
        .store
        .insert_file(bare_file(&file))
        .expect("the file is stored");
    let mut ids = Vec::new();
    for i in 0..count {
        let details = format!("details {i}");
        ids.push(app.create(&file, "UPLOAD", status, Some(&details)).await);
    }
    store.reset();
    (app, store, file, ids)
}

#[tokio::test]
async fn lookups_in_aliases_and_nested_lists_of_one_step_are_one_store_call() {
    let mut config = config();
    config.query.federation = true;
    let (app, store, file, ids) = counting_file(config, 45, "SUCCESS").await;
    let representations = |ids: &[String]| -> Value {
        ids.iter()
            .map(|id| json!({ "__typename": "GroupPolicyOperation", "definitionFileId": file, "id": id }))
            .collect()
    };
    // Two entity lists (one over 30 items, one under) and two aliased lookups, with a repeat.
    let query = format!(
        "query($f: ID!, $long: [_Any!]!, $short: [_Any!]!) {{
           long: _entities(representations: $long) {{ ... on GroupPolicyOperation {{ id }} }}
           short: _entities(representations: $short) {{ ... on GroupPolicyOperation {{ statusDetails }} }}
           a: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ id }}
           b: groupPolicyOperation(definitionFileId: $f, id: \"{}\") {{ operationStatus }}
         }}",
        ids[44], ids[0]
    );
    let data = app
        .data(
            &query,
            json!({ "f": file, "long": representations(&ids[..35]), "short": representations(&ids[35..44]) }),
        )
        .await;
    for (i, id) in ids[..35].iter().enumerate() {
        assert_eq!(data["long"][i]["id"], json!(id));
    }
    for (i, _) in ids[35..44].iter().enumerate() {
        assert_eq!(
            data["short"][i]["statusDetails"],
            json!(format!("details {}", 35 + i))
        );
    }
    assert_eq!(data["a"]["id"], json!(ids[44]));
    assert_eq!(data["b"]["operationStatus"], "SUCCESS");
    assert_eq!(
        store.lookup_batches(),
        [45],
        "one get_many with every distinct key"
    );
}

#[tokio::test]
async fn store_mode_loads_all_lookups_of_a_request_in_one_call() {
    let (app, store, file, ids) = counting_file(config(), 30, "IN_PROGRESS").await;
    let mut lookups = aliased(&ids, "id statusDetails");
    lookups.push(lookup("again", &ids[0], "operationType"));
    lookups.push(lookup("missing", &guid(), "id"));
    let data = app
        .data(&lookups_query(&lookups), json!({ "f": file }))
        .await;
    assert_details(&data, &ids);
    assert_eq!(data["again"], json!({ "operationType": "UPLOAD" }));
    assert_eq!(data["missing"], Value::Null);
    assert_eq!(
        store.lookup_batches(),
        [31],
        "one get_many with the 30 keys (and the missing one)"
    );

    // Exactly 30 aliased lookups: one call with 30 keys.
    store.reset();
    app.data(&lookups_query(&aliased(&ids, "id")), json!({ "f": file }))
        .await;
    assert_eq!(store.lookup_batches(), [30]);
}
