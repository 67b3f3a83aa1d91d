//! One HTTP exchange with Graph, no retries: the request sent (through reqwest, or byte for
//! byte for a nextLink, see [`raw`](super::super::raw)), the answer's body read with a running
//! count up to `--graph-max-body-bytes`, and transport failures turned into errors.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Buf;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use tracing::Instrument;

use super::super::answer_room::{Holding, NoRoom};
use super::super::reply::Reply;
use super::{GraphClient, GraphRequest, parse_retry_after};
use crate::backend::Caller;
use crate::error::{Code, Error, UpstreamDetail};
use crate::telemetry::metrics;

impl GraphClient {
    /// One HTTP exchange, no retries. Transport failures and timeouts become errors here.
    pub(crate) async fn send_once(
        &self,
        graph_request: &GraphRequest,
        headers: HeaderMap,
        timeout: Duration,
        caller: &Caller,
    ) -> Result<Reply, Error> {
        let route = metrics::graph_route(&self.relative(&graph_request.url));
        let method_label = metrics::method_label(&graph_request.method);
        let span = request_span(method_label, route);
        let mut headers = headers;
        crate::telemetry::traces::propagate(&span, &mut headers);
        let detail = || UpstreamDetail {
            client_request_id: Some(caller.client_request_id.clone()),
            ..Default::default()
        };
        let started = Instant::now();
        // The answer's room in `--graph-answer-bytes-in-flight`, held until it is parsed.
        let mut holding = self.answers.holding();
        let sent = match &graph_request.exact {
            Some(link) if self.raw.available() => {
                self.raw
                    .get(link, headers, timeout, self.max_body, &mut holding)
                    .instrument(span.clone())
                    .await
            }
            _ => {
                self.send_with_reqwest(graph_request, headers, timeout, &mut holding)
                    .instrument(span.clone())
                    .await
            }
        };
        let raw = sent.map_err(|failure| {
            self.figures
                .graph_request(method_label, route, 0, started.elapsed());
            failure.into_error(detail())
        })?;
        let status = raw.status;
        self.figures
            .graph_request(method_label, route, status.as_u16(), started.elapsed());
        if status.is_success()
            && let Some(token) = &caller.token
        {
            self.vouched.record(token);
        }
        let request_id = header(&raw.headers, "request-id");
        span.record("http.response.status_code", status.as_u16());
        if let Some(id) = &request_id {
            span.record("graph.request_id", id.as_str());
        }
        let retry_after = raw
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.figures.graph_throttled(retry_after);
        }
        let bytes = match raw.body {
            Ok(bytes) => bytes,
            Err(failure) => {
                return Err(failure.into_error(UpstreamDetail {
                    status: Some(status.as_u16()),
                    request_id,
                    ..detail()
                }));
            }
        };
        let (body, unreadable) = read_json(&bytes);
        drop((bytes, holding));
        Ok(Reply {
            status,
            request_id,
            retry_after,
            location: header(&raw.headers, "location"),
            route: format!(
                "{method_label} {}",
                route_name(&self.relative(&graph_request.url))
            ),
            shaped_by_user: graph_request.body.is_some(),
            body,
            unreadable,
        })
    }

    /// One exchange through the shared reqwest client, the body read with a running count
    /// and its room taken in `holding` (see [`answer_room`](super::super::answer_room)).
    async fn send_with_reqwest(
        &self,
        graph_request: &GraphRequest,
        headers: HeaderMap,
        timeout: Duration,
        holding: &mut Holding,
    ) -> Result<RawReply, SendFailure> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut request = self
            .http
            .request(graph_request.method.clone(), graph_request.url.clone())
            .headers(headers)
            .timeout(timeout);
        if let Some(body) = &graph_request.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(SendFailure::from)?;
        let status = response.status();
        let headers = response.headers().clone();
        let declared = response.content_length();
        let body = read_held(
            reqwest::Body::from(response),
            declared,
            self.max_body,
            holding,
            deadline,
        )
        .await;
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }
}

/// The span of one Graph call; the status and Graph's request id are recorded on it later.
fn request_span(method_label: &'static str, route: &'static str) -> tracing::Span {
    tracing::info_span!(
        "graph.request",
        otel.name = %format_args!("{method_label} {route}"),
        otel.kind = "client",
        http.request.method = method_label,
        url.template = route,
        http.response.status_code = tracing::field::Empty,
        graph.request_id = tracing::field::Empty,
    )
}

/// A body as JSON: `None` when empty, and flagged unreadable when it is not JSON.
fn read_json(bytes: &[u8]) -> (Option<serde_json::Value>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => (Some(value), false),
        Err(_) => (None, true),
    }
}

/// A route as an error names it: the metrics template when it has one, else the path.
pub(in crate::backend::graph) fn route_name(relative: &str) -> String {
    let path = relative.split('?').next().unwrap_or_default();
    match metrics::graph_route(path) {
        "other" => path.to_owned(),
        template => template.to_owned(),
    }
}

/// The status, headers and body (read within the size limit) of one exchange.
pub(in crate::backend::graph) struct RawReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Result<Vec<u8>, SendFailure>,
}

/// Why an exchange gave no usable answer.
#[derive(Debug)]
pub(in crate::backend::graph) enum SendFailure {
    Timeout(String),
    Unreachable(String),
    /// The answer body was larger than `--graph-max-body-bytes`.
    TooLarge(usize),
    /// No room for the answer in `--graph-answer-bytes-in-flight`.
    NoRoom(NoRoom),
}

impl From<NoRoom> for SendFailure {
    fn from(no_room: NoRoom) -> Self {
        SendFailure::NoRoom(no_room)
    }
}

impl From<hyper::Error> for SendFailure {
    fn from(error: hyper::Error) -> Self {
        SendFailure::Unreachable(error.to_string())
    }
}

impl From<reqwest::Error> for SendFailure {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            SendFailure::Timeout(error.to_string())
        } else {
            SendFailure::Unreachable(error.to_string())
        }
    }
}

impl SendFailure {
    pub(in crate::backend::graph) fn into_error(self, detail: UpstreamDetail) -> Error {
        let (code, message) = match self {
            SendFailure::TooLarge(limit) => {
                tracing::warn!(limit, "graph answer over --graph-max-body-bytes");
                (
                    Code::UpstreamError,
                    format!(
                        "Microsoft Graph answered with a body over {limit} bytes \
                         (--graph-max-body-bytes); it was not read"
                    ),
                )
            }
            SendFailure::NoRoom(no_room) => {
                let (message, limit) = match no_room {
                    NoRoom::Larger(limit) => (
                        format!(
                            "Microsoft Graph answered with a body over the {limit} bytes of \
                             --graph-answer-bytes-in-flight; it was not read"
                        ),
                        limit,
                    ),
                    NoRoom::Taken(limit) => (
                        format!(
                            "The gateway is reading {limit} bytes of Microsoft Graph answers \
                             (--graph-answer-bytes-in-flight); try again shortly"
                        ),
                        limit,
                    ),
                };
                tracing::warn!(limit, "no room for a graph answer");
                (Code::LimitExceeded, message)
            }
            // The error text can include the URL; it carries no secret, but keep it in logs.
            SendFailure::Timeout(error) => {
                tracing::warn!(%error, "graph transport timeout");
                (
                    Code::UpstreamTimeout,
                    "Microsoft Graph did not answer in time".to_owned(),
                )
            }
            SendFailure::Unreachable(error) => {
                tracing::warn!(%error, "graph transport failure");
                (
                    Code::UpstreamError,
                    "Microsoft Graph could not be reached".to_owned(),
                )
            }
        };
        Error::Upstream {
            code,
            message,
            detail: Box::new(detail),
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads an answer's body within `limit` with its room in the shared answer budget: an answer
/// that declares its length waits (until `deadline`) for room for all of it before a byte is
/// read; one that does not takes room as its chunks arrive.
pub(in crate::backend::graph) async fn read_held<B>(
    body: B,
    declared: Option<u64>,
    limit: usize,
    holding: &mut Holding,
    deadline: tokio::time::Instant,
) -> Result<Vec<u8>, SendFailure>
where
    B: http_body::Body,
    B::Error: Into<SendFailure>,
{
    if let Some(length) = declared.filter(|&n| n <= limit as u64) {
        holding.wait_for(length as usize, deadline).await?;
    }
    read_within(body, limit, Some(holding)).await
}

/// Reads an answer's body, refusing it as soon as it says or turns out to be over `limit`
/// bytes: the one rule for every way a Graph answer is read (reqwest's and the byte-for-byte
/// sender's). With `room`, the bytes read so far are held in the shared answer budget.
pub(in crate::backend::graph) async fn read_within<B>(
    body: B,
    limit: usize,
    mut room: Option<&mut Holding>,
) -> Result<Vec<u8>, SendFailure>
where
    B: http_body::Body,
    B::Error: Into<SendFailure>,
{
    if body.size_hint().lower() > limit as u64 {
        return Err(SendFailure::TooLarge(limit));
    }
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Into::into)?;
        if let Ok(mut chunk) = frame.into_data() {
            if bytes.len() + chunk.remaining() > limit {
                return Err(SendFailure::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining()));
            if let Some(holding) = room.as_deref_mut() {
                holding.grow_to(bytes.len())?;
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use http_body_util::{Full, StreamBody};
    use hyper::body::{Bytes, Frame};

    use super::*;

    #[tokio::test]
    async fn an_answer_is_read_only_within_its_limit_said_or_counted() {
        let said = || {
            Full::new(Bytes::from_static(b"0123456789"))
                .map_err(|never| -> SendFailure { match never {} })
        };
        assert_eq!(
            read_within(said(), 10, None).await.expect("fits"),
            b"0123456789"
        );
        assert!(matches!(
            read_within(said(), 9, None).await,
            Err(SendFailure::TooLarge(9))
        ));
        // No length said: the running count refuses it.
        let counted = || {
            let frames =
                ["01234", "56789"].map(|c| Ok::<_, SendFailure>(Frame::data(Bytes::from(c))));
            StreamBody::new(stream::iter(frames))
        };
        assert_eq!(
            read_within(counted(), 10, None).await.expect("fits").len(),
            10
        );
        assert!(matches!(
            read_within(counted(), 7, None).await,
            Err(SendFailure::TooLarge(7))
        ));
    }
}
