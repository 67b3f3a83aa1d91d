//! Which browser pages may use the gateway: CORS defaults per backend, the headers a page may
//! send and read, `--cors-origins` checked at start-up, a refused preflight logged once, and
//! WebSocket upgrades held to the same origins on both protocols.

use std::net::SocketAddr;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use tokio_tungstenite::tungstenite;

use crate::support::helpers::*;
use crate::support::process::{start_reading, terminate};
use crate::support::ws::{self, config_with, served, upgrade_request};

const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// A preflight from `origin` asking for every header the gateway's clients send.
fn preflight(origin: &str) -> Request<Body> {
    super::preflight(
        origin,
        "content-type,idempotency-key,traceparent,tracestate,client-request-id,\
         apollo-require-preflight,x-apollo-operation-name",
    )
}

fn allowed_origin(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .and_then(|v| v.to_str().ok())
}

fn header_list(headers: &axum::http::HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_lowercase()
}

#[tokio::test]
async fn store_mode_without_a_flag_allows_local_dev_servers_on_any_port() {
    let app = TestApp::store().await;
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://localhost",
    ] {
        let (status, headers, _) = app.send(preflight(origin)).await;
        assert!(status.is_success(), "{origin}: {status}");
        assert_eq!(allowed_origin(&headers), Some(origin));
        let allowed = header_list(&headers, header::ACCESS_CONTROL_ALLOW_HEADERS);
        for name in [
            "idempotency-key",
            "traceparent",
            "tracestate",
            "client-request-id",
            "apollo-require-preflight",
            "x-apollo-operation-name",
            "authorization",
            "content-type",
        ] {
            assert!(allowed.contains(name), "{name} not allowed: {allowed}");
        }
    }
    for origin in [
        "https://localhost:5173",
        "http://localhost.evil.example:5173",
        "https://evil.example",
        "null",
    ] {
        let (_, headers, _) = app.send(preflight(origin)).await;
        assert_eq!(allowed_origin(&headers), None, "{origin} was allowed");
    }
    // The answer to the real request lets the page read the headers it needs.
    let request = app
        .post_request()
        .header(header::ORIGIN, "http://localhost:5173")
        .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
        .expect("request");
    let (status, headers, _) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(allowed_origin(&headers), Some("http://localhost:5173"));
    let exposed = header_list(&headers, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    for name in [
        "idempotent-replayed",
        "retry-after",
        "client-request-id",
        "request-id",
    ] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
}

#[tokio::test]
async fn graph_mode_without_a_flag_allows_no_browser_origin() {
    let app = TestApp::new(Mode::Graph).await;
    for origin in ["http://localhost:5173", "https://evil.example"] {
        let (_, headers, _) = app.send(preflight(origin)).await;
        assert_eq!(allowed_origin(&headers), None, "{origin} was allowed");
    }
}

#[tokio::test]
async fn configured_port_and_subdomain_wildcards_match_what_they_say() {
    let config = config_with(&[
        "--cors-origins",
        "https://*.contoso.example,http://localhost:8080",
    ]);
    let app = TestApp::with_config(Mode::Store, config).await;
    let (_, headers, _) = app.send(preflight("https://admin.contoso.example")).await;
    assert_eq!(
        allowed_origin(&headers),
        Some("https://admin.contoso.example")
    );
    let (_, headers, _) = app.send(preflight("http://localhost:8080")).await;
    assert_eq!(allowed_origin(&headers), Some("http://localhost:8080"));
    // The flag replaces the store-mode default.
    for origin in ["http://localhost:5173", "https://contoso.example"] {
        let (_, headers, _) = app.send(preflight(origin)).await;
        assert_eq!(allowed_origin(&headers), None, "{origin} was allowed");
    }
}

/// Runs the binary with `args` and `env`; it must stop at start-up. Returns status and stderr.
fn start_up_failure(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_cors_origin_that_could_never_match_stops_the_gateway_naming_the_flag() {
    for (value, says) in [
        ("http://localhost:5173/", "trailing slash"),
        ("https://admin.contoso.example/app", "a path"),
        ("http://local*host:5173", "wildcard"),
        ("localhost:5173", "scheme://host"),
    ] {
        let (status, stderr) = start_up_failure(&["--cors-origins", value], &[]);
        assert_eq!(status, Some(2), "{value}: {stderr}");
        assert!(stderr.contains("--cors-origins"), "{value}: {stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
    let (status, stderr) = start_up_failure(
        &[],
        &[(
            "GPO_GATEWAY_CORS_ORIGINS",
            "http://localhost:3000,http://localhost:5173/",
        )],
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains("--cors-origins") && stderr.contains("`http://localhost:5173`"),
        "{stderr}"
    );
}

/// The banner's `browsers:` line of the binary started with `args`.
async fn browsers_line(args: &[&str]) -> String {
    browsers_line_with_env(args, &[]).await
}

async fn browsers_line_with_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let (child, _, lines) = start_reading(args, env);
    let line = lines
        .map(|line| line.expect("text"))
        .find(|line| line.trim_start().starts_with("browsers:"))
        .expect("the banner says which browser origins may call");
    terminate(child).await;
    line
}

#[tokio::test]
async fn the_banner_says_which_browser_origins_may_call_and_how_to_change_it() {
    let store = browsers_line(&[]).await;
    assert!(
        store.contains("http://localhost:*") && store.contains("http://127.0.0.1:*"),
        "{store}"
    );
    let empty = browsers_line_with_env(&[], &[("GPO_GATEWAY_CORS_ORIGINS", "")]).await;
    assert!(
        empty.contains("store mode default"),
        "empty is unset: {empty}"
    );
    let graph = browsers_line(&["--backend", "graph"]).await;
    assert!(
        graph.contains("none") && graph.contains("--cors-origins"),
        "{graph}"
    );
    let chosen = browsers_line(&["--cors-origins", "HTTPS://Admin.Contoso.Example:443"]).await;
    assert!(
        chosen.contains("https://admin.contoso.example "),
        "{chosen}"
    );
}

#[tokio::test]
async fn a_refused_preflight_is_logged_once_per_origin_with_the_flag_to_set() {
    let (child, addr, _lines) = start_reading(&[], &[]);
    let client = reqwest::Client::new();
    for origin in [
        "https://evil.example",
        "https://evil.example",
        "https://evil.example",
        "https://other.example:8443",
        "http://localhost:5173",
    ] {
        let answer = client
            .request(reqwest::Method::OPTIONS, format!("http://{addr}/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .expect("an answer");
        assert!(answer.status().is_success());
    }
    let (_, log) = terminate(child).await;
    let refusals = |origin: &str| {
        log.lines()
            .filter(|line| line.contains("WARN") && line.contains("refused a CORS preflight"))
            .filter(|line| line.contains(&format!("--cors-origins {origin} ")))
            .count()
    };
    assert_eq!(refusals("https://evil.example"), 1, "{log}");
    assert_eq!(refusals("https://other.example:8443"), 1, "{log}");
    assert_eq!(refusals("http://localhost:5173"), 0, "allowed: {log}");
}

/// Tries to open a GraphQL WebSocket speaking `protocol` with `origin`; returns the HTTP
/// status of a refused upgrade, or `None` when the socket opened and answered a query.
async fn open_with_origin(addr: SocketAddr, protocol: &str, origin: Option<&str>) -> Option<u16> {
    let mut request = upgrade_request(addr, protocol);
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, _)) => {
            ws::init(&mut socket, json!({})).await;
            let start = if protocol == "graphql-ws" {
                "start"
            } else {
                "subscribe"
            };
            ws::send(
                &mut socket,
                json!({ "id": "1", "type": start, "payload": { "query": "{ __typename }" } }),
            )
            .await;
            let answer = ws::next(&mut socket).await;
            assert_eq!(answer["payload"]["data"]["__typename"], "Query", "{answer}");
            None
        }
        Err(tungstenite::Error::Http(response)) => {
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            if response.status() == 403 {
                assert!(
                    body.contains("FORBIDDEN") && body.contains("--cors-origins"),
                    "{body}"
                );
            }
            Some(response.status().as_u16())
        }
        Err(e) => panic!("the upgrade failed without an HTTP answer: {e}"),
    }
}

#[tokio::test]
async fn a_websocket_from_a_refused_origin_gets_403_on_both_protocols() {
    let (_app, state, addr) = served(config_with(&[])).await;
    for protocol in PROTOCOLS {
        for origin in [
            "https://evil.example",
            "null",
            "http://localhost.evil.example",
        ] {
            assert_eq!(
                open_with_origin(addr, protocol, Some(origin)).await,
                Some(403),
                "{protocol} from {origin}"
            );
        }
        assert_eq!(state.open_websockets(), 0, "nothing was upgraded");
        // Tools that are not browsers send no Origin and are unaffected; allowed pages too.
        assert_eq!(open_with_origin(addr, protocol, None).await, None);
        assert_eq!(
            open_with_origin(addr, protocol, Some("http://localhost:5173")).await,
            None
        );
    }
}

#[tokio::test]
async fn the_gateway_s_own_pages_may_open_a_websocket_whatever_the_flag() {
    let config = config_with(&["--cors-origins", "https://admin.contoso.example"]);
    let (_app, _state, addr) = served(config).await;
    for protocol in PROTOCOLS {
        let own = format!("http://{addr}");
        assert_eq!(open_with_origin(addr, protocol, Some(&own)).await, None);
        assert_eq!(
            open_with_origin(addr, protocol, Some("https://admin.contoso.example")).await,
            None
        );
        assert_eq!(
            open_with_origin(addr, protocol, Some("http://localhost:5173")).await,
            Some(403),
            "the flag replaces the store-mode default"
        );
    }
}

#[tokio::test]
async fn graph_mode_refuses_a_cross_site_websocket_by_default() {
    let app = TestApp::new(Mode::Graph).await;
    let addr = serve_tcp(app.router.clone()).await;
    for protocol in PROTOCOLS {
        assert_eq!(
            open_with_origin(addr, protocol, Some("http://localhost:5173")).await,
            Some(403)
        );
    }
}
