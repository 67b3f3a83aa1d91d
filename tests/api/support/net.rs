//! Gateways on a real socket, and reading what comes back over one: for tests that need the
//! serving loop's behaviour (connections, slow readers) rather than the router alone.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use gpo_gateway::Config;
use gpo_gateway::http::serve::serve;
use http_body_util::BodyExt;

use super::helpers::config;

/// Serves the app on 127.0.0.1:0 with the default connection limits; returns its address.
pub(crate) async fn serve_tcp(router: Router) -> SocketAddr {
    serve_tcp_with(router, &config()).await
}

/// Serves the app on 127.0.0.1:0 through the serving loop `main.rs` runs, with the connection
/// limits of `config`, until the test ends; returns its address.
pub(crate) async fn serve_tcp_with(router: Router, config: &Config) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(serve(
        listener,
        router,
        config.connections.clone(),
        std::future::pending(),
        Duration::ZERO,
        gpo_gateway::telemetry::metrics::Metrics::new(),
    ));
    addr
}

/// Asserts that `/healthz` of the gateway at `addr` answers 200 through `client`.
pub(crate) async fn assert_healthy(client: &reqwest::Client, addr: impl std::fmt::Display) {
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(health.status(), 200);
}

/// Reads a whole HTTP body (of the router's answer, or of one read off a socket).
pub(crate) trait AllBytes {
    async fn all_bytes(self) -> axum::body::Bytes;
}

impl<B> AllBytes for B
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    async fn all_bytes(self) -> axum::body::Bytes {
        self.collect().await.expect("a whole body").to_bytes()
    }
}

/// Sends a request to a gateway on a socket and reads its JSON answer.
pub(crate) trait AnswerJson {
    async fn answer_json<T: serde::de::DeserializeOwned>(self) -> T;
}

impl AnswerJson for reqwest::RequestBuilder {
    async fn answer_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send()
            .await
            .expect("an answer")
            .json()
            .await
            .expect("a JSON answer")
    }
}
