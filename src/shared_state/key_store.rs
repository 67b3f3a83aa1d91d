//! Idempotency keys shared by replicas: a [`KeyStore`] over the Redis primitives of
//! [`keys`](super::keys), so a retry that reaches another replica finds the first request's
//! claim or answer, with the semantics of the table one process keeps.
//!
//! Redis holds the records (the claim with the body's fingerprint, then the answer for
//! [`KEY_LIFETIME`]). This replica holds the owner token of each claim it runs, so only it can
//! store the answer or free the key, and renews the claim's lease while its request runs: a
//! replica that dies mid-request loses its claims [`LEASE`] later. A request waiting for a key
//! another replica runs polls Redis with backoff (5 ms doubling to 100 ms), since Redis
//! pub/sub is not used; like every waiter it holds its in-flight permit meanwhile. While Redis
//! is unreachable every call fails with [`unreachable`], which the HTTP layer answers with 503
//! and `Retry-After`: a keyed request never runs without de-duplication.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::keys::{self, KeyState, Owner, RedisKeys, StoredAnswer};
use crate::error::Error;
use crate::idempotency::{
    Answer, Claim, KEY_LIFETIME, KeyId, KeyStore, Limits, entry_bytes, full, unreachable,
};

/// How long a claim lives in Redis unless its replica renews it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running claim is renewed (three chances per lease).
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How long an answer that could not be stored (Redis lost mid-request) is tried again.
const STORE_RETRY_FOR: Duration = LEASE;

fn down() -> Error {
    unreachable(keys::UNAVAILABLE_RETRY_AFTER_SECONDS)
}

/// A claim this replica runs.
struct Held {
    owner: Owner,
    fingerprint: String,
    bytes: usize,
    renewal: JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// The claims this replica runs, bounded like the table of one process.
#[derive(Default)]
struct Claims {
    held: HashMap<KeyId, Held>,
    scope_bytes: HashMap<String, usize>,
    bytes: usize,
}

impl Claims {
    fn fits(&self, id: &KeyId, adding: usize, limits: &Limits) -> Result<(), Error> {
        let scope = self.scope_bytes.get(&id.scope).copied().unwrap_or(0);
        if scope + adding > limits.max_scope_bytes {
            return Err(full(
                "this caller's keys hold their quota in running requests",
            ));
        }
        if self.held.len() >= limits.max_keys || self.bytes + adding > limits.max_bytes {
            return Err(full("this replica's keys are all running requests"));
        }
        Ok(())
    }

    fn insert(&mut self, id: KeyId, held: Held) {
        self.bytes += held.bytes;
        *self.scope_bytes.entry(id.scope.clone()).or_default() += held.bytes;
        if let Some(replaced) = self.held.insert(id.clone(), held) {
            self.forget(&id, replaced.bytes);
        }
    }

    fn forget(&mut self, id: &KeyId, bytes: usize) {
        self.bytes -= bytes;
        if let Some(scope) = self.scope_bytes.get_mut(&id.scope) {
            *scope -= bytes;
            if *scope == 0 {
                self.scope_bytes.remove(&id.scope);
            }
        }
    }

    /// The owner and fingerprint of `id`'s claim, if this replica runs it.
    fn of(&self, id: &KeyId) -> Option<(Owner, String)> {
        self.held
            .get(id)
            .map(|h| (h.owner.clone(), h.fingerprint.clone()))
    }

    /// Drops `id`'s claim if it is still `owner`'s (which stops its renewal).
    fn take(&mut self, id: &KeyId, owner: &Owner) {
        if self.held.get(id).is_some_and(|h| h.owner == *owner)
            && let Some(held) = self.held.remove(id)
        {
            self.forget(id, held.bytes);
        }
    }
}

/// Idempotency keys in Redis (see the module header).
pub struct SharedKeys {
    keys: Arc<RedisKeys>,
    limits: Limits,
    claims: Arc<Mutex<Claims>>,
}

impl SharedKeys {
    /// Idempotency keys kept in Redis through `keys`; this replica's claims stay within `limits`.
    pub fn new(keys: RedisKeys, limits: Limits) -> Self {
        SharedKeys {
            keys: Arc::new(keys),
            limits,
            claims: Arc::default(),
        }
    }

    fn claims(&self) -> MutexGuard<'_, Claims> {
        lock(&self.claims)
    }

    /// Keeps the claim just won, or gives it back when this replica holds too much.
    async fn hold(&self, id: &KeyId, fingerprint: &str, owner: Owner) -> Result<Claim, Error> {
        let bytes = entry_bytes(id, fingerprint, None);
        let refused = {
            let mut claims = self.claims();
            let fits = claims.fits(id, bytes, &self.limits);
            if fits.is_ok() {
                let renewal = tokio::spawn(renew(
                    Arc::clone(&self.keys),
                    id.clone(),
                    owner.clone(),
                    fingerprint.to_owned(),
                ));
                let held = Held {
                    owner: owner.clone(),
                    fingerprint: fingerprint.to_owned(),
                    bytes,
                    renewal,
                };
                claims.insert(id.clone(), held);
            }
            fits.err()
        };
        match refused {
            None => Ok(Claim::New),
            Some(error) => {
                // Nothing ran: free the key now rather than when its lease ends.
                let _ = self.keys.release(&id.scope, &id.key, &owner).await;
                Err(error)
            }
        }
    }

    /// The answer as kept: without its body when over the answer cap or the caller's quota.
    fn kept(&self, id: &KeyId, fingerprint: &str, answer: Answer) -> StoredAnswer {
        let over = |a: &Answer| {
            a.body
                .as_ref()
                .is_some_and(|b| b.len() > self.limits.max_answer_bytes)
                || entry_bytes(id, fingerprint, Some(a)) > self.limits.max_scope_bytes
        };
        let body = if over(&answer) { None } else { answer.body };
        StoredAnswer {
            status: answer.status,
            content_type: answer.content_type,
            body,
        }
    }
}

fn lock(claims: &Mutex<Claims>) -> MutexGuard<'_, Claims> {
    // Every change keeps the counts whole before it can panic: a poisoned table is usable.
    claims.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a key someone else holds means to a request whose body hashes to `fingerprint`.
fn found(state: KeyState, fingerprint: &str) -> Claim {
    match state {
        KeyState::Running { fingerprint: held } => Claim::Running {
            same_body: held == fingerprint,
        },
        KeyState::Done {
            fingerprint: held,
            answer,
        } => Claim::Done {
            same_body: held == fingerprint,
            answer: Answer {
                status: answer.status,
                content_type: answer.content_type,
                body: answer.body,
            },
        },
    }
}

/// Keeps a running claim alive until its request ends (the task is aborted then) or the
/// claim is no longer this replica's.
async fn renew(keys: Arc<RedisKeys>, id: KeyId, owner: Owner, fingerprint: String) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let renewed = keys
            .renew(&id.scope, &id.key, &owner, &fingerprint, LEASE)
            .await;
        if renewed == Ok(false) {
            return;
        }
    }
}

/// Stores `answer` for [`KEY_LIFETIME`] if `owner` still holds the claim (`Ok(false)` if not).
async fn store_answer(
    keys: &RedisKeys,
    id: &KeyId,
    owner: &Owner,
    fingerprint: &str,
    answer: StoredAnswer,
) -> Result<bool, super::Unavailable> {
    keys.store(&id.scope, &id.key, owner, fingerprint, answer, KEY_LIFETIME)
        .await
}

/// Tries again to store an answer Redis could not take, while the claim may still be alive.
async fn store_later(
    keys: Arc<RedisKeys>,
    claims: Arc<Mutex<Claims>>,
    id: KeyId,
    owner: Owner,
    fingerprint: String,
    answer: StoredAnswer,
) {
    let deadline = Instant::now() + STORE_RETRY_FOR;
    let mut pause = Duration::from_millis(100);
    while Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        let stored = store_answer(&keys, &id, &owner, &fingerprint, answer.clone()).await;
        if stored.is_ok() {
            break;
        }
    }
    lock(&claims).take(&id, &owner);
}

#[async_trait]
impl KeyStore for SharedKeys {
    async fn claim(&self, id: &KeyId, fingerprint: &str) -> Result<Claim, Error> {
        for _ in 0..3 {
            let claim = self
                .keys
                .claim(&id.scope, &id.key, fingerprint, LEASE)
                .await
                .map_err(|_| down())?;
            match claim {
                keys::Claim::Won(owner) => return self.hold(id, fingerprint, owner).await,
                // Expired between the SET and the GET: free again, so try again.
                keys::Claim::Taken(KeyState::Running { fingerprint: held }) if held.is_empty() => {}
                keys::Claim::Taken(state) => return Ok(found(state, fingerprint)),
            }
        }
        Ok(Claim::Running { same_body: true })
    }

    async fn wait(&self, id: &KeyId, fingerprint: &str, until: Instant) -> Result<Claim, Error> {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let state = self
                .keys
                .wait_for(&id.scope, &id.key, left)
                .await
                .map_err(|_| down())?;
            match state {
                Some(state) => return Ok(found(state, fingerprint)),
                // Released (or its replica died): the key is free, and may be this request's.
                None => match self.claim(id, fingerprint).await? {
                    Claim::Running { same_body: true } if Instant::now() < until => {}
                    claim => return Ok(claim),
                },
            }
        }
    }

    async fn complete(&self, id: &KeyId, answer: Answer) -> Result<(), Error> {
        let Some((owner, fingerprint)) = self.claims().of(id) else {
            return Ok(());
        };
        let answer = self.kept(id, &fingerprint, answer);
        let stored = store_answer(&self.keys, id, &owner, &fingerprint, answer.clone()).await;
        match stored {
            Ok(mine) => {
                if !mine {
                    tracing::warn!(
                        "an idempotency key's claim expired before its answer was kept; a retry may run it again"
                    );
                }
                self.claims().take(id, &owner);
                Ok(())
            }
            Err(_) => {
                // The claim (renewed meanwhile) still guards the key: keep trying for a while.
                tokio::spawn(store_later(
                    Arc::clone(&self.keys),
                    Arc::clone(&self.claims),
                    id.clone(),
                    owner,
                    fingerprint,
                    answer,
                ));
                Err(down())
            }
        }
    }

    fn shared(&self) -> bool {
        true
    }

    async fn release(&self, id: &KeyId) -> Result<(), Error> {
        let Some((owner, _)) = self.claims().of(id) else {
            return Ok(());
        };
        // Unrenewed, a claim Redis could not free now ends with its lease.
        self.claims().take(id, &owner);
        self.keys
            .release(&id.scope, &id.key, &owner)
            .await
            .map(|_| ())
            .map_err(|_| down())
    }
}
