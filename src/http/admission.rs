//! Admission: what a request must pass before the gateway spends work on it. A declared body
//! over the limit is refused before a byte of it is read; GraphQL requests over HTTP are
//! capped in number (load shedding) and in time (a deadline). `/healthz` and `/readyz` sit
//! outside the cap, so probes are answered while the gateway sheds load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::HttpConfig;
use super::flowing::{Flowing, LateBody, SharedSlot};
use super::handlers::caller_from;
use super::negotiation::Negotiated;
use super::response::Rejection;
use crate::error::Error;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

pub(crate) use crate::refusal::RETRY_AFTER_SECONDS;

/// A refusal in GraphQL's response shape, in the media type the client accepts, with the
/// client's `client-request-id` echoed; `retry_after` adds `Retry-After`.
pub(crate) fn refuse(
    headers: &HeaderMap,
    status: StatusCode,
    error: &Error,
    retry_after: Option<u64>,
) -> Response {
    let media = Negotiated::of(headers).response;
    let mut rejection = Rejection::new(status, error.clone(), media, &caller_from(headers));
    if let Some(seconds) = retry_after {
        rejection = rejection.with_header(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    rejection.into_response()
}

/// A refusal by a limit, answered as [`refuse`] answers (and counted in `metrics`).
pub(crate) fn refuse_over(metrics: &Metrics, headers: &HeaderMap, refusal: Refusal) -> Response {
    let media = Negotiated::of(headers).response;
    Rejection::over_limit(metrics, refusal, media, &caller_from(headers)).into_response()
}

/// How request bodies are admitted: any body up to `plain` bytes; a larger one (an upload, up
/// to `limit`) only with a declared length and one of a few slots, so that the memory large
/// bodies take at once stays bounded whatever the number of requests in flight.
#[derive(Clone)]
pub(crate) struct BodyAdmission {
    plain: usize,
    limit: usize,
    large: Arc<Semaphore>,
    large_cap: usize,
    /// Bytes a large body must bring each second to keep its slot (0: no minimum).
    min_rate: usize,
    metrics: Metrics,
}

impl BodyAdmission {
    pub(crate) fn new(config: &HttpConfig, metrics: Metrics) -> Self {
        BodyAdmission {
            metrics,
            plain: config.max_body_bytes,
            limit: config.body_limit(),
            large: Arc::new(Semaphore::new(config.max_large_bodies)),
            large_cap: config.max_large_bodies,
            min_rate: config.large_body_min_rate,
        }
    }
}

/// Admits a request's body: a declared length over the limit is refused with 413 at once
/// (waiting for a gigabyte that will be refused anyway only holds a connection); a declared
/// length over `--max-body-bytes` takes a large-body slot for the request's lifetime (or until
/// its body stops flowing, see [`super::flowing`]), or gets 503 when none is free; a body of
/// unknown length is held to `--max-body-bytes`.
pub(crate) async fn admit_body(
    State(bodies): State<BodyAdmission>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| request.body().size_hint().exact());
    match declared {
        Some(length) if length > bodies.limit as u64 => {
            let refusal = Refusal::BodyBytes {
                limit: bodies.limit,
            };
            unread_body_refusal(&bodies.metrics, request.headers(), refusal)
        }
        Some(length) if length > bodies.plain as u64 => {
            let Ok(slot) = Arc::clone(&bodies.large).try_acquire_owned() else {
                let refusal = Refusal::LargeBodies {
                    slots: bodies.large_cap,
                    plain: bodies.plain,
                };
                return unread_body_refusal(&bodies.metrics, request.headers(), refusal);
            };
            if bodies.min_rate == 0 {
                let _slot = slot;
                return next.run(request).await;
            }
            // Held until the request ends, unless the body stalls first.
            let slot: SharedSlot = Arc::new(Mutex::new(Some(slot)));
            let late = request.extensions().get::<LateBody>().cloned();
            let (parts, body) = request.into_parts();
            let body = Flowing::new(body, bodies.min_rate, Arc::clone(&slot), late);
            next.run(Request::from_parts(parts, axum::body::Body::new(body)))
                .await
        }
        Some(_) => next.run(request).await,
        None => {
            // No declared length (chunked): only a body a slot is not needed for.
            let (parts, body) = request.into_parts();
            let body = axum::body::Body::new(http_body_util::Limited::new(body, bodies.plain));
            next.run(Request::from_parts(parts, body)).await
        }
    }
}

/// A refusal sent before the body was read, which closes the connection: the unread body
/// would otherwise be taken for the next request.
fn unread_body_refusal(metrics: &Metrics, headers: &HeaderMap, refusal: Refusal) -> Response {
    let mut response = refuse_over(metrics, headers, refusal);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request's in-flight permit, in its extensions for work that must keep holding it.
pub(crate) type InFlight = Arc<tokio::sync::OwnedSemaphorePermit>;

/// The in-flight cap and deadline of GraphQL requests over HTTP.
#[derive(Clone)]
pub(crate) struct LoadShedder {
    permits: Arc<Semaphore>,
    cap: usize,
    deadline: Duration,
    metrics: Metrics,
}

impl LoadShedder {
    pub(crate) fn new(config: &HttpConfig, metrics: Metrics) -> Self {
        LoadShedder {
            metrics,
            permits: Arc::new(Semaphore::new(config.max_in_flight)),
            cap: config.max_in_flight,
            deadline: config.request_timeout,
        }
    }
}

/// Serves a GraphQL request if one of the in-flight permits is free (else 503 with
/// `Retry-After`, `LIMIT_EXCEEDED`) and within the deadline (else 504, `LIMIT_EXCEEDED`; the
/// work is dropped, so a mutation may or may not have taken effect). WebSocket upgrades pass:
/// they are long-lived and have caps of their own.
pub(crate) async fn shed_load(
    State(shedder): State<LoadShedder>,
    request: Request,
    next: Next,
) -> Response {
    if super::ws::is_upgrade(request.headers()) {
        return next.run(request).await;
    }
    let Ok(permit) = Arc::clone(&shedder.permits).try_acquire_owned() else {
        let refusal = Refusal::InFlight { limit: shedder.cap };
        return refuse_over(&shedder.metrics, request.headers(), refusal);
    };
    let _in_flight = shedder.metrics.in_flight();
    // Shared with work that outlives the answer (a keyed request runs to its end): the permit
    // goes back when both are done.
    let permit: InFlight = Arc::new(permit);
    let mut request = request;
    request.extensions_mut().insert(Arc::clone(&permit));
    // Kept for the refusal: the request itself moves into the handler.
    let headers = request.headers().clone();
    match tokio::time::timeout(shedder.deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(deadline = ?shedder.deadline, "request cut off at its deadline");
            let refusal = Refusal::RequestTimeout {
                deadline: shedder.deadline,
            };
            refuse_over(&shedder.metrics, &headers, refusal)
        }
    }
}
