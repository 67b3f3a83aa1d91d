//! Each limit just under and just over its default, the response bounds, and the switches.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::{assert_limit, assert_passes, over_websocket, repeat_join};
use crate::support::helpers::*;

#[tokio::test]
async fn depth_just_under_the_default_passes_and_just_over_is_refused() {
    let app = TestApp::demo().await;
    // __type (1) + n ofType + name (1): depth n + 2; the default limit is 16.
    let query = |n: usize| {
        format!(
            "{{ __type(name: \"Query\") {{ {} name {} }} }}",
            "ofType {".repeat(n),
            "}".repeat(n)
        )
    };
    assert_passes(&app.gql(&query(14), json!({})).await);
    assert_limit(
        &app.gql(&query(15), json!({})).await,
        "Query is nested too deep: depth 17",
    );
}

#[tokio::test]
async fn cost_just_under_the_default_passes_and_just_over_is_refused() {
    let app = TestApp::demo().await;
    // 24 pages of 100 at 1 + 100 * 2 each, then single fields up to the 5,000 default.
    let query = |extra: usize| {
        let pages = repeat_join(24, |i| {
            format!(
                "p{i}: groupPolicyOperations(definitionFileId: \"{DEMO_FILE}\", first: 100) {{ nodes {{ id }} }}"
            )
        });
        format!("{{ {pages} {} }}", "__typename ".repeat(extra))
    };
    assert_passes(&app.gql(&query(176), json!({})).await);
    assert_limit(
        &app.gql(&query(177), json!({})).await,
        "Query is too complex: cost 5001",
    );
    // `first` from a variable, and the default page of 25 when it is not sent.
    let by_variable = |aliases: usize| {
        format!(
            "query($n: Int) {{ {} }}",
            repeat_join(aliases, |i| format!(
                "p{i}: groupPolicyOperations(definitionFileId: \"{DEMO_FILE}\", first: $n) {{ nodes {{ id }} }}"
            ))
        )
    };
    assert_passes(&app.gql(&by_variable(25), json!({ "n": 99 })).await);
    assert_limit(
        &app.gql(&by_variable(25), json!({ "n": 100 })).await,
        "cost 5025",
    );
    assert_passes(&app.gql(&by_variable(98), json!({})).await);
    assert_limit(&app.gql(&by_variable(99), json!({})).await, "cost 5049");
}

#[tokio::test]
async fn aliases_root_fields_and_directives_at_their_defaults() {
    let app = TestApp::demo().await;
    let aliases = |n: usize| format!("{{ {} }}", repeat_join(n, |i| format!("a{i}: __typename")));
    assert_passes(&app.gql(&aliases(500), json!({})).await);
    assert_limit(
        &app.gql(&aliases(501), json!({})).await,
        "Too many aliases: the operation has 501; the limit is 500",
    );
    let roots = |n: usize| format!("{{ {} }}", "__typename ".repeat(n));
    assert_passes(&app.gql(&roots(500), json!({})).await);
    assert_limit(
        &app.gql(&roots(501), json!({})).await,
        "Too many root fields: the operation has 501; the limit is 500",
    );
    let directives = |n: usize| format!("{{ {} }}", "__typename @skip(if: false) ".repeat(n));
    assert_passes(&app.gql(&directives(100), json!({})).await);
    assert_limit(
        &app.gql(&directives(101), json!({})).await,
        "Too many directives: the document has 101; the limit is 100",
    );
}

#[tokio::test]
async fn tokens_are_counted_before_parsing() {
    let app = TestApp::demo().await;
    // 1,000 operations of 5 tokens each is exactly the default of 5,000.
    let operations = |first: &str| {
        format!(
            "query A0 {{ {first} }} {}",
            repeat_join(999, |i| format!("query A{} {{ __typename }}", i + 1))
        )
    };
    let (_, _, body) = app
        .post(json!({ "query": operations("__typename"), "operationName": "A0" }))
        .await;
    assert_passes(&body);
    let (_, _, body) = app
        .post(json!({ "query": operations("__typename __typename"), "operationName": "A0" }))
        .await;
    assert_limit(
        &body,
        "Too many tokens: the document has 5001; the limit is 5000",
    );
    // Unparseable input is refused as too large before the parser sees it.
    let body = app.gql(&"{".repeat(100_000), json!({})).await;
    assert_limit(&body, "Too many tokens");
    let body = app.gql(&"[".repeat(65), json!({})).await;
    assert_limit(&body, "Too many nested brackets");
}

#[tokio::test]
async fn errors_are_capped_with_a_count_of_the_rest() {
    let app = TestApp::demo().await;
    let unused = |n: usize| {
        format!(
            "query({}) {{ __typename }}",
            repeat_join(n, |i| format!("$v{i}: Int"))
        )
    };
    let body = app.gql(&unused(100), json!({})).await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(100));
    let body = app.gql(&unused(1200), json!({})).await;
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 101);
    assert_eq!(
        errors[99]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert_eq!(errors[100]["extensions"]["code"], "LIMIT_EXCEEDED");
    assert!(
        errors[100]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1100 more were left out")),
        "{}",
        errors[100]
    );
}

#[tokio::test]
async fn responses_and_batches_are_capped_in_bytes() {
    let mut config = config();
    config.query.max_response_bytes = 1000;
    config.query.max_batch_response_bytes = 1500;
    let app = TestApp::with_config(Mode::Store, config).await;
    // {"data":{"a00":"Query",...}}: 14 bytes per alias plus 10.
    let aliases = |n: usize| {
        format!(
            "{{ {} }}",
            repeat_join(n, |i| format!("a{i:02}: __typename"))
        )
    };
    let fits = app.gql(&aliases(60), json!({})).await;
    assert_passes(&fits);
    assert!(fits.to_string().len() <= 1000);
    let body = app.gql(&aliases(80), json!({})).await;
    assert_limit(&body, "The response is larger than 1000 bytes");
    assert_eq!(body["data"], Value::Null);

    let answer = over_websocket(&app, json!({ "query": aliases(80) })).await;
    assert_limit(&answer["payload"], "The response is larger than 1000 bytes");
    let answer = over_websocket(&app, json!({ "query": aliases(60) })).await;
    assert_passes(&answer["payload"]);

    let batch =
        json!([{ "query": aliases(60) }, { "query": aliases(60) }, { "query": "{ __typename }" }]);
    let (_, _, body) = app.post(batch).await;
    assert_passes(&body[0]);
    assert_limit(&body[1], "larger than 1500 bytes, the limit per batch");
    assert_passes(&body[2]);
}

#[tokio::test]
async fn unknown_directives_are_validation_errors_wherever_they_are() {
    let app = TestApp::demo().await;
    for query in [
        "{ __typename @aa }".to_owned(),
        "query @aa { __typename }".to_owned(),
        "{ ...F @aa } fragment F on Query { __typename }".to_owned(),
        "{ ...F } fragment F on Query @aa { __typename }".to_owned(),
        format!("{{ {} }}", "__typename @aa ".repeat(50)),
    ] {
        let body = app.gql(&query, json!({})).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{query}: {body}");
        assert_eq!(body["errors"][0]["message"], "Unknown directive \"@aa\".");
    }
    // 50,000 of them are refused for their number before anything else.
    let many = format!("{{ {} }}", "__typename @aa ".repeat(5000));
    assert_eq!(code(&app.gql(&many, json!({})).await), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn cyclic_fragments_are_validation_errors() {
    let app = TestApp::demo().await;
    let body = app
        .gql(
            "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
}

#[tokio::test]
async fn federation_is_off_by_default_and_on_with_the_flag() {
    let app = TestApp::demo().await;
    let body = app.gql("{ _service { sdl } }", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let body = app
        .gql(
            "{ _entities(representations: []) { __typename } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    let mut config = config();
    config.query.federation = true;
    let app = TestApp::with_config(Mode::Store, config).await;
    let body = app.data("{ _service { sdl } }", json!({})).await;
    assert!(
        body["_service"]["sdl"]
            .as_str()
            .is_some_and(|s| s.contains("@key"))
    );
    let sdl = |n: usize| {
        format!(
            "{{ {} }}",
            repeat_join(n, |i| format!("s{i}: _service {{ sdl }}"))
        )
    };
    assert_limit(&app.gql(&sdl(501), json!({})).await, "Too many aliases");
}

#[tokio::test]
async fn the_production_profile_hides_the_schema() {
    let typo = "{ groupPolicyOperatio(definitionFileId: \"x\", id: \"y\") { id } }";
    let app = TestApp::demo().await;
    let body = app.gql(typo, json!({})).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    assert_passes(&app.gql("{ __schema { types { name } } }", json!({})).await);

    let mut config = config();
    config.query.production = true;
    let app = TestApp::with_config(Mode::Store, config).await;
    let body = app.gql(typo, json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    let body = app.gql("{ __schema { types { name } } }", json!({})).await;
    assert!(body["errors"].is_array(), "introspection refused: {body}");
    assert!(
        body["data"].is_null() || body["data"]["__schema"].is_null(),
        "{body}"
    );
    assert_eq!(
        app.data("{ __typename }", json!({})).await["__typename"],
        "Query"
    );
}

#[tokio::test]
async fn graphiql_introspection_passes_every_limit() {
    let app = TestApp::demo().await;
    let body = app
        .gql(include_str!("../introspection.graphql"), json!({}))
        .await;
    assert_passes(&body);
    assert!(
        body["data"]["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.len() > 10)
    );
    let request = Request::builder()
        .method(Method::GET)
        .uri("/healthz")
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.send(request).await.0, StatusCode::OK);
}
