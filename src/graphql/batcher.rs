//! TRIAL: the `dataloader` crate's non-cached loader behind the batcher's API, to measure it
//! against our own batcher with the same tests and benchmarks (issue 20, step 8).

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use dataloader::BatchFn;
use dataloader::non_cached::Loader;

/// Loads many keys in one call: what a [`Batcher`] batches.
pub trait Load: Send + Sync {
    /// What is looked up.
    type Key: Clone + Eq + Hash + Debug + Send + Sync;
    /// What a key loads as (an error for one key is a value too, e.g. a `Result`).
    type Value: Clone + Send + Sync;

    /// The values of `keys` (distinct). A key left out of
    /// the answer is `None` for whoever asked for it.
    fn load(
        &self,
        keys: &[Self::Key],
    ) -> impl Future<Output = HashMap<Self::Key, Self::Value>> + Send;
}

/// Passes every lookup yields before its batch loads (the crate's default is 10).
const YIELD_COUNT: usize = 10;

/// The crate's batch function over a shared [`Load`].
struct Shared<L>(Arc<L>);

impl<L: Load> BatchFn<L::Key, L::Value> for Shared<L> {
    fn load(&mut self, keys: &[L::Key]) -> impl Future<Output = HashMap<L::Key, L::Value>> {
        self.0.load(keys)
    }
}

/// Collects the keys of one execution step and loads them with one [`Load::load`] call.
pub struct Batcher<L: Load> {
    loader: Arc<L>,
    inner: Loader<L::Key, L::Value, Shared<L>>,
}

impl<L: Load> Batcher<L> {
    /// A batcher over `loader`.
    pub fn new(loader: L) -> Self {
        let loader = Arc::new(loader);
        let inner = Loader::new(Shared(Arc::clone(&loader)))
            .with_yield_count(YIELD_COUNT)
            .with_max_batch_size(usize::MAX);
        Batcher { loader, inner }
    }

    /// The loader behind this batcher.
    pub fn loader(&self) -> &L {
        &self.loader
    }

    /// Loads `key` together with every other key registered in the same execution step.
    pub async fn load_one(&self, key: L::Key) -> Option<L::Value> {
        self.inner.try_load(key).await.ok()
    }
}

#[cfg(test)]
mod tests;
