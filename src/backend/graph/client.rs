//! One shared HTTP client for Graph: headers every call carries, the retry policy for
//! throttling and hiccups, and the mapping of Graph's answers to the gateway's errors.
//!
//! Retries: 429, 503 and 504 are retried at most 3 times, honouring `Retry-After` (seconds,
//! fractions or an HTTP date) or else backing off exponentially with jitter (after a 429, as
//! Microsoft's SDKs do: 3 s x 2^n plus up to 1 s), and never past the call's deadline. Each
//! retry says which it is (`Retry-Attempt: n`). Every attempt first takes a slot from the
//! tenant's budget, and a 429 pauses the whole tenant (see [`pacing`](super::pacing)). A POST is retried only on 429: after a 503, a 504 or a timeout Graph may
//! have created the operation already, and a retry could create it twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::answer_room::AnswerBudget;
use super::envelope::Body;
pub(crate) use super::pacing::{MAX_RETRIES, backoff, parse_retry_after};
use super::pacing::{retry_headers, throttle_backoff};
use super::reply::ReplyOutcome;
use crate::backend::Caller;
use crate::backend::identity::Vouched;
use crate::backend::tenant_budget::TenantBudget;
use crate::error::Error;
use crate::telemetry::metrics::{self, BackendFigures};
use tracing::Instrument;

mod answer;
mod exchange;

pub(crate) use answer::Answer;
pub(super) use exchange::{RawReply, SendFailure, read_held, route_name};

/// `--graph-max-body-bytes`' default.
const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;
/// `--graph-answer-bytes-in-flight`'s default.
const DEFAULT_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// One request to Graph: the method (which also decides how a 404 and a 503 are read, see
/// [`reply`](super::reply)), the URL and the JSON body, if any.
#[derive(Debug, Clone)]
pub(crate) struct GraphRequest {
    pub method: Method,
    pub url: Url,
    pub body: Option<Value>,
    /// An `@odata.nextLink` exactly as Graph wrote it, sent byte for byte instead of `url`
    /// (which is the same link as the `url` crate re-encodes it, for logs and metrics).
    pub exact: Option<String>,
}

impl GraphRequest {
    /// A read; a 404 means "absent", not an error.
    pub(crate) fn get(url: Url) -> Self {
        GraphRequest {
            method: Method::GET,
            url,
            body: None,
            exact: None,
        }
    }

    /// A create or an action; retried only when throttled.
    pub(crate) fn post(url: Url, body: Option<Value>) -> Self {
        GraphRequest {
            method: Method::POST,
            url,
            body,
            exact: None,
        }
    }

    /// A partial update.
    pub(crate) fn patch(url: Url, body: Value) -> Self {
        GraphRequest {
            method: Method::PATCH,
            url,
            body: Some(body),
            exact: None,
        }
    }

    /// A GET of an `@odata.nextLink`, sent exactly as Graph wrote it (`link` must already be
    /// checked to point into Graph's version root, see [`links`](super::links)).
    pub(crate) fn get_exact(url: Url, link: String) -> Self {
        GraphRequest {
            exact: Some(link),
            ..GraphRequest::get(url)
        }
    }

    /// A delete.
    pub(crate) fn delete(url: Url) -> Self {
        GraphRequest {
            method: Method::DELETE,
            url,
            body: None,
            exact: None,
        }
    }
}

/// The shared client.
pub(crate) struct GraphClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    /// Largest answer body read (`--graph-max-body-bytes`).
    max_body: usize,
    /// Sends nextLinks byte for byte (see [`raw`](super::raw)).
    raw: super::raw::RawSender,
    /// Tokens Graph has answered with a 2xx (see [`identity`](crate::backend::identity)).
    vouched: Arc<Vouched>,
    /// The tenants' Graph budgets; none: unlimited (a client built for a unit test).
    tenant: Option<Arc<TenantBudget>>,
    /// Room for the answers being read at once (`--graph-answer-bytes-in-flight`).
    answers: Arc<AnswerBudget>,
    /// What this client, its `$batch` rounds and its pollers count (shown by the gateways
    /// built on it).
    figures: BackendFigures,
}

impl GraphClient {
    /// A client for the Graph version root `base` (e.g. `https://graph.microsoft.com/beta`).
    pub(crate) fn new(
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut base =
            Url::parse(base).map_err(|e| format!("--graph-url `{base}` is not a URL: {e}"))?;
        if !matches!(base.scheme(), "https" | "http") || base.cannot_be_a_base() {
            return Err(format!("--graph-url `{base}` must be an http(s) URL"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gpo-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(GraphClient {
            raw: super::raw::RawSender::new(connect_timeout)?,
            http,
            base,
            timeout,
            max_body: DEFAULT_MAX_BODY,
            vouched: Arc::new(Vouched::default()),
            tenant: None,
            answers: Arc::new(AnswerBudget::new(DEFAULT_ANSWER_BYTES)),
            figures: BackendFigures::default(),
        })
    }

    /// The same client reading answer bodies of at most `bytes`.
    pub(crate) fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The same client holding all answers being read at once to `bytes` together.
    pub(crate) fn with_answer_bytes_in_flight(mut self, bytes: usize) -> Self {
        self.answers = Arc::new(AnswerBudget::new(bytes));
        self
    }

    /// What this client counts: its exchanges, retries, throttles, `$batch` sizes and pollers.
    pub(crate) fn figures(&self) -> &BackendFigures {
        &self.figures
    }

    /// The version root, e.g. `https://graph.microsoft.com/beta`.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// The same client, taking every request's slot from `budget` first.
    /// The client's figures show the budget's (and its Redis').
    pub(crate) fn with_tenant_budget(mut self, budget: Arc<TenantBudget>) -> Self {
        self.figures = BackendFigures::with_budget(budget.figures().clone());
        self.tenant = Some(budget);
        self
    }

    /// The tenants' Graph budgets, when set.
    pub(crate) fn tenant_budget(&self) -> Option<&Arc<TenantBudget>> {
        self.tenant.as_ref()
    }

    /// The tokens Graph has accepted so far.
    pub(crate) fn vouched(&self) -> &Arc<Vouched> {
        &self.vouched
    }

    /// The per-call budget, retries and waits included.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A URL under the version root from path segments (each percent-encoded, so no input can
    /// add a segment, a query or change the host) and query pairs.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to have a path")
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// The same URL relative to the version root, as a Graph `$batch` sub-request wants it.
    pub(crate) fn relative(&self, url: &Url) -> String {
        let path = url.path();
        let root = self.base.path().trim_end_matches('/');
        let mut relative = path.strip_prefix(root).unwrap_or(path).to_owned();
        if let Some(query) = url.query() {
            relative.push('?');
            relative.push_str(query);
        }
        relative
    }

    /// The headers every upstream request carries.
    pub(crate) fn headers(caller: &Caller) -> Result<HeaderMap, Error> {
        let token = caller.token.as_ref().ok_or_else(|| {
            Error::Unauthenticated(
                "Send `Authorization: Bearer <token>` with a Microsoft Graph access token".into(),
            )
        })?;
        let mut headers = HeaderMap::new();
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                Error::Unauthenticated("The bearer token has characters HTTP cannot carry".into())
            })?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Ok(id) = HeaderValue::from_str(&caller.client_request_id) {
            headers.insert("client-request-id", id);
        }
        Ok(headers)
    }

    /// Sends one request with the retry policy and returns its successful answer, read as
    /// `T`. Every attempt is paid from the caller's budget before it is sent; a retry the
    /// budget cannot pay for is not made, and the last answer stands.
    pub(crate) async fn call<T: Body>(
        &self,
        caller: &Caller,
        request: &GraphRequest,
    ) -> Result<Answer<T>, Error> {
        self.call_located(caller, request)
            .await
            .map(|(answer, _)| answer)
    }

    /// [`call`](Self::call), also giving back the answer's `Location` header (a create's).
    pub(crate) async fn call_located<T: Body>(
        &self,
        caller: &Caller,
        request: &GraphRequest,
    ) -> Result<(Answer<T>, Option<String>), Error> {
        // One span over the attempts, so a trace shows how many retries a call took.
        let span = tracing::info_span!(
            "graph.call",
            otel.name = %format_args!(
                "{} {}",
                metrics::method_label(&request.method),
                metrics::graph_route(&self.relative(&request.url))
            ),
            graph.retries = 0,
        );
        let (status, body, location) = self.attempts(caller, request).instrument(span).await?;
        Ok((Answer::of(status, &request.method, body)?, location))
    }

    /// The status, body and `Location` of the successful attempt.
    async fn attempts(
        &self,
        caller: &Caller,
        request: &GraphRequest,
    ) -> Result<(StatusCode, Option<Value>, Option<String>), Error> {
        let headers = Self::headers(caller)?;
        let deadline = Instant::now() + self.timeout;
        let mut attempt = 0;
        caller.budget.spend(1, &self.figures)?;
        let write = request.method != Method::GET;
        loop {
            self.admit(caller, write, 1, deadline).await?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let mut reply = self
                .send_once(request, retry_headers(&headers, attempt), remaining, caller)
                .await?;
            tracing::debug!(method = %request.method, path = request.url.path(), status = reply.status.as_u16(), request_id = ?reply.request_id, attempt, "graph call");
            // A retried DELETE whose first attempt went through finds nothing left to delete.
            if request.method == Method::DELETE
                && attempt > 0
                && reply.status == StatusCode::NOT_FOUND
            {
                return Ok((StatusCode::NO_CONTENT, None, None));
            }
            match ReplyOutcome::of(&mut reply, &request.method, caller) {
                ReplyOutcome::Success(body) => return Ok((reply.status, body, reply.location)),
                ReplyOutcome::Failure(error) => return Err(error),
                ReplyOutcome::Retry(wait, error) => {
                    let throttled = reply.status == StatusCode::TOO_MANY_REQUESTS;
                    let wait = wait.unwrap_or_else(|| match throttled {
                        true => throttle_backoff(attempt),
                        false => backoff(attempt),
                    });
                    if throttled {
                        self.pause_tenant(caller, wait).await;
                    }
                    if attempt >= MAX_RETRIES
                        || Instant::now() + wait >= deadline
                        || caller.budget.spend(1, &self.figures).is_err()
                    {
                        return Err(error);
                    }
                    tracing::debug!(
                        ?wait,
                        status = reply.status.as_u16(),
                        "graph asked us to retry"
                    );
                    self.figures.graph_retries(1);
                    tracing::Span::current().record("graph.retries", attempt + 1);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn urls_keep_every_input_inside_one_path_segment() {
        let client = GraphClient::new(
            "https://graph.microsoft.com/beta",
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .expect("client");
        let url = client.url(&["deviceManagement", "../x?$filter=1#y"], &[]);
        assert_eq!(url.host_str(), Some("graph.microsoft.com"));
        assert_eq!(url.query(), None);
        assert!(url.path().starts_with("/beta/deviceManagement/"), "{url}");
        assert_eq!(url.path_segments().map(|s| s.count()), Some(3));
        assert_eq!(
            client.relative(&client.url(&["a", "b"], &[("$top", "5".into())])),
            "/a/b?%24top=5"
        );
    }
}
