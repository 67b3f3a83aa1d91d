//! The GraphiQL playground at `/`, served from files embedded in the binary.
//!
//! Operators reach for the playground on machines that often have no internet access, so the
//! page must not load anything from a CDN: `playground/build.sh` bundles GraphiQL from
//! `playground/`, `build.rs` embeds every output file, and this module serves them. The page is
//! locked to its own origin by a Content-Security-Policy, so a compromised dependency cannot
//! phone home either. The bundle is compressed once at build time (gzip and brotli); each
//! request gets the copy its `Accept-Encoding` prefers, and nothing is compressed per request.
//! A gateway built without the bundle answers `/` with a page saying how to build it.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One file of the playground build, with its precompressed copies when they are smaller.
pub struct Asset {
    /// URL path: `/` for the page, `/playground/<file>` for the rest.
    pub path: &'static str,
    /// The `Content-Type` the file is served with.
    pub content_type: &'static str,
    /// The file's bytes, uncompressed.
    pub identity: &'static [u8],
    /// The gzip copy; `None` when it would not be smaller.
    pub gzip: Option<&'static [u8]>,
    /// The brotli copy; `None` when it would not be smaller.
    pub brotli: Option<&'static [u8]>,
}

mod assets {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/playground_assets.rs"));
}

/// Whether this binary was built with the playground bundle (`playground/build.sh` ran before
/// `cargo build`). Without it, `/` says how to build it.
pub const BUNDLED: bool = assets::BUNDLED;

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

/// What `/` answers when the binary was built without the bundle.
const NOT_BUILT_PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>gpo-gateway: playground not built</title></head>
<body>
<h1>The playground is not built into this gateway</h1>
<p>The GraphQL endpoint works as usual at <code>/graphql</code>. To get the GraphiQL
playground here, build its bundle (needs Node.js and npm), then build the gateway again:</p>
<pre>playground/build.sh
cargo build --release</pre>
<p>or run <code>scripts/run</code>, which does both and starts the gateway.</p>
</body>
</html>
";

/// Routes of the playground: `GET /` (the page) and `GET /playground/{*file}` (its assets).
///
/// Generic over the state so it can be merged into any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/playground/{*file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    page(assets::ASSETS, &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("{ASSET_PREFIX}{file}");
    let cache = if is_hashed(&file) {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    };
    match lookup(assets::ASSETS, &path) {
        Some(asset) => file_response(asset, &headers, cache),
        None => not_found(),
    }
}

fn lookup(table: &'static [Asset], path: &str) -> Option<&'static Asset> {
    table.iter().find(|asset| asset.path == path)
}

/// The page at `/` from `table` (or the how-to-build page), with its security headers.
fn page(table: &'static [Asset], headers: &HeaderMap) -> Response {
    let mut response = match lookup(table, "/") {
        Some(asset) => file_response(asset, headers, CACHE_REVALIDATE),
        None => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, CACHE_REVALIDATE),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            NOT_BUILT_PAGE,
        )
            .into_response(),
    };
    let csp = content_security_policy(headers.get(header::HOST));
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

/// The asset in the encoding the request prefers among the copies it has.
fn file_response(asset: &'static Asset, request: &HeaderMap, cache: &'static str) -> Response {
    let accept = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let (encoding, body) = choose_encoding(asset, &accept);
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    // Caches must key the answer on the request's Accept-Encoding whenever it could differ.
    if asset.gzip.is_some() || asset.brotli.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The copy to send for an `Accept-Encoding` value (RFC 9110 §12.5.3): the acceptable one
/// with the highest weight, brotli before gzip before identity on equal weights (smallest
/// first). Returns the `Content-Encoding` to declare (none for identity) and the bytes.
fn choose_encoding(asset: &Asset, accept: &str) -> (Option<&'static str>, &'static [u8]) {
    let identity = weight(accept, "identity").unwrap_or(1.0);
    let mut best = (None, asset.identity, identity);
    for (name, copy) in [("gzip", asset.gzip), ("br", asset.brotli)] {
        let Some(copy) = copy else { continue };
        let q = weight(accept, name).unwrap_or(0.0);
        if q > 0.0 && q >= best.2 {
            best = (Some(name), copy, q);
        }
    }
    (best.0, best.1)
}

/// The weight `accept` gives `coding`: its own entry's, else the `*` entry's, else `None`.
fn weight(accept: &str, coding: &str) -> Option<f32> {
    let mut wildcard = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .next()
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return Some(q);
        }
        if name == "*" {
            wildcard = Some(q);
        }
    }
    wildcard
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
    use axum::body::to_bytes;

    /// A stand-in bundle: each copy's bytes name the copy, so a test sees which was sent.
    static BUNDLE: &[Asset] = &[
        Asset {
            path: "/",
            content_type: "text/html; charset=utf-8",
            identity: b"page",
            gzip: Some(b"page.gz"),
            brotli: Some(b"page.br"),
        },
        Asset {
            path: "/playground/app-ABCD1234.js",
            content_type: "text/javascript; charset=utf-8",
            identity: b"app",
            gzip: Some(b"app.gz"),
            brotli: None,
        },
        Asset {
            path: "/playground/font-ABCD1234.woff2",
            content_type: "font/woff2",
            identity: b"font",
            gzip: None,
            brotli: None,
        },
    ];

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("valid header"),
        );
        headers
    }

    async fn body(response: Response) -> Vec<u8> {
        to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("in-memory body")
            .to_vec()
    }

    fn sent(path: &str, accept: &str) -> (Option<&'static str>, &'static [u8]) {
        let asset = lookup(BUNDLE, path).expect("asset of the stand-in bundle");
        choose_encoding(asset, accept)
    }

    #[test]
    fn brotli_is_preferred_then_gzip_then_identity() {
        assert_eq!(
            sent("/", "gzip, deflate, br, zstd"),
            (Some("br"), &b"page.br"[..])
        );
        assert_eq!(sent("/", "gzip"), (Some("gzip"), &b"page.gz"[..]));
        assert_eq!(sent("/", "deflate"), (None, &b"page"[..]));
        assert_eq!(sent("/", ""), (None, &b"page"[..]));
        // A copy the bundle lacks is never claimed.
        assert_eq!(
            sent("/playground/app-ABCD1234.js", "br"),
            (None, &b"app"[..])
        );
        assert_eq!(
            sent("/playground/app-ABCD1234.js", "br, gzip"),
            (Some("gzip"), &b"app.gz"[..])
        );
    }

    #[test]
    fn weights_and_wildcards_are_honoured() {
        assert_eq!(sent("/", "br;q=0.5, gzip"), (Some("gzip"), &b"page.gz"[..]));
        assert_eq!(sent("/", "br;q=0, gzip;q=0"), (None, &b"page"[..]));
        assert_eq!(sent("/", "*"), (Some("br"), &b"page.br"[..]));
        assert_eq!(sent("/", "*;q=0, identity"), (None, &b"page"[..]));
        assert_eq!(
            sent("/", "gzip;q=0.4, identity;q=0.5"),
            (None, &b"page"[..])
        );
        assert_eq!(sent("/", "GZIP ; q=1.0"), (Some("gzip"), &b"page.gz"[..]));
        assert_eq!(sent("/", "gzip;q=nonsense"), (None, &b"page"[..]));
    }

    #[tokio::test]
    async fn a_compressed_copy_is_declared_and_the_answer_varies_on_accept_encoding() {
        let asset = lookup(BUNDLE, "/playground/app-ABCD1234.js").expect("asset");
        let response = file_response(asset, &accepting("gzip"), CACHE_IMMUTABLE);
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[header::VARY], "accept-encoding");
        assert_eq!(body(response).await, b"app.gz");

        let response = file_response(asset, &HeaderMap::new(), CACHE_IMMUTABLE);
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(response.headers()[header::VARY], "accept-encoding");
        assert_eq!(body(response).await, b"app");

        let font = lookup(BUNDLE, "/playground/font-ABCD1234.woff2").expect("asset");
        let response = file_response(font, &accepting("br, gzip"), CACHE_IMMUTABLE);
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        assert!(!response.headers().contains_key(header::VARY));
        assert_eq!(body(response).await, b"font");
    }

    #[tokio::test]
    async fn without_a_bundle_the_page_says_how_to_build_it() {
        let response = page(&[], &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
        let html = String::from_utf8(body(response).await).expect("UTF-8 page");
        assert!(html.contains("playground/build.sh"), "{html}");
        assert!(html.contains("scripts/run"), "{html}");
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
