//! Idempotent writes over HTTP: a client that sends an `Idempotency-Key` header (the IETF
//! draft's name) with a POST that holds a mutation may send it again, after a timeout or a
//! lost connection, and the write is done once. The keys themselves live in a
//! [`KeyStore`](crate::idempotency::KeyStore); this layer decides what uses one and what is
//! kept.
//!
//! It sits after admission (body limits, large-body slots, the in-flight cap), so a keyed
//! request is held to every limit an unkeyed one is, and a repeat that waits holds an
//! in-flight permit while it waits. It sits before compression, so answers are kept as the
//! handler wrote them and each replay is encoded for the client that asks.
//!
//! A keyed request runs detached from its connection: a client that leaves, or a deadline that
//! answers 504, does not stop it, and its real outcome is what a retry gets.

mod outcome;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::CLIENT_REQUEST_ID;
use super::admission::{InFlight, RETRY_AFTER_SECONDS, refuse};
use super::handlers::caller_from;
use crate::backend::{Backend, BearerToken, identity};
use crate::error::Error;
use crate::idempotency::{Answer, Claim, KeyId, KeyStore, MAX_KEY_BYTES};
use crate::shared_state::keys::UNAVAILABLE_RETRY_AFTER_SECONDS;

/// The request header a client sends its key in.
pub const HEADER: &str = "idempotency-key";
/// The answer header that marks a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// What the layer needs: where keys live, who callers are, and its two bounds.
#[derive(Clone)]
pub(crate) struct Guard {
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) backend: Arc<dyn Backend>,
    /// Largest request body read, as the body limits allow.
    pub(crate) max_body_bytes: usize,
    /// Largest answer read to be kept.
    pub(crate) max_answer_bytes: usize,
    /// How long a repeat waits for the first request with its key.
    pub(crate) wait: Duration,
}

fn conflict(headers: &HeaderMap, message: &str) -> Response {
    let error = Error::Conflict(message.to_owned());
    refuse(headers, StatusCode::CONFLICT, &error, None)
}

/// The key of a request, or its refusal.
fn key_of(headers: &HeaderMap) -> Option<Result<String, Response>> {
    let value = headers.get(HEADER)?;
    let bad = |message: String| {
        let error = Error::BadUserInput {
            message,
            argument: None,
        };
        refuse(headers, StatusCode::BAD_REQUEST, &error, None)
    };
    let Ok(text) = value.to_str() else {
        return Some(Err(bad("Idempotency-Key must be visible ASCII".to_owned())));
    };
    if text.is_empty() || text.len() > MAX_KEY_BYTES {
        return Some(Err(bad(format!(
            "Idempotency-Key must have 1 to {MAX_KEY_BYTES} characters; it has {}",
            text.len()
        ))));
    }
    Some(Ok(text.to_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who the caller is, as a hash: the tenant, subject and app of its token once Graph has
/// accepted that token, else the token itself (its scheme and spacing normalised), else
/// nobody in particular (one shared scope for requests without a token).
fn scope_of(backend: &dyn Backend, token: Option<&BearerToken>) -> String {
    let who = match token {
        None => "anonymous".to_owned(),
        Some(token) => match backend.vouched_claims(token) {
            Some(claims) if claims.tenant.is_some() || claims.subject.is_some() => {
                let part = |p: &Option<String>| p.clone().unwrap_or_default();
                let (tenant, subject, app) = (
                    part(&claims.tenant),
                    part(&claims.subject),
                    part(&claims.app),
                );
                format!("claims\n{tenant}\n{subject}\n{app}")
            }
            _ => return token_scope(token),
        },
    };
    hex(&Sha256::digest(who.as_bytes()))
}

/// The scope of a token Graph has not accepted: the token itself, as a hash.
fn token_scope(token: &BearerToken) -> String {
    let who = format!("token\n{}", identity::fingerprint(token));
    hex(&Sha256::digest(who.as_bytes()))
}

/// The layer: passes everything but keyed POSTs that may write; runs those once per key.
pub(crate) async fn idempotency(
    State(guard): State<Guard>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match key_of(request.headers()) {
        None => return next.run(request).await,
        Some(Err(refusal)) => return refusal,
        Some(Ok(key)) => key,
    };
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, guard.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e) => return unreadable(&parts.headers, &e, guard.max_body_bytes),
    };
    if !outcome::may_mutate(&bytes) {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let token = caller_from(&parts.headers).token;
    let id = KeyId {
        scope: scope_of(guard.backend.as_ref(), token.as_ref()),
        key,
    };
    let fingerprint = hex(&Sha256::digest(&bytes));
    if let Some(early) = claim(&guard, &id, &fingerprint, &parts.headers).await {
        return early;
    }
    let headers = parts.headers.clone();
    let permit = parts.extensions.get::<InFlight>().cloned();
    let request = Request::from_parts(parts, Body::from(bytes));
    let run = Run {
        guard,
        id,
        fingerprint,
        token,
        _permit: permit,
        settled: false,
    };
    // Detached: dropping this future (a client gone, a deadline) leaves the task running.
    match tokio::spawn(run.finish(request, next)).await {
        Ok(response) => response,
        Err(e) => {
            let error = Error::Internal(format!("a keyed request failed: {e}"));
            refuse(&headers, StatusCode::INTERNAL_SERVER_ERROR, &error, None)
        }
    }
}

/// A body that could not be read: over the limit (413), or cut off (the serving loop turns a
/// late body into 408).
fn unreadable(headers: &HeaderMap, e: &axum::Error, limit: usize) -> Response {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            let error =
                Error::LimitExceeded(format!("The request body is larger than {limit} bytes"));
            return refuse(headers, StatusCode::PAYLOAD_TOO_LARGE, &error, None);
        }
        source = error.source();
    }
    let error = Error::BadUserInput {
        message: "The request body could not be read".to_owned(),
        argument: None,
    };
    refuse(headers, StatusCode::BAD_REQUEST, &error, None)
}

/// Claims the key; `Some` is the answer to give instead of running the request.
async fn claim(
    guard: &Guard,
    id: &KeyId,
    fingerprint: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    let mut found = guard.keys.claim(id, fingerprint).await;
    if let Ok(Claim::Running { same_body: true }) = found {
        let until = Instant::now() + guard.wait;
        found = guard.keys.wait(id, fingerprint, until).await;
    }
    match found {
        Ok(Claim::New) => None,
        Ok(Claim::Done {
            same_body: true,
            answer,
        }) => Some(replay(headers, answer)),
        Ok(Claim::Done {
            same_body: false, ..
        })
        | Ok(Claim::Running { same_body: false }) => Some(conflict(
            headers,
            "This Idempotency-Key was used with a different request body; use a new key for a \
             new request",
        )),
        Ok(Claim::Running { same_body: true }) => Some(conflict(
            headers,
            "A request with this Idempotency-Key is still running; retry later to get its answer",
        )),
        Err(error @ Error::LimitExceeded(_)) => Some(refuse(
            headers,
            StatusCode::SERVICE_UNAVAILABLE,
            &error,
            Some(RETRY_AFTER_SECONDS),
        )),
        // Only a shared key store that cannot be reached fails this way: retry, nothing ran.
        Err(error @ Error::Upstream { .. }) => Some(refuse(
            headers,
            StatusCode::SERVICE_UNAVAILABLE,
            &error,
            Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
        )),
        Err(error) => Some(refuse(
            headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            &error,
            None,
        )),
    }
}

/// The kept answer, with this request's `client-request-id`.
fn replay(headers: &HeaderMap, answer: Answer) -> Response {
    if answer.status == 0 {
        return conflict(
            headers,
            "The gateway stopped while this Idempotency-Key's request was running, so its \
             outcome is unknown; read the current state with a query",
        );
    }
    let Some(body) = answer.body else {
        return conflict(
            headers,
            "This Idempotency-Key's request was done, but its answer was too large to keep; read \
             the result with a query",
        );
    };
    let written = super::serve::AnswerBytes(body.len());
    let mut response = Response::new(Body::from(body));
    response.extensions_mut().insert(written);
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers_out = response.headers_mut();
    if let Some(value) = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        headers_out.insert(header::CONTENT_TYPE, value);
    }
    headers_out.insert(REPLAYED, HeaderValue::from_static("true"));
    let id = caller_from(headers).client_request_id;
    if let Ok(id) = HeaderValue::from_str(&id) {
        headers_out.insert(CLIENT_REQUEST_ID, id);
    }
    response
}

/// A keyed request that holds its key.
struct Run {
    guard: Guard,
    id: KeyId,
    fingerprint: String,
    token: Option<BearerToken>,
    /// The in-flight permit, kept until the request ends even after its client got a 504.
    _permit: Option<InFlight>,
    /// Whether the outcome was recorded; a run that ends otherwise (a panic) frees its key.
    settled: bool,
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (keys, id) = (Arc::clone(&self.guard.keys), self.id.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { keys.release(&id).await });
        }
    }
}

impl Run {
    /// Runs the request and records its outcome: its answer when something ran, else the
    /// key goes free for a retry.
    async fn finish(mut self, request: Request, next: Next) -> Response {
        let (parts, body) = next.run(request).await.into_parts();
        // Answers are already bounded by the response limits (--max-response-bytes and the
        // batch limit), so reading one whole costs no more than sending it.
        let read = match to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "a keyed request's answer could not be read");
                Bytes::new()
            }
        };
        let kept = (read.len() <= self.guard.max_answer_bytes).then_some(&read);
        let ran = outcome::something_ran(parts.status.as_u16(), kept.map(|b| &b[..]));
        let keys = &self.guard.keys;
        let recorded = if ran {
            let answer = Answer {
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: kept.map(|b| b.to_vec()),
            };
            self.record_where_vouched(&answer).await;
            keys.complete(&self.id, answer).await
        } else {
            keys.release(&self.id).await
        };
        self.settled = true;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "an idempotency key's outcome could not be recorded");
        }
        Response::from_parts(parts, Body::from(read))
    }

    /// A token Graph accepted during this request now scopes by its claims: the answer is
    /// kept there too, so a retry with a refreshed token of the same caller finds it.
    /// With keys shared by replicas, the answer is also kept under the token's own scope,
    /// which is where a replica that has not seen Graph accept this token looks for it (each
    /// replica learns on its own which tokens Graph accepted).
    async fn record_where_vouched(&self, answer: &Answer) {
        let vouched = scope_of(self.guard.backend.as_ref(), self.token.as_ref());
        let own = self
            .token
            .as_ref()
            .filter(|_| self.guard.keys.shared())
            .map(token_scope);
        for scope in [Some(vouched), own].into_iter().flatten() {
            if scope == self.id.scope {
                continue;
            }
            let id = KeyId {
                scope,
                key: self.id.key.clone(),
            };
            if let Ok(Claim::New) = self.guard.keys.claim(&id, &self.fingerprint).await
                && let Err(e) = self.guard.keys.complete(&id, answer.clone()).await
            {
                tracing::error!(error = %e, "an idempotency key's answer could not be kept");
            }
        }
    }
}
