//! What each GraphQL operation carries while it runs: its caller (with the Graph request budget
//! of its request) and its own [`Batcher`]s of lookups, one [`Loader`] per resource (operations
//! and definition files), so the N lookups of one execution step become one backend call (one
//! `$batch` per 20 in Graph mode). [`with_operation_data`] builds them all, for HTTP and
//! WebSocket alike.
//!
//! A loader is created for each operation with that operation's caller and never shared: a
//! loader on the schema would mix users' tokens and serve stale data, and one kept for a whole
//! WebSocket connection would count every lookup the connection ever made against one cap.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Request;
use futures_util::future::BoxFuture;

use super::batcher::{Batcher, Load};
use crate::backend::{Backend, Caller, RequestBudget};
use crate::domain::files::DefinitionFile;
use crate::domain::{Guid, Operation, OperationKey};
use crate::error::Error;
use crate::telemetry::metrics::BackendFigures;

/// A lookup key: the operation to read (always whole, so lookups of one operation merge).
pub(crate) type LoadKey = OperationKey;

/// Most distinct operations one GraphQL operation may look up (aliases and `_entities`
/// representations together), and likewise definition files; the rest get `LIMIT_EXCEEDED`.
/// In Graph mode the request's Graph budget usually stops a request sooner.
pub(crate) const MAX_LOOKUPS_PER_OPERATION: usize = 500;

/// Gives one GraphQL operation its data: `caller` carrying `budget`, and fresh loaders with
/// their own lookup counts. Called once per operation; the budget is shared by every operation
/// of one HTTP request (an HTTP batch included) and is new for each WebSocket operation.
pub(crate) fn with_operation_data(
    request: Request,
    backend: &Arc<dyn Backend>,
    caller: &Caller,
    budget: &RequestBudget,
) -> Request {
    let caller = caller.with_budget(budget.clone());
    let operations = Loader::per_operation(backend, &caller, OPERATIONS);
    let files = Loader::per_operation(backend, &caller, FILES);
    request.data(caller).data(operations).data(files)
}

/// What a batch of lookups found: each key's value or error (a key left out was not found).
pub(crate) type Found<K, V> = HashMap<K, Result<V, Error>>;

/// Loads `keys` (distinct) of one resource in one backend call.
type GetMany<K, V> = for<'a> fn(&'a dyn Backend, &'a Caller, &'a [K]) -> BoxFuture<'a, Found<K, V>>;

/// A resource a GraphQL operation looks up by key, many keys in one backend call.
struct Resource<K, V> {
    /// Its name in the `LIMIT_EXCEEDED` message, plural.
    what: &'static str,
    /// Whether its lookup count joins the lookups metric when the operation ends.
    counted: bool,
    get_many: GetMany<K, V>,
}

/// Group policy operations, looked up by file and id.
const OPERATIONS: Resource<LoadKey, Operation> = Resource {
    what: "group policy operations",
    counted: true,
    get_many: |backend, caller, keys| backend.get_many(caller, keys),
};

/// Uploaded definition files, looked up by id.
const FILES: Resource<Guid, DefinitionFile> = Resource {
    what: "definition files",
    counted: false,
    get_many: |backend, caller, ids| backend.get_files(caller, ids),
};

/// Loads one resource for one caller, holding the operation to [`MAX_LOOKUPS_PER_OPERATION`].
pub struct Loader<K, V> {
    backend: Arc<dyn Backend>,
    caller: Caller,
    resource: Resource<K, V>,
    looked_up: AtomicUsize,
}

/// Loads operations for one caller.
pub type OperationLoader = Loader<LoadKey, Operation>;
/// Loads definition files for one caller.
pub type FileLoader = Loader<Guid, DefinitionFile>;
/// The lookups of one operation, batched per execution step.
pub(crate) type OperationLookups = Batcher<OperationLoader>;
/// The definition-file lookups of one operation, batched per execution step.
pub(crate) type FileLookups = Batcher<FileLoader>;

impl<K, V> Loader<K, V>
where
    Self: Load,
{
    /// The batched lookups of `resource` in one GraphQL operation of `caller`.
    fn per_operation(
        backend: &Arc<dyn Backend>,
        caller: &Caller,
        resource: Resource<K, V>,
    ) -> Batcher<Self> {
        Batcher::new(Loader {
            backend: Arc::clone(backend),
            caller: caller.clone(),
            resource,
            looked_up: AtomicUsize::new(0),
        })
    }
}

impl<K, V> Load for Loader<K, V>
where
    K: Copy + Ord + Hash + Send + Sync,
    V: Clone + Send + Sync,
{
    type Key = K;
    type Value = Result<V, Error>;

    async fn load(&self, keys: &[K]) -> HashMap<K, Self::Value> {
        within_cap(
            &self.backend.figures(),
            &self.looked_up,
            keys,
            self.resource.what,
            |allowed| async move {
                (self.resource.get_many)(self.backend.as_ref(), &self.caller, &allowed).await
            },
        )
        .await
    }
}

/// Loads `keys` (distinct) with `load`, holding the operation to [`MAX_LOOKUPS_PER_OPERATION`]
/// distinct lookups of one kind (`what`) counted in `looked_up`: the keys past the cap are not
/// loaded and get `LIMIT_EXCEEDED`, and the refusal is counted in `figures`.
async fn within_cap<K, V, F, Fut>(
    figures: &BackendFigures,
    looked_up: &AtomicUsize,
    keys: &[K],
    what: &'static str,
    load: F,
) -> HashMap<K, Result<V, Error>>
where
    K: Copy + Ord + std::hash::Hash,
    F: FnOnce(Vec<K>) -> Fut,
    Fut: std::future::Future<Output = HashMap<K, Result<V, Error>>>,
{
    let mut unique = keys.to_vec();
    unique.sort();
    unique.dedup();
    let before = looked_up.fetch_add(unique.len(), Ordering::SeqCst);
    let allowed = MAX_LOOKUPS_PER_OPERATION
        .saturating_sub(before)
        .min(unique.len());
    let refused = unique.split_off(allowed);
    let refusal = crate::refusal::Refusal::Lookups {
        limit: MAX_LOOKUPS_PER_OPERATION,
        what,
    };
    if !refused.is_empty() {
        figures.refused(&refusal);
    }
    tracing::debug!(
        lookups = keys.len(),
        unique = unique.len(),
        what,
        "loading a lookup batch"
    );
    let mut found = if unique.is_empty() {
        HashMap::new()
    } else {
        load(unique).await
    };
    let too_many = Error::from(refusal);
    found.extend(refused.into_iter().map(|key| (key, Err(too_many.clone()))));
    found
}

impl<K, V> Drop for Loader<K, V> {
    /// The operation is over: its lookup count joins the metrics.
    fn drop(&mut self) {
        if self.resource.counted {
            self.backend.figures().lookups(*self.looked_up.get_mut());
        }
    }
}
