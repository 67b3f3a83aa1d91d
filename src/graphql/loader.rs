//! The per-request DataLoader: every operation lookup of one GraphQL request goes through it,
//! so N lookups become one backend call (one `$batch` per 20 in Graph mode).
//!
//! It is created for each request with that request's caller and never shared: a loader on
//! the schema would mix users' tokens and serve stale data.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::dataloader::{DataLoader, Loader};

use crate::backend::{Backend, Caller};
use crate::domain::{Fields, Operation, OperationKey};
use crate::error::Error;

/// A lookup key: the operation and the fields this particular lookup needs. Lookups of the
/// same operation with different fields are merged into one fetch of the union.
pub type LoadKey = (OperationKey, Fields);

/// Most distinct operations one request may look up (aliases, `_entities` representations and
/// batched operations together); the rest get `LIMIT_EXCEEDED`. It bounds what one request can
/// cost the tenant's Intune budget (2,000 requests per 20 s).
pub const MAX_LOOKUPS_PER_REQUEST: usize = 500;

/// Loads operations for one caller.
pub struct OperationLoader {
    backend: Arc<dyn Backend>,
    caller: Caller,
    looked_up: AtomicUsize,
}

impl OperationLoader {
    /// A DataLoader for one request (or one subscription connection) of `caller`.
    pub fn per_request(backend: Arc<dyn Backend>, caller: Caller) -> DataLoader<Self> {
        DataLoader::new(
            OperationLoader {
                backend,
                caller,
                looked_up: AtomicUsize::new(0),
            },
            tokio::spawn,
        )
    }
}

impl Loader<LoadKey> for OperationLoader {
    type Value = Result<Operation, Error>;
    type Error = Error;

    async fn load(&self, keys: &[LoadKey]) -> Result<HashMap<LoadKey, Self::Value>, Self::Error> {
        let mut wanted: HashMap<OperationKey, Fields> = HashMap::new();
        for (key, fields) in keys {
            let entry = wanted.entry(*key).or_default();
            *entry = entry.union(*fields);
        }
        let mut unique: Vec<OperationKey> = wanted.keys().copied().collect();
        unique.sort();
        let before = self.looked_up.fetch_add(unique.len(), Ordering::SeqCst);
        let allowed = MAX_LOOKUPS_PER_REQUEST
            .saturating_sub(before)
            .min(unique.len());
        let refused = unique.split_off(allowed);
        let fields = wanted
            .values()
            .fold(Fields::default(), |acc, f| acc.union(*f));
        tracing::debug!(
            lookups = keys.len(),
            unique = unique.len(),
            "loading operations"
        );
        let mut found = if unique.is_empty() {
            Default::default()
        } else {
            self.backend.get_many(&self.caller, &unique, fields).await
        };
        let too_many = Error::LimitExceeded(format!(
            "One request may look up at most {MAX_LOOKUPS_PER_REQUEST} operations"
        ));
        found.extend(refused.into_iter().map(|key| (key, Err(too_many.clone()))));
        Ok(keys
            .iter()
            .filter_map(|load_key| Some((*load_key, found.get(&load_key.0)?.clone())))
            .collect())
    }
}
