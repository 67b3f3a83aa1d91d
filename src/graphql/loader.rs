//! The per-request DataLoader: every operation lookup of one GraphQL request goes through it,
//! so N lookups become one backend call (one `$batch` per 20 in Graph mode).
//!
//! It is created for each request with that request's caller and never shared: a loader on
//! the schema would mix users' tokens and serve stale data.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};

use crate::backend::{Backend, Caller};
use crate::domain::{Fields, Operation, OperationKey};
use crate::error::Error;

/// A lookup key: the operation and the fields this particular lookup needs. Lookups of the
/// same operation with different fields are merged into one fetch of the union.
pub type LoadKey = (OperationKey, Fields);

/// Loads operations for one caller.
pub struct OperationLoader {
    backend: Arc<dyn Backend>,
    caller: Caller,
}

impl OperationLoader {
    /// A DataLoader for one request (or one subscription connection) of `caller`.
    pub fn per_request(backend: Arc<dyn Backend>, caller: Caller) -> DataLoader<Self> {
        DataLoader::new(OperationLoader { backend, caller }, tokio::spawn)
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
        let fields = wanted
            .values()
            .fold(Fields::default(), |acc, f| acc.union(*f));
        tracing::debug!(
            lookups = keys.len(),
            unique = unique.len(),
            "loading operations"
        );
        let found = self.backend.get_many(&self.caller, &unique, fields).await;
        Ok(keys
            .iter()
            .filter_map(|load_key| Some((*load_key, found.get(&load_key.0)?.clone())))
            .collect())
    }
}
