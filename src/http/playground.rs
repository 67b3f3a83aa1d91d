//! The GraphiQL playground at `/`, served from files embedded in the binary.
//!
//! Operators reach for the playground on machines that often have no internet access, so the
//! page must not load anything from a CDN: `build.rs` bundles GraphiQL from `playground/` and
//! embeds every output file, and this module serves them. The page is locked to its own
//! origin by a Content-Security-Policy, so a compromised dependency cannot phone home either.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/playground_assets.rs"));
}

/// URL prefix of the page's scripts, styles and other files.
const ASSET_PREFIX: &str = "/playground/";

/// The page may load scripts and styles from the gateway only, fonts and images from the
/// gateway or inline `data:` URLs (GraphiQL's stylesheet inlines its fonts and icons), and
/// talk to the gateway only. GraphiQL's dialogs add `<style>` elements at run time, hence
/// `'unsafe-inline'` for styles (never for scripts).
const CSP_BASE: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     font-src 'self' data:; img-src 'self' data:; manifest-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'; object-src 'none'; connect-src 'self'";

/// Hashed file names never change content, so browsers may keep them for a year.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated on each use, so a new gateway version shows at once.
const CACHE_REVALIDATE: &str = "no-cache";

/// Routes of the playground: `GET /` (the page) and `GET /playground/{*file}` (its assets).
///
/// Generic over the state so it can be merged into any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/playground/{*file}", get(asset))
}

/// An embedded file by URL path: (content type, bytes).
fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    assets::ASSETS
        .iter()
        .find(|(url, _, _)| *url == path)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}

async fn index(headers: HeaderMap) -> Response {
    let Some((content_type, body)) = lookup("/") else {
        return not_found();
    };
    let csp = content_security_policy(headers.get(header::HOST));
    let mut response = file_response(content_type, body, CACHE_REVALIDATE);
    let response_headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        response_headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response_headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response_headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    let path = format!("{ASSET_PREFIX}{file}");
    match lookup(&path) {
        Some((content_type, body)) => {
            let cache = if is_hashed(&file) {
                CACHE_IMMUTABLE
            } else {
                CACHE_REVALIDATE
            };
            file_response(content_type, body, cache)
        }
        None => not_found(),
    }
}

fn file_response(content_type: &'static str, body: &'static [u8], cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CACHE_CONTROL, CACHE_REVALIDATE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "no such playground file",
    )
        .into_response()
}

/// The policy of the page. `'self'` covers same-origin WebSockets in current browsers only,
/// so the WebSocket URLs of the host the page was requested from are listed too when that
/// host is a plain `name[:port]` (anything else could smuggle directives into the header).
fn content_security_policy(host: Option<&HeaderValue>) -> String {
    let host = host
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_plain_host(h));
    match host {
        Some(host) => format!("{CSP_BASE} ws://{host} wss://{host}"),
        None => CSP_BASE.to_owned(),
    }
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Whether a file name carries esbuild's content hash (`name-HASH.ext`, 8 characters).
fn is_hashed(file: &str) -> bool {
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 8
            && hash
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let request = Request::get(uri)
            .header(header::HOST, "gateway.test:8080")
            .body(Body::empty())
            .expect("valid request");
        let response = router::<()>().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, body)
    }

    /// The `src`/`href` values of the page that point at this server.
    fn local_references(html: &str) -> Vec<String> {
        html.split(['"', '\''])
            .filter(|part| part.starts_with('/'))
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn index_is_html_locked_to_its_origin_and_loads_only_embedded_assets() {
        let (status, headers, body) = get("/").await;
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
            assert!(reference.starts_with(ASSET_PREFIX), "{reference}");
            let (status, headers, _) = get(&reference).await;
            assert_eq!(status, StatusCode::OK, "{reference}");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                CACHE_IMMUTABLE,
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
    async fn unknown_asset_is_not_found() {
        for uri in [
            "/playground/nope.js",
            "/playground/",
            "/playground/../Cargo.toml",
        ] {
            let (status, _, _) = get(uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[test]
    fn a_host_that_could_inject_directives_is_left_out_of_the_policy() {
        let hostile = HeaderValue::from_static("evil.test; script-src *");
        assert_eq!(content_security_policy(Some(&hostile)), CSP_BASE);
        assert_eq!(content_security_policy(None), CSP_BASE);
    }

    #[test]
    fn only_content_hashed_names_are_cached_for_long() {
        assert!(is_hashed("app-HMUX2OFF.js"));
        assert!(is_hashed("app-54GC4FH2.css"));
        assert!(!is_hashed("licenses.txt"));
        assert!(!is_hashed("graphql-ws.js"));
    }
}
