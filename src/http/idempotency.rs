//! Idempotent writes: a client that sends an `Idempotency-Key` header (the IETF draft's name)
//! with a POST may send the same request again, after a timeout or a lost connection, without
//! the work being done twice.
//!
//! - The same key with the same body within 24 h gets the first answer again, replayed.
//! - The same key with another body is `CONFLICT`.
//! - While the first request with a key runs, a repeat waits for its answer (at most
//!   `--idempotency-wait`), then is `CONFLICT` saying the first is still running.
//!
//! Keys are scoped to the caller (a SHA-256 of its `Authorization` header, never the token
//! itself), so one caller can neither replay nor block another's. Where keys live is a
//! [`KeyStore`]: the store's database with `--store-path`, else a bounded table in memory.
//! Only a successful (2xx) answer is kept; any other answer frees the key for a retry.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use lru::LruCache;
use sha2::{Digest, Sha256};

use super::admission::refuse;
use crate::error::Error;

/// The request header a client sends its key in.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;
/// The answer header that marks a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// A key as stored: the caller's scope and the client's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId {
    /// Hex SHA-256 of the caller's `Authorization` header (or of nothing).
    pub scope: String,
    pub key: String,
}

/// The first answer to a keyed request, as kept for replays.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status; 0 for a request the gateway stopped during (outcome unknown).
    pub status: u16,
    pub content_type: Option<String>,
    /// `None` when the answer was larger than `--idempotency-max-answer-bytes` to keep.
    pub body: Option<Vec<u8>>,
}

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// The key is now this request's: run it.
    New,
    /// A request with the key is running; `same_body` says whether it is the same request.
    Running { same_body: bool },
    /// The key has an answer.
    Done { same_body: bool, answer: Answer },
}

/// Where keys live. Calls may block (a database), so the middleware makes them on Tokio's
/// blocking pool.
pub trait KeyStore: Send + Sync + 'static {
    /// Claims `id` for a request whose body hashes to `fingerprint`, unless it is known.
    fn claim(&self, id: &KeyId, fingerprint: &str, now: SystemTime) -> Result<Claim, Error>;
    /// Records the answer of the request that claimed `id`.
    fn complete(&self, id: &KeyId, answer: &Answer) -> Result<(), Error>;
    /// Frees `id` (its request ended without an answer worth keeping).
    fn release(&self, id: &KeyId) -> Result<(), Error>;
}

/// How the middleware is bounded (from the `Config`).
#[derive(Clone)]
pub struct Limits {
    /// Largest request body read, as the body limits allow.
    pub max_body_bytes: usize,
    /// Largest answer kept for replays.
    pub max_answer_bytes: usize,
    /// How long a repeat waits for the first request with its key.
    pub wait: Duration,
}

#[derive(Clone)]
struct Guard {
    keys: Arc<dyn KeyStore>,
    limits: Limits,
}

/// `router` with idempotent writes over `keys`.
pub fn wrap(router: Router, keys: Arc<dyn KeyStore>, limits: Limits) -> Router {
    router.layer(from_fn_with_state(Guard { keys, limits }, idempotency))
}

fn conflict(headers: &HeaderMap, message: String) -> Response {
    refuse(
        headers,
        StatusCode::CONFLICT,
        &Error::Conflict(message),
        None,
    )
}

/// The key of a request, or its refusal.
fn key_of(headers: &HeaderMap) -> Option<Result<String, Response>> {
    let value = headers.get(HEADER)?;
    let bad = |message: String| {
        refuse(
            headers,
            StatusCode::BAD_REQUEST,
            &Error::BadUserInput {
                message,
                argument: None,
            },
            None,
        )
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

fn scope_of(headers: &HeaderMap) -> String {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    hex(&Sha256::digest(authorization))
}

async fn blocking<T: Send + 'static>(
    keys: &Arc<dyn KeyStore>,
    work: impl FnOnce(&dyn KeyStore) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let keys = Arc::clone(keys);
    tokio::task::spawn_blocking(move || work(keys.as_ref()))
        .await
        .map_err(|e| Error::Internal(format!("idempotency task failed: {e}")))?
}

async fn idempotency(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match key_of(request.headers()) {
        None => return next.run(request).await,
        Some(Err(refusal)) => return refusal,
        Some(Ok(key)) => key,
    };
    let id = KeyId {
        scope: scope_of(request.headers()),
        key,
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, guard.limits.max_body_bytes).await else {
        let error = Error::LimitExceeded(format!(
            "The request body is larger than {} bytes",
            guard.limits.max_body_bytes
        ));
        return refuse(&parts.headers, StatusCode::PAYLOAD_TOO_LARGE, &error, None);
    };
    let fingerprint = hex(&Sha256::digest(&bytes));
    if let Some(early) = claim(&guard, &id, &fingerprint, &parts.headers).await {
        return early;
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    keep(&guard, id, response).await
}

/// Claims the key; `Some` is the answer to give instead of running the request.
async fn claim(
    guard: &Guard,
    id: &KeyId,
    fingerprint: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    let deadline = Instant::now() + guard.limits.wait;
    loop {
        let (claim_id, print) = (id.clone(), fingerprint.to_owned());
        let outcome = blocking(&guard.keys, move |keys| {
            keys.claim(&claim_id, &print, SystemTime::now())
        })
        .await;
        let claim = match outcome {
            Ok(claim) => claim,
            Err(e) => return Some(refuse(headers, StatusCode::INTERNAL_SERVER_ERROR, &e, None)),
        };
        match claim {
            Claim::New => return None,
            Claim::Done {
                same_body: true,
                answer,
            } => return Some(replay(headers, answer)),
            Claim::Done {
                same_body: false, ..
            }
            | Claim::Running { same_body: false } => {
                return Some(conflict(
                    headers,
                    "This Idempotency-Key was used with a different request body; use a new key \
                     for a new request"
                        .to_owned(),
                ));
            }
            Claim::Running { same_body: true } if Instant::now() >= deadline => {
                return Some(conflict(
                    headers,
                    "A request with this Idempotency-Key is still running; retry later to get \
                     its answer"
                        .to_owned(),
                ));
            }
            // Waiting for the first request's answer: it is short (a request is bounded by
            // --request-timeout), and a poll costs one small lookup.
            Claim::Running { same_body: true } => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
        }
    }
}

fn replay(headers: &HeaderMap, answer: Answer) -> Response {
    if answer.status == 0 {
        return conflict(
            headers,
            "The gateway stopped while this Idempotency-Key's request was running, so its \
             outcome is unknown; read the current state with a query"
                .to_owned(),
        );
    }
    let Some(body) = answer.body else {
        return conflict(
            headers,
            "This Idempotency-Key's request was done, but its answer was too large to keep; read \
             the result with a query"
                .to_owned(),
        );
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    if let Some(value) = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Records the answer of the request that claimed `id` (or frees the key) and returns it.
async fn keep(guard: &Guard, id: KeyId, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let outcome = blocking(&guard.keys, move |keys| keys.release(&id)).await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "an idempotency key could not be freed");
        }
        return Response::from_parts(parts, body);
    }
    // Answers are already bounded by the response limits (--max-response-bytes and the batch
    // limit), so reading one whole costs no more than sending it.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let error = Error::Internal(format!("the answer could not be read: {e}"));
            return refuse(
                &parts.headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                &error,
                None,
            );
        }
    };
    let answer = Answer {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: (bytes.len() <= guard.limits.max_answer_bytes).then(|| bytes.to_vec()),
    };
    let outcome = blocking(&guard.keys, move |keys| keys.complete(&id, &answer)).await;
    if let Err(e) = outcome {
        tracing::error!(error = %e, "an idempotency key's answer could not be kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Seconds since the epoch (0 before it).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A key in memory: its body's fingerprint, when it was claimed (seconds since the epoch),
/// and its answer once there is one.
type Entry = (String, u64, Option<Answer>);

/// Keys kept in this process only, at most `capacity` of them (the least recently used go
/// first). With several replicas each has its own table: a retry that reaches another replica
/// is not recognised.
pub struct MemoryKeys {
    table: Mutex<LruCache<KeyId, Entry>>,
}

impl MemoryKeys {
    pub fn new(capacity: NonZeroUsize) -> Self {
        MemoryKeys {
            table: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, LruCache<KeyId, Entry>> {
        // Every change is a single insert or removal: a poisoned table is still whole.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyStore for MemoryKeys {
    fn claim(&self, id: &KeyId, fingerprint: &str, now: SystemTime) -> Result<Claim, Error> {
        let now = unix_seconds(now);
        let mut table = self.table();
        if let Some((print, created, answer)) = table.get(id)
            && now < created + KEY_LIFETIME.as_secs()
        {
            let same_body = print == fingerprint;
            return Ok(match answer {
                None => Claim::Running { same_body },
                Some(answer) => Claim::Done {
                    same_body,
                    answer: answer.clone(),
                },
            });
        }
        table.put(id.clone(), (fingerprint.to_owned(), now, None));
        Ok(Claim::New)
    }

    fn complete(&self, id: &KeyId, answer: &Answer) -> Result<(), Error> {
        if let Some(entry) = self.table().get_mut(id) {
            entry.2 = Some(answer.clone());
        }
        Ok(())
    }

    fn release(&self, id: &KeyId) -> Result<(), Error> {
        self.table().pop(id);
        Ok(())
    }
}
