//! What a browser may do cross-site: simple content types need a preflight header (CSRF), and
//! CORS preflights succeed for configured origins only.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::helpers::*;

#[tokio::test]
async fn simple_content_types_without_a_preflight_header_are_refused() {
    let app = TestApp::demo().await;
    let mutation = format!(
        r#"{{"query":"mutation {{ deleteGroupPolicyOperation(definitionFileId: \"{DEMO_FILE}\", id: \"{DEMO_OP}\") }}"}}"#
    );
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut builder = Request::builder().method(Method::POST).uri("/graphql");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let (status, _, body) = app
            .send(builder.body(Body::from(mutation.clone())).expect("request"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type:?}");
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("apollo-require-preflight")
        );
    }
    let still = app
        .data(GET, json!({ "f": DEMO_FILE, "id": DEMO_OP }))
        .await;
    assert_eq!(
        still["groupPolicyOperation"]["id"], DEMO_OP,
        "nothing was deleted"
    );
    // A preflight-forcing header lets a simple type through the CSRF check (then it must be JSON).
    let request = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header(header::CONTENT_TYPE, "text/plain")
        .header("apollo-require-preflight", "true")
        .body(Body::from(mutation))
        .expect("request");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let mut config = config();
    config.http.cors_origins = vec!["https://admin.contoso.example".to_owned()];
    let app = TestApp::with_config(Mode::Store, config).await;
    let preflight = |origin: &str| super::preflight(origin, "content-type,authorization");
    let (status, headers, _) = app.send(preflight("https://admin.contoso.example")).await;
    assert!(status.is_success());
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://admin.contoso.example"
    );
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap_or("")
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    let (_, headers, _) = app.send(preflight("https://evil.example")).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
