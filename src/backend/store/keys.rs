//! The store as a [`KeyStore`] for idempotent writes: with `--store-path` the keys live in the
//! same database as the data, so they survive restarts along with what they protect.

use std::time::SystemTime;

use super::Store;
use crate::error::Error;
use crate::http::idempotency::{Answer, Claim, KeyId, KeyStore};

/// The keys of a durable store, at most `capacity` of them.
pub struct DurableKeys {
    store: Store,
    capacity: usize,
}

impl Store {
    /// The store's key table when it is durable (`None` for the in-memory store, whose keys
    /// would not outlive the process anyway).
    pub fn durable_keys(&self, capacity: usize) -> Option<DurableKeys> {
        self.shared.db.as_ref()?;
        Some(DurableKeys {
            store: self.clone(),
            capacity,
        })
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
}

impl KeyStore for DurableKeys {
    fn claim(&self, id: &KeyId, fingerprint: &str, now: SystemTime) -> Result<Claim, Error> {
        self.with_db(|db| db.claim_key(id, fingerprint, now, self.capacity))
    }

    fn complete(&self, id: &KeyId, answer: &Answer) -> Result<(), Error> {
        self.with_db(|db| db.complete_key(id, answer))
    }

    fn release(&self, id: &KeyId) -> Result<(), Error> {
        self.with_db(|db| db.release_key(id))
    }
}
