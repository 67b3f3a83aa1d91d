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
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Request;
use futures_util::future::BoxFuture;

use super::batcher::{Batcher, Load};
use crate::backend::{Backend, Caller, RequestBudget};
use crate::domain::files::DefinitionFile;
use crate::domain::{Guid, Operation, OperationKey};
use crate::error::Error;

/// A lookup key: the operation to read (always whole, so lookups of one operation merge).
pub type LoadKey = OperationKey;

/// Most distinct operations one GraphQL operation may look up (aliases and `_entities`
/// representations together), and likewise definition files; the rest get `LIMIT_EXCEEDED`.
/// In Graph mode the request's Graph budget usually stops a request sooner.
pub const MAX_LOOKUPS_PER_OPERATION: usize = 500;

/// Gives one GraphQL operation its data: `caller` carrying `budget`, and fresh loaders with
/// their own lookup counts. Called once per operation; the budget is shared by every operation
/// of one HTTP request (an HTTP batch included) and is new for each WebSocket operation.
pub fn with_operation_data(
    request: Request,
    backend: &Arc<dyn Backend>,
    caller: &Caller,
    budget: &RequestBudget,
) -> Request {
    let caller = caller.with_budget(budget.clone());
    let operations = OperationLoader::per_operation(Arc::clone(backend), caller.clone());
    let files = FileLoader::per_operation(Arc::clone(backend), caller.clone());
    request.data(caller).data(operations).data(files)
}

/// What a batch of lookups found: each key's value or error (a key left out was not found).
pub type Found<K, V> = HashMap<K, Result<V, Error>>;

/// A resource a GraphQL operation looks up by key, many keys in one backend call.
pub trait Resource: Send + Sync + 'static {
    /// What identifies one.
    type Key: Copy + Ord + Hash + std::fmt::Debug + Send + Sync;
    /// What one loads as.
    type Value: Clone + Send + Sync;
    /// Its name in the `LIMIT_EXCEEDED` message, plural.
    const WHAT: &'static str;
    /// Whether its lookup count joins the lookups metric when the operation ends.
    const COUNTED: bool;

    /// Loads `keys` (distinct) in one backend call.
    fn get_many<'a>(
        backend: &'a dyn Backend,
        caller: &'a Caller,
        keys: &'a [Self::Key],
    ) -> BoxFuture<'a, Found<Self::Key, Self::Value>>;
}

/// Group policy operations, looked up by file and id.
pub struct Operations;

impl Resource for Operations {
    type Key = LoadKey;
    type Value = Operation;
    const WHAT: &'static str = "group policy operations";
    const COUNTED: bool = true;

    fn get_many<'a>(
        backend: &'a dyn Backend,
        caller: &'a Caller,
        keys: &'a [LoadKey],
    ) -> BoxFuture<'a, Found<LoadKey, Operation>> {
        backend.get_many(caller, keys)
    }
}

/// Uploaded definition files, looked up by id.
pub struct Files;

impl Resource for Files {
    type Key = Guid;
    type Value = DefinitionFile;
    const WHAT: &'static str = "definition files";
    const COUNTED: bool = false;

    fn get_many<'a>(
        backend: &'a dyn Backend,
        caller: &'a Caller,
        keys: &'a [Guid],
    ) -> BoxFuture<'a, Found<Guid, DefinitionFile>> {
        backend.get_files(caller, keys)
    }
}

/// Loads one resource for one caller, holding the operation to [`MAX_LOOKUPS_PER_OPERATION`].
pub struct Loader<R: Resource> {
    backend: Arc<dyn Backend>,
    caller: Caller,
    looked_up: AtomicUsize,
    resource: PhantomData<fn() -> R>,
}

/// Loads operations for one caller.
pub type OperationLoader = Loader<Operations>;
/// Loads definition files for one caller.
pub type FileLoader = Loader<Files>;
/// The lookups of one operation, batched per execution step.
pub type OperationLookups = Batcher<OperationLoader>;
/// The definition-file lookups of one operation, batched per execution step.
pub type FileLookups = Batcher<FileLoader>;

impl<R: Resource> Loader<R> {
    /// The batched lookups of one GraphQL operation of `caller`.
    pub fn per_operation(backend: Arc<dyn Backend>, caller: Caller) -> Batcher<Self> {
        Batcher::new(Loader {
            backend,
            caller,
            looked_up: AtomicUsize::new(0),
            resource: PhantomData,
        })
    }
}

impl<R: Resource> Load for Loader<R> {
    type Key = R::Key;
    type Value = Result<R::Value, Error>;

    async fn load(&self, keys: &[R::Key]) -> HashMap<R::Key, Self::Value> {
        within_cap(&self.looked_up, keys, R::WHAT, |allowed| async move {
            R::get_many(self.backend.as_ref(), &self.caller, &allowed).await
        })
        .await
    }
}

/// Loads `keys` (distinct) with `load`, holding the operation to [`MAX_LOOKUPS_PER_OPERATION`]
/// distinct lookups of one kind (`what`) counted in `looked_up`: the keys past the cap are not
/// loaded and get `LIMIT_EXCEEDED`.
async fn within_cap<K, V, F, Fut>(
    looked_up: &AtomicUsize,
    keys: &[K],
    what: &str,
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
    if !refused.is_empty() {
        crate::telemetry::metrics::refused(crate::telemetry::metrics::Limit::MaxLookups);
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
    let too_many = Error::LimitExceeded(format!(
        "One GraphQL operation may look up at most {MAX_LOOKUPS_PER_OPERATION} {what}"
    ));
    found.extend(refused.into_iter().map(|key| (key, Err(too_many.clone()))));
    found
}

impl<R: Resource> Drop for Loader<R> {
    /// The operation is over: its lookup count joins the metrics.
    fn drop(&mut self) {
        if R::COUNTED {
            crate::telemetry::metrics::lookups(*self.looked_up.get_mut());
        }
    }
}
