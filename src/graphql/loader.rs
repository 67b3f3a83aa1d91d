//! What each GraphQL operation carries while it runs: its caller (with the Graph request budget
//! of its request) and its own [`Batcher`]s of lookups (operations and definition files), so the
//! N lookups of one execution step become one backend call (one `$batch` per 20 in Graph mode).
//! [`with_operation_data`] builds them all, for HTTP and WebSocket alike.
//!
//! A loader is created for each operation with that operation's caller and never shared: a
//! loader on the schema would mix users' tokens and serve stale data, and one kept for a whole
//! WebSocket connection would count every lookup the connection ever made against one cap.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Request;

use super::batcher::{Batcher, Load};

use super::FileLoader;
use crate::backend::{Backend, Caller, RequestBudget};
use crate::domain::{Operation, OperationKey};
use crate::error::Error;

/// A lookup key: the operation to read (always whole, so lookups of one operation merge).
pub type LoadKey = OperationKey;

/// Most distinct operations one GraphQL operation may look up (aliases and `_entities`
/// representations together); the rest get `LIMIT_EXCEEDED`. In Graph mode the request's Graph
/// budget usually stops a request sooner.
pub const MAX_LOOKUPS_PER_OPERATION: usize = 500;

/// Gives one GraphQL operation its data: `caller` carrying `budget`, and a fresh loader with
/// its own lookup count. Called once per operation; the budget is shared by every operation of
/// one HTTP request (an HTTP batch included) and is new for each WebSocket operation.
pub fn with_operation_data(
    request: Request,
    backend: &Arc<dyn Backend>,
    caller: &Caller,
    budget: &RequestBudget,
) -> Request {
    let caller = caller.with_budget(budget.clone());
    let loader = Batcher::new(OperationLoader {
        backend: Arc::clone(backend),
        caller: caller.clone(),
        looked_up: AtomicUsize::new(0),
    });
    let files = FileLoader::per_operation(Arc::clone(backend), caller.clone());
    request.data(caller).data(loader).data(files)
}

/// The lookups of one operation, batched per execution step.
pub type OperationLookups = Batcher<OperationLoader>;

/// Loads operations for one caller.
pub struct OperationLoader {
    backend: Arc<dyn Backend>,
    caller: Caller,
    looked_up: AtomicUsize,
}

impl Load for OperationLoader {
    type Key = LoadKey;
    type Value = Result<Operation, Error>;

    async fn load(&self, keys: &[LoadKey]) -> HashMap<LoadKey, Self::Value> {
        within_cap(
            &self.looked_up,
            keys,
            "group policy operations",
            |allowed| async move { self.backend.get_many(&self.caller, &allowed).await },
        )
        .await
    }
}

/// Loads `keys` (distinct) with `load`, holding the operation to [`MAX_LOOKUPS_PER_OPERATION`]
/// distinct lookups of one kind (`what`) counted in `looked_up`: the keys past the cap are not
/// loaded and get `LIMIT_EXCEEDED`.
pub(super) async fn within_cap<K, V, F, Fut>(
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

impl Drop for OperationLoader {
    /// The operation is over: its lookup count joins the metrics.
    fn drop(&mut self) {
        crate::telemetry::metrics::lookups(*self.looked_up.get_mut());
    }
}
