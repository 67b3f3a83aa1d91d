//! The primitives of `Idempotency-Key` records in Redis, so that a key retried against another
//! replica finds the first replica's claim or answer: claim a scoped key with the request's
//! fingerprint (`SET NX PX`, atomic), read its state, store the answer with its TTL, release a
//! claim that produced no answer, and wait for a running claim by polling with backoff.
//!
//! Every write checks that the claim is still the writer's (a Lua script compares the owner),
//! so a claim that expired and was taken by another replica is never overwritten. Keys are
//! stored hashed (scope and key together), so neither a caller's identity nor a client's key
//! text appears in Redis key names. While Redis is unreachable a keyed request must not run
//! (no silent loss of de-duplication): [`unavailable`] is its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use redis::Script;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Redis, Unavailable};

/// Seconds a keyed request is told to wait (`Retry-After`) while Redis is unreachable.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

/// A stored answer: what to replay to a repeat of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// The HTTP status of the first answer; 0 when the gateway stopped during the request.
    pub status: u16,
    /// The answer's `Content-Type`; `None` when it had none.
    pub content_type: Option<String>,
    /// `None` when the answer was too large to keep (a repeat is told so, never rerun).
    #[serde(with = "body_base64", default)]
    pub body: Option<Vec<u8>>,
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// A replica runs the request; `fingerprint` identifies the request it runs.
    Running {
        /// Hex SHA-256 of the running request's body, so a repeat with another body is told apart.
        fingerprint: String,
    },
    /// The request ran; its answer.
    Done {
        /// Hex SHA-256 of the body of the request that ran.
        fingerprint: String,
        /// What to replay to a repeat with the same body.
        answer: StoredAnswer,
    },
}

/// Proof of a claim: only its holder may store the answer or release the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner(String);

/// The outcome of [`RedisKeys::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: run the request, then [`store`](RedisKeys::store) or
    /// [`release`](RedisKeys::release).
    Won(Owner),
    /// Someone claimed it first: here is what it holds.
    Taken(KeyState),
}

#[derive(Serialize, Deserialize)]
struct Record {
    owner: String,
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    answer: Option<StoredAnswer>,
}

impl Record {
    fn state(self) -> KeyState {
        match self.answer {
            None => KeyState::Running {
                fingerprint: self.fingerprint,
            },
            Some(answer) => KeyState::Done {
                fingerprint: self.fingerprint,
                answer,
            },
        }
    }
}

/// KEYS[1]; ARGV: record, lease ms. {1} when claimed, else {0, the record held}.
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('GET', KEYS[1])}
";

/// KEYS[1]; ARGV: owner, new record (empty: delete), ttl ms. 1 when the owner still held it.
const REPLACE: &str = r"
local held = redis.call('GET', KEYS[1])
if not held or cjson.decode(held).owner ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
";

/// Idempotency-key records in Redis.
pub struct RedisKeys {
    redis: Arc<Redis>,
    claim: Script,
    replace: Script,
}

impl RedisKeys {
    /// Key records kept in `redis`.
    pub fn new(redis: Arc<Redis>) -> Self {
        RedisKeys {
            redis,
            claim: Script::new(CLAIM),
            replace: Script::new(REPLACE),
        }
    }

    fn key(&self, scope: &str, key: &str) -> String {
        let digest = Sha256::digest(format!("{scope}\n{key}").as_bytes());
        self.redis.key(&format!("idem:{digest:x}"))
    }

    /// Claims `key` of `scope` for a request with `fingerprint`, for at most `lease` (the
    /// claim expires if its replica dies before answering).
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<Claim, Unavailable> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let record = encode(&Record {
            owner: owner.clone(),
            fingerprint: fingerprint.to_owned(),
            answer: None,
        })?;
        let mut invocation = self.claim.prepare_invoke();
        invocation
            .key(self.key(scope, key))
            .arg(record)
            .arg(millis(lease));
        let reply: (i64, Option<String>) = self
            .redis
            .run(|mut c| async move {
                let values: Vec<redis::Value> = invocation.invoke_async(&mut c).await?;
                let won = matches!(values.first(), Some(redis::Value::Int(1)));
                let held = match values.get(1) {
                    Some(value) => redis::from_redis_value(value.clone())?,
                    None => None,
                };
                Ok((i64::from(won), held))
            })
            .await?;
        match reply {
            (1, _) => Ok(Claim::Won(Owner(owner))),
            // Expired between SET and GET: as good as free, but let the caller try again.
            (_, None) => Ok(Claim::Taken(KeyState::Running {
                fingerprint: String::new(),
            })),
            (_, Some(held)) => Ok(Claim::Taken(decode(&held)?.state())),
        }
    }

    /// What `key` of `scope` holds now; `None` when free (never claimed, released, expired).
    pub async fn state(&self, scope: &str, key: &str) -> Result<Option<KeyState>, Unavailable> {
        let redis_key = self.key(scope, key);
        let held: Option<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(redis_key).query_async(&mut c).await })
            .await?;
        held.map(|h| decode(&h).map(Record::state)).transpose()
    }

    /// Stores the answer of the claimed request, kept for `ttl`; false when the claim was no
    /// longer `owner`'s (it expired and another replica took the key).
    pub async fn store(
        &self,
        scope: &str,
        key: &str,
        owner: &Owner,
        fingerprint: &str,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        let record = encode(&Record {
            owner: owner.0.clone(),
            fingerprint: fingerprint.to_owned(),
            answer: Some(answer),
        })?;
        self.replace(scope, key, owner, record, ttl).await
    }

    /// Extends a running claim of `owner` to `lease` from now, so a long request keeps its
    /// key while a dead replica's claim still expires; false when it was no longer `owner`'s.
    pub async fn renew(
        &self,
        scope: &str,
        key: &str,
        owner: &Owner,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<bool, Unavailable> {
        let record = encode(&Record {
            owner: owner.0.clone(),
            fingerprint: fingerprint.to_owned(),
            answer: None,
        })?;
        self.replace(scope, key, owner, record, lease).await
    }

    /// Frees a claim that produced no answer to keep (so a retry runs the request again);
    /// false when it was no longer `owner`'s.
    pub async fn release(
        &self,
        scope: &str,
        key: &str,
        owner: &Owner,
    ) -> Result<bool, Unavailable> {
        self.replace(scope, key, owner, String::new(), Duration::ZERO)
            .await
    }

    async fn replace(
        &self,
        scope: &str,
        key: &str,
        owner: &Owner,
        record: String,
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        let mut invocation = self.replace.prepare_invoke();
        invocation
            .key(self.key(scope, key))
            .arg(&owner.0)
            .arg(record)
            .arg(millis(ttl).max(1));
        let replaced: i64 = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        Ok(replaced == 1)
    }

    /// Waits for a running claim of `key` to end, polling with backoff (5 ms doubling to
    /// 100 ms) for at most `wait`: the answer once stored, `None` once the key is free again,
    /// or `Running` still when `wait` ran out.
    pub async fn wait_for(
        &self,
        scope: &str,
        key: &str,
        wait: Duration,
    ) -> Result<Option<KeyState>, Unavailable> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            let state = self.state(scope, key).await?;
            let running = matches!(state, Some(KeyState::Running { .. }));
            let now = Instant::now();
            if !running || now >= deadline {
                return Ok(state);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// The answer to a request with an `Idempotency-Key` while Redis is unreachable: 503 with
/// `Retry-After`, in GraphQL's response shape, so the client retries instead of the gateway
/// running the request without de-duplication.
pub fn unavailable(headers: &HeaderMap) -> Response {
    let error = crate::idempotency::unreachable(UNAVAILABLE_RETRY_AFTER_SECONDS);
    crate::http::admission::refuse(
        headers,
        StatusCode::SERVICE_UNAVAILABLE,
        &error,
        Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn encode(record: &Record) -> Result<String, Unavailable> {
    serde_json::to_string(record).map_err(|_| Unavailable)
}

/// A record that does not read counts as Redis failing: never as a free key.
fn decode(text: &str) -> Result<Record, Unavailable> {
    serde_json::from_str(text).map_err(|_| Unavailable)
}

mod body_base64 {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(
        body: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match body {
            Some(body) => s.serialize_some(&STANDARD.encode(body)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
