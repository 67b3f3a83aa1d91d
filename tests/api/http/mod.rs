//! The HTTP layer: GET and POST, error codes before execution, limits, request ids, health,
//! federation, and what a failure may show; cross-site rules (`cross_site.rs`), browser
//! origins over HTTP and WebSocket (`browser_origins.rs`) and HTTP batches with persisted
//! queries (`batches.rs`) have their own files.

mod batches;
mod browser_origins;
mod compression;
mod cross_site;
pub(crate) mod playground;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::support::backend::DelegatingBackend;
use crate::support::helpers::*;

pub(super) fn get(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request")
}

/// A CORS preflight from `origin` for a POST to `/graphql` that means to send `headers`.
pub(super) fn preflight(origin: &str, headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .body(Body::empty())
        .expect("request")
}

pub(super) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn queries_work_over_get() {
    let app = TestApp::demo().await;
    let query = format!(
        "{{ groupPolicyOperation(definitionFileId: \"{DEMO_FILE}\", id: \"{DEMO_OP}\") {{ operationType }} }}"
    );
    let (status, _, body) = app
        .send(get(&format!("/graphql?query={}", encode(&query))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["groupPolicyOperation"]["operationType"],
        "UPLOAD"
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_changes_nothing() {
    let app = TestApp::demo().await;
    let mutation = format!(
        "mutation {{ deleteGroupPolicyOperation(definitionFileId: \"{DEMO_FILE}\", id: \"{DEMO_OP}\") }}"
    );
    let (status, headers, body) = app
        .send(get(&format!("/graphql?query={}", encode(&mutation))))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(headers[header::ALLOW], "POST");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("POST")
    );
    let still = app
        .data(GET, json!({ "f": DEMO_FILE, "id": DEMO_OP }))
        .await;
    assert_eq!(still["groupPolicyOperation"]["id"], DEMO_OP);
    // With several operations, the named one decides.
    let doc = format!("query Q {{ __typename }} {mutation}");
    let (status, _, _) = app
        .send(get(&format!(
            "/graphql?query={}&operationName=Q",
            encode(&doc)
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn parse_and_validation_failures_carry_their_codes() {
    let app = TestApp::store().await;
    let body = app.gql("{ groupPolicyOperations(", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    let body = app.gql("{ noSuchField }", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let body = app.gql(LIST, json!({ "f": guid(), "first": "many" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .gql(CREATE, json!({ "f": guid(), "input": { "operationType": "SHRED", "operationStatus": "SUCCESS" } }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn graphql_response_json_gets_spec_status_codes() {
    let app = TestApp::store().await;
    let request = |query: &str, accept: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(Body::from(json!({ "query": query }).to_string()))
            .expect("request")
    };
    let (status, headers, body) = app
        .send(request(
            "{ noSuchField }",
            "application/graphql-response+json",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/graphql-response+json"
    );
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    let (status, headers, _) = app
        .send(request("{ noSuchField }", "application/json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let (status, _, body) = app
        .send(request(
            "{ __typename }",
            "application/graphql-response+json, application/json;q=0.9",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn too_deep_or_too_complex_queries_are_limit_exceeded() {
    let mut config = config();
    config.query.max_complexity = 5;
    let app = TestApp::with_config(Mode::Store, config).await;
    let body = app.gql(LIST, json!({ "f": guid() })).await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    let mut config = helpers_config_with_depth(3);
    config.query.max_complexity = 1000;
    let app = TestApp::with_config(Mode::Store, config).await;
    let body = app.gql(LIST, json!({ "f": guid() })).await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
}

fn helpers_config_with_depth(depth: usize) -> gpo_gateway::Config {
    let mut config = config();
    config.query.max_depth = depth;
    config
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let mut config = config();
    config.http.max_body_bytes = 1024;
    let app = TestApp::with_config(Mode::Store, config).await;
    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(4096)) });
    let (status, _, body) = app.post(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn client_request_id_is_echoed_or_minted() {
    let app = TestApp::store().await;
    let id = guid();
    let request = app
        .post_request()
        .header("client-request-id", &id)
        .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
        .expect("request");
    let (_, headers, _) = app.send(request).await;
    assert_eq!(headers["client-request-id"], id.as_str());
    let request = app
        .post_request()
        .header("client-request-id", "../../not-a-guid")
        .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
        .expect("request");
    let (_, headers, _) = app.send(request).await;
    let minted = headers["client-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(minted).is_ok() && minted != "../../not-a-guid");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::store().await;
    let (status, _, _) = app.send(get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.send(get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    let gateway = gpo_gateway::app(&config()).expect("app");
    gateway.state.set_draining();
    let response = tower::ServiceExt::oneshot(gateway.router, get("/readyz"))
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn federation_resolves_entities_and_serves_the_subgraph_sdl() {
    let mut config = config();
    config.store.no_seed = false;
    config.query.federation = true;
    let app = TestApp::with_config(Mode::Store, config).await;
    let missing = guid();
    let body = app
        .data(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on GroupPolicyOperation { id operationType statusDetails } } }",
            json!({ "r": [
                { "__typename": "GroupPolicyOperation", "definitionFileId": DEMO_FILE, "id": DEMO_OP },
                { "__typename": "GroupPolicyOperation", "definitionFileId": DEMO_FILE, "id": missing },
            ] }),
        )
        .await;
    assert_eq!(body["_entities"][0]["id"], DEMO_OP);
    assert_eq!(body["_entities"][0]["operationType"], "UPLOAD");
    assert_eq!(body["_entities"][1], Value::Null);
    let sdl = app.data("{ _service { sdl } }", json!({})).await;
    let sdl = sdl["_service"]["sdl"].as_str().expect("sdl");
    assert!(
        sdl.contains("@key(fields: \"definitionFileId id\")"),
        "{sdl}"
    );
    assert!(sdl.contains("@link"), "federation 2 SDL: {sdl}");
}

#[tokio::test]
async fn internal_details_never_reach_the_client() {
    let app = TestApp::store().await;
    let (_, _, body) = app
        .post(json!({ "query": "{ __typename }", "operationName": "Missing" }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (status, _, body) = app.post(json!("just a string")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let request = app
        .post_request()
        .body(Body::from("{not json"))
        .expect("request");
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

/// A detail of an internal failure that clients must never see.
const SECRET_DETAIL: &str = "connection string Server=db;Password=hunter2";

#[tokio::test]
async fn internal_failures_are_internal_server_error_without_their_detail() {
    let broken =
        DelegatingBackend::failing_with(gpo_gateway::error::Error::Internal(SECRET_DETAIL.into()));
    let app = gpo_gateway::app_with_backend(&config(), std::sync::Arc::new(broken));
    let app = TestApp {
        router: app.router,
        mode: Mode::Store,
        graph: None,
        store: None,
        token: None,
    };
    let body = app
        .gql(
            "query($f: ID!, $id: ID!) { a: groupPolicyOperation(definitionFileId: $f, id: $id) { id } b: __typename }",
            json!({ "f": guid(), "id": guid() }),
        )
        .await;
    assert_eq!(code(&body), "INTERNAL_SERVER_ERROR", "{body}");
    assert_eq!(body["data"]["b"], "Query", "siblings still resolve");
    assert!(!body.to_string().contains("hunter2"), "{body}");
    let body = app.gql(LIST, json!({ "f": guid() })).await;
    assert_eq!(code(&body), "INTERNAL_SERVER_ERROR");
    assert!(!body.to_string().contains("hunter2"), "{body}");
}

#[tokio::test]
async fn a_request_error_in_graphql_response_json_has_no_data_entry() {
    let app = TestApp::store().await;
    let request = |body: &str, accept: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let spec = "application/graphql-response+json";
    for body in [
        json!({ "query": "{ groupPolicyOperations(" }).to_string(),
        json!({ "query": "{ noSuchField }" }).to_string(),
        "{not json".to_owned(),
    ] {
        let (status, _, answer) = app.send(request(&body, spec)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer.get("data").is_none(), "{body}: {answer}");
        assert!(answer["errors"][0]["extensions"]["code"].is_string());
    }
    // Legacy JSON keeps `data: null`; a field error keeps its data in either media type.
    let (_, _, answer) = app
        .send(request(
            &json!({ "query": "{ noSuchField }" }).to_string(),
            "application/json",
        ))
        .await;
    assert_eq!(answer.get("data"), Some(&Value::Null), "{answer}");
    let field_error = json!({ "query": format!(
        "{{ groupPolicyOperations(definitionFileId: \"{}\") {{ nodes {{ id }} }} }}", guid()
    ) });
    let (status, _, answer) = app.send(request(&field_error.to_string(), spec)).await;
    assert_eq!(code(&answer), "NOT_FOUND", "{answer}");
    assert!(answer.get("data").is_some(), "{status}: {answer}");
}

#[tokio::test]
async fn a_request_without_a_query_is_bad_user_input_with_400() {
    let app = TestApp::store().await;
    for body in [
        json!({ "qeury": "{ __typename }" }),
        json!({ "query": null }),
        json!({ "query": 42 }),
    ] {
        let (status, _, answer) = app.post(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("no `query`"),
            "{answer}"
        );
    }
}
