//! Sending an `@odata.nextLink` byte for byte. Microsoft's rule is to request a nextLink
//! exactly as Graph wrote it, but reqwest only takes a `url::Url`, and `Url::parse` rewrites a
//! bare `'` in a query as `%27` (and a few other characters likewise), so a link such as
//! `...?$skiptoken='abc'` would reach Graph changed. This sender hands the link's own bytes to
//! hyper as the request target. It is used for nextLinks only (GETs without a body), after
//! `links` has checked that the link points into Graph's version root.

use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Body as _;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};

use super::answer_room::Holding;
use super::client::{RawReply, SendFailure, read_held};

/// A small HTTP/1.1 client for exact request targets; `None` inside when TLS could not be
/// set up (no system roots), in which case nextLinks go through reqwest as parsed.
pub(crate) struct RawSender {
    client: Option<Client<HttpsConnector<HttpConnector>, Empty<Bytes>>>,
}

impl RawSender {
    pub(crate) fn new(connect_timeout: Duration) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        let client = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => {
                let https = builder.https_or_http().enable_http1().wrap_connector(http);
                Some(Client::builder(TokioExecutor::new()).build(https))
            }
            Err(error) => {
                tracing::warn!(%error, "no TLS roots for exact nextLinks; they are sent as parsed");
                None
            }
        };
        Ok(RawSender { client })
    }

    /// Whether links can be sent byte for byte.
    pub(crate) fn available(&self) -> bool {
        self.client.is_some()
    }

    /// GETs `link` with its exact bytes as the request target, within `timeout`, reading at
    /// most `limit` bytes of body, its room taken in `holding` as for any other answer.
    pub(crate) async fn get(
        &self,
        link: &str,
        headers: HeaderMap,
        timeout: Duration,
        limit: usize,
        holding: &mut Holding,
    ) -> Result<RawReply, SendFailure> {
        let deadline = tokio::time::Instant::now() + timeout;
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| SendFailure::Unreachable("no TLS roots".into()))?;
        // `http::Uri` keeps the bytes it is given (it checks them, it does not re-encode).
        let uri: hyper::Uri = link
            .parse()
            .map_err(|e| SendFailure::Unreachable(format!("nextLink is not a URI: {e}")))?;
        let mut request = hyper::Request::get(uri)
            .body(Empty::<Bytes>::new())
            .map_err(|e| SendFailure::Unreachable(e.to_string()))?;
        *request.headers_mut() = headers;
        request.headers_mut().insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("gpo-gateway/", env!("CARGO_PKG_VERSION"))),
        );
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| SendFailure::Unreachable(e.to_string()))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body();
            let declared = body.size_hint().exact();
            Ok(RawReply {
                status,
                headers,
                body: read_held(body, declared, limit, holding, deadline).await,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| SendFailure::Timeout("nextLink timed out".into()))?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_rewrites_what_a_request_target_keeps() {
        // Why this sender exists: `url` re-encodes a bare quote in a query; `Uri` does not.
        let link = "https://graph.microsoft.com/beta/x('k')?$skiptoken='a%27b%3D'";
        let parsed = url::Url::parse(link).expect("a URL");
        assert_ne!(parsed.as_str(), link);
        assert!(
            parsed.as_str().contains("$skiptoken=%27a%27b%3D%27"),
            "{parsed}"
        );
        let uri: hyper::Uri = link.parse().expect("a URI");
        assert_eq!(uri.to_string(), link);
    }
}
