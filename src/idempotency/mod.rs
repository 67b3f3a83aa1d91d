//! Idempotency keys, as a store of their own: neither the HTTP layer (which reads the
//! `Idempotency-Key` header and decides what to keep) nor a backend (which may hold the keys
//! next to its data) owns them, so each depends on this module and never on the other.
//!
//! A key is claimed by the first request that carries it, with a fingerprint of that
//! request's body; a repeat waits for its outcome; the outcome is either an answer (kept for
//! [`KEY_LIFETIME`]) or a release (the request did nothing, so a retry runs it). Stores are
//! bounded in bytes, in total and per caller ([`Limits`]).

mod memory;
mod notices;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::{Code, Error};

pub use memory::MemoryKeys;
pub use notices::Notices;

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;
/// What a key costs besides its strings and answer: its place in the tables and timestamps.
pub const ENTRY_OVERHEAD_BYTES: usize = 160;

/// A key as stored: the caller's scope and the client's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId {
    /// Hex SHA-256 of who the caller is (see the HTTP layer's scoping); never a token.
    pub scope: String,
    /// The client's `Idempotency-Key` header, as sent (at most `MAX_KEY_BYTES`).
    pub key: String,
}

/// The first answer to a keyed request, as kept for replays: uncompressed, so each replay is
/// encoded as its own client asks.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status; 0 for a request the gateway stopped during (outcome unknown).
    pub status: u16,
    /// The answer's `Content-Type`; `None` when it had none.
    pub content_type: Option<String>,
    /// `None` when the answer was too large to keep.
    pub body: Option<Vec<u8>>,
}

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// The key is now this request's: run it, then `complete` or `release` it.
    New,
    /// A request with the key is running; `same_body` says whether it is the same request.
    Running {
        /// True when this request's body matches the running one's (a repeat may wait for its
        /// answer); false when the key was reused for another body (a `CONFLICT`).
        same_body: bool,
    },
    /// The key has an answer.
    Done {
        /// True when this request's body matches the first one's, so `answer` is replayed;
        /// false when the key was reused for another body (a `CONFLICT`).
        same_body: bool,
        /// The first request's answer.
        answer: Answer,
    },
}

/// How much a store keeps.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most keys held.
    pub max_keys: usize,
    /// Most bytes held by all keys (strings, fingerprints and answers).
    pub max_bytes: usize,
    /// Most bytes held by one caller's keys: a caller over it loses its own oldest answers,
    /// never another caller's.
    pub max_scope_bytes: usize,
    /// Largest answer kept; a larger one is remembered as done, without its body.
    pub max_answer_bytes: usize,
}

/// Where keys live: the store's database with `--store-path`, else a table in this process
/// (a shared store such as Redis would be a third). Implementations must be safe to call from
/// many requests at once; blocking ones move their work off the async threads.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Claims `id` for a request whose body hashes to `fingerprint`, unless the key is known
    /// and live. Fails with `LIMIT_EXCEEDED` when the key cannot be held within the limits.
    async fn claim(&self, id: &KeyId, fingerprint: &str) -> Result<Claim, Error>;

    /// Waits until the request holding `id` has ended (completed or released) or `until`
    /// passes, then claims as [`KeyStore::claim`] does: a released key becomes this
    /// request's, a completed one gives its answer, a still running one says so.
    async fn wait(&self, id: &KeyId, fingerprint: &str, until: Instant) -> Result<Claim, Error>;

    /// Records the answer of the request that claimed `id`, and wakes its waiters.
    async fn complete(&self, id: &KeyId, answer: Answer) -> Result<(), Error>;

    /// Frees `id` (its request ran nothing), and wakes its waiters, one of which runs it.
    async fn release(&self, id: &KeyId) -> Result<(), Error>;

    /// Whether other processes see these keys (a shared store such as Redis).
    fn shared(&self) -> bool {
        false
    }
}

/// The bytes one key costs.
pub fn entry_bytes(id: &KeyId, fingerprint: &str, answer: Option<&Answer>) -> usize {
    let answer = answer.map_or(0, |a| {
        a.body.as_ref().map_or(0, Vec::len) + a.content_type.as_ref().map_or(0, String::len)
    });
    ENTRY_OVERHEAD_BYTES + id.scope.len() + id.key.len() + fingerprint.len() + answer
}

/// Seconds since the epoch (0 before it).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The refusal when a key cannot be held.
pub fn full(reason: &str) -> Error {
    Error::LimitExceeded(format!(
        "The gateway cannot remember another Idempotency-Key now ({reason}); nothing was run, \
         retry later"
    ))
}

/// The refusal when a shared key store (Redis) cannot be reached: a keyed request must not run
/// without de-duplication, so the client is told to retry in `retry_after` seconds. The HTTP
/// layer answers it with `503` and `Retry-After`; it is the only `UPSTREAM_ERROR` a key store
/// returns.
pub fn unreachable(retry_after: u64) -> Error {
    Error::upstream(
        Code::UpstreamError,
        format!(
            "Requests with an Idempotency-Key cannot be served while the gateway's shared \
             store (Redis) is unreachable; nothing was run, retry in {retry_after} s"
        ),
    )
}
