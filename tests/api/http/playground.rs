//! The embedded GraphiQL bundle through the real router: the page is locked to its origin,
//! loads only files the gateway serves, and every file comes back in the encoding the client
//! asked for, decompressing to the same bytes. These need the bundle built before the test
//! binary (`playground/build.sh`, which `.ci/run` runs) and fail saying so when it is missing.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use gpo_gateway::http::playground::BUNDLED;
use tower::ServiceExt;

use crate::support::helpers::AllBytes;
use crate::support::helpers::TestApp;

/// Fails the calling test, with the remedy, when this build has no playground bundle.
pub(crate) fn require_bundle() {
    if !BUNDLED {
        panic!(
            "this build has no playground bundle: run `playground/build.sh` (needs Node.js \
             and npm), then the tests again (`.ci/run` does both)"
        );
    }
}

/// GETs `uri` from a demo gateway with the given `Accept-Encoding` (none when `None`).
async fn get(app: &TestApp, uri: &str, accept: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri).header(header::HOST, "gateway.test:8080");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT_ENCODING, accept);
    }
    let request = request.body(Body::empty()).expect("valid request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.all_bytes().await.to_vec();
    (parts.status, parts.headers, body)
}

/// The `src`/`href` values of the page that point at this server.
fn local_references(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

#[tokio::test]
async fn the_page_is_html_locked_to_its_origin_and_loads_only_embedded_assets() {
    require_bundle();
    let app = TestApp::demo().await;
    let (status, headers, body) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ASCII policy");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("ws://gateway.test:8080"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");

    let html = String::from_utf8(body).expect("UTF-8 page");
    assert!(html.contains("<title>gpo-gateway playground</title>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    let references = local_references(&html);
    assert!(references.iter().any(|r| r.ends_with(".js")), "{html}");
    assert!(references.iter().any(|r| r.ends_with(".css")), "{html}");
    for reference in references {
        assert!(reference.starts_with("/playground/"), "{reference}");
        let (status, headers, _) = get(&app, &reference, None).await;
        assert_eq!(status, StatusCode::OK, "{reference}");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{reference}"
        );
        let expected = if reference.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(headers[header::CONTENT_TYPE], expected, "{reference}");
    }
}

#[tokio::test]
async fn the_bundle_comes_back_compressed_as_asked_and_decompresses_to_the_same_bytes() {
    require_bundle();
    let app = TestApp::demo().await;
    let (_, _, page) = get(&app, "/", None).await;
    let page = String::from_utf8(page).expect("UTF-8 page");
    let mut uris = vec!["/".to_owned(), "/playground/licenses.txt".to_owned()];
    uris.extend(local_references(&page));
    let mut saved = 0;
    for uri in &uris {
        let (status, headers, identity) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!headers.contains_key(header::CONTENT_ENCODING), "{uri}");
        assert_eq!(headers[header::VARY], "accept-encoding", "{uri}");

        let (_, headers, brotli) = get(&app, uri, Some("gzip, deflate, br, zstd")).await;
        assert_eq!(headers[header::CONTENT_ENCODING], "br", "{uri}");
        assert_eq!(headers[header::VARY], "accept-encoding", "{uri}");
        assert!(brotli.len() < identity.len(), "{uri}");
        assert_eq!(unbrotli(&brotli), identity, "{uri}");

        let (_, headers, gzip) = get(&app, uri, Some("gzip")).await;
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{uri}");
        assert!(gzip.len() < identity.len(), "{uri}");
        assert_eq!(gunzip(&gzip), identity, "{uri}");

        let (_, headers, refused) = get(&app, uri, Some("br;q=0, gzip;q=0, deflate")).await;
        assert!(!headers.contains_key(header::CONTENT_ENCODING), "{uri}");
        assert_eq!(refused, identity, "{uri}");
        saved += identity.len() - brotli.len();
    }
    // The JavaScript alone is over a megabyte; brotli takes most of it away.
    assert!(saved > 500_000, "brotli saved only {saved} bytes");
}
