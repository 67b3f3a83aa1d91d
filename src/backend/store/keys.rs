//! The store as a [`KeyStore`] for idempotent writes: with `--store-path` the keys live in the
//! same database as the data, so they survive restarts along with what they protect, and their
//! bytes count against `--store-max-bytes` like the data's.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::time::Instant;

use super::Store;
use crate::error::Error;
use crate::idempotency::{Answer, Claim, KeyId, KeyStore, Limits, Notices, full};

/// What a change to the key table left: the outcome, and the bytes all keys now hold.
pub(super) struct Held<T> {
    pub(super) outcome: T,
    pub(super) bytes: usize,
}

/// The keys of a durable store.
pub struct DurableKeys {
    store: Store,
    limits: Limits,
    notices: Arc<Notices>,
}

impl Store {
    /// The store's key table when it is durable (`None` for the in-memory store, whose keys
    /// would not outlive the process anyway).
    pub fn durable_keys(&self, limits: Limits) -> Option<DurableKeys> {
        self.shared.db.as_ref()?;
        let keys = DurableKeys {
            store: self.clone(),
            limits,
            notices: Arc::default(),
        };
        match keys.with_db(|db| db.key_bytes()) {
            Ok(bytes) => self.shared.key_bytes.store(bytes, Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "the idempotency keys could not be counted"),
        }
        Some(keys)
    }

    /// Bytes the store leaves for idempotency keys under `--store-max-bytes`.
    fn room_for_keys(&self) -> usize {
        let max = self.shared.max_bytes;
        max.saturating_sub(self.shared.data().bytes)
    }
}

impl DurableKeys {
    fn with_db<T>(
        &self,
        work: impl FnOnce(&mut super::durable::Db) -> Result<T, String>,
    ) -> Result<T, Error> {
        let db = self.store.shared.db.as_ref().ok_or_else(|| {
            Error::Internal("durable keys over a store without a database".to_owned())
        })?;
        // The data lock is never taken while this one is held, so no lock-order cycle.
        let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut db).map_err(Error::Internal)
    }

    /// Runs `work` on the database off the async threads, then records the keys' bytes.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut super::durable::Db, usize, &Limits) -> Result<Held<T>, String>
        + Send
        + 'static,
    ) -> Result<T, Error> {
        let keys = DurableKeys {
            store: self.store.clone(),
            limits: self.limits,
            notices: Arc::clone(&self.notices),
        };
        tokio::task::spawn_blocking(move || {
            // Read before the database lock: the data lock is always taken first.
            let room = keys.store.room_for_keys();
            let held = keys.with_db(|db| work(db, room, &keys.limits))?;
            let shared = &keys.store.shared;
            shared.key_bytes.store(held.bytes, Ordering::Relaxed);
            Ok(held.outcome)
        })
        .await
        .map_err(|e| Error::Internal(format!("idempotency task failed: {e}")))?
    }
}

#[async_trait]
impl KeyStore for DurableKeys {
    async fn claim(&self, id: &KeyId, fingerprint: &str) -> Result<Claim, Error> {
        let (id, print) = (id.clone(), fingerprint.to_owned());
        self.run(move |db, room, limits| db.claim_key(&id, &print, SystemTime::now(), limits, room))
            .await?
            .ok_or_else(|| full("the keys have reached their share of the store's bytes"))
    }

    async fn wait(&self, id: &KeyId, fingerprint: &str, until: Instant) -> Result<Claim, Error> {
        self.notices
            .wait(id, until, || self.claim(id, fingerprint))
            .await
    }

    async fn complete(&self, id: &KeyId, answer: Answer) -> Result<(), Error> {
        let done = id.clone();
        let outcome = self
            .run(move |db, room, limits| db.complete_key(&done, &answer, limits, room))
            .await;
        self.notices.notify(id);
        outcome
    }

    async fn release(&self, id: &KeyId) -> Result<(), Error> {
        let gone = id.clone();
        let outcome = self.run(move |db, _, _| db.release_key(&gone)).await;
        self.notices.notify(id);
        outcome
    }
}
