//! The store's reads, made so an async worker never waits for the lock: with `--store-path` a
//! write holds it while SQLite commits (seconds, when another process holds the database's
//! lock), and a worker blocked on it would stall every request of the process, `/healthz`
//! included. A read takes the lock when it is free and otherwise waits on the blocking pool.

use std::ops::Bound;
use std::sync::TryLockError;

use futures_util::{StreamExt, stream};
use tokio_stream::wrappers::BroadcastStream;

use super::{Change, Data, Seq, Store};
use crate::backend::{FileLookups, Lookups, Watch};
use crate::domain::files::file_not_found;
use crate::domain::{Guid, OperationKey, Page};
use crate::error::Error;

impl Store {
    /// Runs `work` on the data under the lock, off the async workers when the lock is busy.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store, &Data) -> T + Send + 'static,
    ) -> Result<T, Error> {
        match self.shared.data.try_lock() {
            Ok(data) => return Ok(work(self, &data)),
            // As in `Shared::data`: a poisoned lock is still safe to read.
            Err(TryLockError::Poisoned(poisoned)) => return Ok(work(self, &poisoned.into_inner())),
            Err(TryLockError::WouldBlock) => {}
        }
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store, &store.shared.data()))
            .await
            .map_err(|e| Error::Internal(format!("store read task failed: {e}")))
    }

    pub(super) async fn lookups(&self, keys: &[OperationKey]) -> Lookups {
        let wanted = keys.to_vec();
        let found = self
            .read(move |_, data| {
                wanted
                    .iter()
                    .filter_map(|key| Some((*key, Ok(data.get(*key)?))))
                    .collect()
            })
            .await;
        found.unwrap_or_else(|e| keys.iter().map(|key| (*key, Err(e.clone()))).collect())
    }

    pub(super) async fn file_lookups(&self, ids: &[Guid]) -> FileLookups {
        let wanted = ids.to_vec();
        let found = self
            .read(move |_, data| {
                wanted
                    .iter()
                    .filter_map(|id| Some((*id, Ok(data.files.get(id)?.record.clone()))))
                    .collect()
            })
            .await;
        found.unwrap_or_else(|e| ids.iter().map(|id| (*id, Err(e.clone()))).collect())
    }

    pub(super) async fn operations_page(
        &self,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        let start = match after {
            Some(cursor) => Bound::Excluded(
                self.shared
                    .cursors
                    .decode::<Seq>(definition_file_id, cursor)?,
            ),
            None => Bound::Unbounded,
        };
        self.read(move |store, data| {
            let cursors = &store.shared.cursors;
            let Some(file) = data.files.get(&definition_file_id) else {
                return Err(file_not_found(definition_file_id));
            };
            let mut items: Vec<_> = file
                .by_seq
                .range((start, Bound::Unbounded))
                .take(first + 1)
                .map(|(seq, op)| (cursors.encode(definition_file_id, seq), op.clone()))
                .collect();
            let has_next_page = items.len() > first;
            items.truncate(first);
            Ok(Page {
                items,
                has_next_page,
            })
        })
        .await?
    }

    pub(super) async fn watch_operation(&self, key: OperationKey) -> Result<Watch, Error> {
        // Writers publish while holding the lock, so subscribing and reading under it sees
        // every later change exactly once, in order.
        let (changes, current) = self
            .read(move |store, data| {
                let changes = BroadcastStream::new(store.shared.changes.subscribe());
                data.get(key).map(|current| (changes, current))
            })
            .await?
            .ok_or_else(|| key.not_found())?;
        let store = self.clone();
        let later = changes.filter_map(move |change| {
            let store = store.clone();
            async move {
                let state = match change {
                    Ok(Change::Operation {
                        key: changed,
                        state,
                    }) if changed == key => Ok(state),
                    Ok(_) => return None,
                    // Fell behind a burst of writes: the latest state is what matters.
                    Err(_) => store.read(move |_, data| data.get(key)).await,
                };
                Some(state)
            }
        });
        Ok(stream::once(std::future::ready(Ok(Some(current))))
            .chain(later)
            .boxed())
    }
}
