//! Batching without a timer: the lookups that the fields of one execution step register are
//! loaded together, as soon as that step has had its turn, and nothing waits on a clock.
//!
//! Why not async-graphql's `DataLoader`: it sleeps a fixed `delay` (1 ms by default) before
//! every batch, and that sleep was most of a lookup's latency. A zero delay does not fix it:
//! the batch then runs in a task spawned at the first key, and on a multi-thread runtime that
//! task can start on another worker before the sibling fields have registered their keys, so
//! one step's lookups split into several backend calls (and every batch pays a cross-thread
//! wake-up).
//!
//! Here the first lookup of a step becomes the batch's *leader*. It yields to the executor
//! once, so every sibling field polled in the same pass (aliases, list items, nested lists)
//! adds its key to the open batch; it yields again while the batch keeps growing, then closes
//! the batch and loads all its keys in one call, inside the operation's own task. The others
//! wait for that answer. A batch whose leader is dropped (its operation cancelled) is
//! abandoned, and its waiters start a new one. Each operation owns its batchers (see
//! [`super::loader`]), so no batch mixes callers.
//!
//! Why not the `dataloader` crate (0.18, its non-cached loader with a yield count: the same
//! timer-free idea). It was tried behind this module's API (branch i20-loader, commit marked
//! TRIAL) at its default yield count of 10, with the same tests and the same commands on one
//! machine. `tests/api/batching/` passed with it; it lost on cost and on cancellation:
//! - `benches/callgrind.sh by-id`: 325,005 instructions per request against 205,998 here
//!   (+58%); `aliases` (100 lookups in one query, one batch): 5,182,356 against 3,702,861
//!   (+40%). At a yield count of 2 (batching tests not run at that count) still 227,647 and
//!   4,168,432 (+11%, +13%). Every lookup yields its fixed count, however few siblings it
//!   has, and takes an async lock twice; a leader here yields until its batch stops growing.
//! - It holds its state lock across the backend call; a lookup dropped while its batch loads
//!   (a field cancelled by a sibling's error) leaves the others to panic inside the crate
//!   (`expect("failed")`), which the test
//!   `a_lookup_cancelled_while_its_batch_loads_leaves_the_others_a_fresh_load` shows. A lookup
//!   dropped before loading still has its key loaded and counted against the lookup cap.

use std::collections::{HashMap, HashSet};
use std::future::{Future, poll_fn};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Loads many keys in one call: what a [`Batcher`] batches.
pub trait Load: Send + Sync {
    /// What is looked up.
    type Key: Clone + Eq + Hash + Send + Sync;
    /// What a key loads as (an error for one key is a value too, e.g. a `Result`).
    type Value: Clone + Send + Sync;

    /// The values of `keys` (distinct). A key left out of
    /// the answer is `None` for whoever asked for it.
    fn load(
        &self,
        keys: &[Self::Key],
    ) -> impl Future<Output = HashMap<Self::Key, Self::Value>> + Send;
}

/// Most passes a leader waits for its batch to stop growing: past this, the lookups still
/// arriving go into the next batch rather than delaying this one further.
const MAX_SETTLE_PASSES: usize = 16;

/// Collects the keys of one execution step and loads them with one [`Load::load`] call.
pub(crate) struct Batcher<L: Load> {
    loader: L,
    /// The batch still taking keys, if any.
    open: OpenBatch<L::Key, L::Value>,
}

/// Where a batcher keeps the batch still taking keys.
type OpenBatch<K, V> = Mutex<Option<Arc<Batch<K, V>>>>;
/// A batch as the lookups in it share it.
type SharedBatch<L> = Arc<Batch<<L as Load>::Key, <L as Load>::Value>>;

impl<L: Load> Batcher<L> {
    /// A batcher over `loader`.
    pub(crate) fn new(loader: L) -> Self {
        Batcher {
            loader,
            open: Mutex::new(None),
        }
    }

    /// The loader behind this batcher.
    #[cfg(test)]
    pub(crate) fn loader(&self) -> &L {
        &self.loader
    }

    /// Loads `key` together with every other key registered in the same execution step.
    pub(crate) async fn load_one(&self, key: L::Key) -> Option<L::Value> {
        loop {
            let (batch, leader) = self.join(&key);
            let outcome = if leader {
                self.lead(&batch, &key).await
            } else {
                batch.wait(&key).await
            };
            // `None`: the leader went away before loading; start again (maybe as leader).
            if let Some(value) = outcome {
                return value;
            }
        }
    }

    /// Adds `key` to the open batch, or opens one; `true` when the caller opened it.
    fn join(&self, key: &L::Key) -> (SharedBatch<L>, bool) {
        let mut open = lock(&self.open);
        if let Some(batch) = open.as_ref() {
            batch.state().keys.insert(key.clone());
            return (Arc::clone(batch), false);
        }
        let batch = Arc::new(Batch::new(key.clone()));
        *open = Some(Arc::clone(&batch));
        (batch, true)
    }

    /// Lets the step's siblings register, loads the batch and hands out the answer.
    async fn lead(&self, batch: &SharedBatch<L>, key: &L::Key) -> Option<Option<L::Value>> {
        let mut abandon = Abandon {
            open: &self.open,
            batch: Some(batch),
        };
        let mut seen = batch.state().keys.len();
        for _ in 0..MAX_SETTLE_PASSES {
            yield_once().await;
            let now = batch.state().keys.len();
            if now == seen {
                break;
            }
            seen = now;
        }
        close(&self.open, batch);
        let keys: Vec<L::Key> = batch.state().keys.drain().collect();
        let values = Arc::new(self.loader.load(&keys).await);
        let mine = values.get(key).cloned();
        batch.finish(Phase::Loaded(values));
        abandon.batch = None;
        Some(mine)
    }
}

/// Removes `batch` from `open` if it is still the open one.
fn close<K, V>(open: &OpenBatch<K, V>, batch: &Arc<Batch<K, V>>) {
    let mut open = lock(open);
    if open.as_ref().is_some_and(|o| Arc::ptr_eq(o, batch)) {
        *open = None;
    }
}

/// Dropped with a batch still set: the leader was cancelled, so the batch is given up and its
/// waiters are woken to try again.
struct Abandon<'a, K, V> {
    open: &'a OpenBatch<K, V>,
    batch: Option<&'a Arc<Batch<K, V>>>,
}

impl<K, V> Drop for Abandon<'_, K, V> {
    fn drop(&mut self) {
        if let Some(batch) = self.batch {
            close(self.open, batch);
            batch.finish(Phase::Abandoned);
        }
    }
}

/// One batch: its keys until the leader takes them, then its answer.
struct Batch<K, V> {
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    keys: HashSet<K>,
    phase: Phase<K, V>,
    /// Wakers of the waiting lookups, by their slot.
    waiters: Vec<Waker>,
}

enum Phase<K, V> {
    Pending,
    Loaded(Arc<HashMap<K, V>>),
    Abandoned,
}

impl<K, V> Batch<K, V> {
    fn state(&self) -> MutexGuard<'_, State<K, V>> {
        lock(&self.state)
    }

    fn finish(&self, phase: Phase<K, V>) {
        let waiters = {
            let mut state = self.state();
            state.phase = phase;
            std::mem::take(&mut state.waiters)
        };
        for waker in waiters {
            waker.wake();
        }
    }
}

impl<K: Eq + Hash, V: Clone> Batch<K, V> {
    fn new(key: K) -> Self {
        Batch {
            state: Mutex::new(State {
                keys: HashSet::from([key]),
                phase: Phase::Pending,
                waiters: Vec::new(),
            }),
        }
    }

    /// The value of `key` once the batch is loaded; `None` if it was abandoned.
    async fn wait(&self, key: &K) -> Option<Option<V>> {
        let mut slot: Option<usize> = None;
        poll_fn(|cx: &mut Context<'_>| {
            let mut state = self.state();
            match &state.phase {
                Phase::Loaded(values) => Poll::Ready(Some(values.get(key).cloned())),
                Phase::Abandoned => Poll::Ready(None),
                Phase::Pending => {
                    // One slot per waiter, however often a join re-polls it.
                    match slot {
                        Some(i) if state.waiters[i].will_wake(cx.waker()) => {}
                        Some(i) => state.waiters[i] = cx.waker().clone(),
                        None => {
                            slot = Some(state.waiters.len());
                            state.waiters.push(cx.waker().clone());
                        }
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// Returns to the executor once, waking itself first: whatever the enclosing joins poll next
/// in this pass runs before the caller continues.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    poll_fn(move |cx: &mut Context<'_>| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds consistent data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
