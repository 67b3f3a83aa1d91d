//! Response compression: `/graphql` answers worth compressing come back in gzip, brotli or
//! zstd as `Accept-Encoding` asks, and as they are otherwise.

use std::io::Read;

use axum::body::Body;
use axum::http::header;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::helpers::AllBytes;
use crate::support::helpers::TestApp;

/// Posts a list of every operation of `file` with `accept_encoding`; returns the answer's
/// `Content-Encoding` and its body bytes.
async fn list(
    app: &TestApp,
    file: &str,
    accept_encoding: Option<&str>,
) -> (Option<String>, Vec<u8>) {
    let query = format!(
        "{{ groupPolicyOperations(definitionFileId: \"{file}\", first: 100) {{ nodes {{ id operationType operationStatus statusDetails lastModifiedDateTime }} }} }}"
    );
    let mut request = app.post_request();
    if let Some(encoding) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encoding);
    }
    let request = request
        .body(Body::from(json!({ "query": query }).to_string()))
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("an answer");
    let encoding = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().expect("text").to_owned());
    let body = response.into_body().all_bytes().await;
    (encoding, body.to_vec())
}

#[tokio::test]
async fn a_large_list_is_compressed_when_asked_and_not_otherwise() {
    let app = TestApp::store().await;
    let file = app.new_file().await;
    for n in 0..20 {
        let details = format!("operation {n} of a list large enough to be worth compressing");
        app.create(&file, "UPLOAD", "SUCCESS", Some(&details)).await;
    }
    let (encoding, plain) = list(&app, &file, None).await;
    assert_eq!(encoding, None);
    let value: Value = serde_json::from_slice(&plain).expect("plain JSON");
    assert!(
        value["data"]["groupPolicyOperations"]["nodes"]
            .as_array()
            .is_some_and(|n| n.len() == 20),
        "{value}"
    );
    assert!(plain.len() > 1024, "the list is large enough to compress");

    let (encoding, gzipped) = list(&app, &file, Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(gzipped.len() < plain.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_end(&mut unzipped)
        .expect("valid gzip");
    assert_eq!(unzipped, plain);

    for (asked, expected) in [("br", "br"), ("zstd", "zstd"), ("gzip;q=0.5, br;q=1", "br")] {
        let (encoding, body) = list(&app, &file, Some(asked)).await;
        assert_eq!(encoding.as_deref(), Some(expected), "{asked}");
        assert!(body.len() < plain.len(), "{asked}");
    }
    // A small answer is sent as it is, whatever the client accepts.
    let (_, headers, body) = app.post(json!({ "query": "{ __typename }" })).await;
    assert_eq!(body["data"]["__typename"], "Query");
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
}
