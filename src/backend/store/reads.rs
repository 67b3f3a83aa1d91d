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
                .map(|(seq, op)| (cursors.lazy(definition_file_id, *seq), op.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cursor::CursorCodec;
    use crate::backend::store::DEMO_SEED;
    use crate::config::StoreConfig;

    #[tokio::test]
    async fn page_cursors_are_the_signed_sequence_numbers_and_resume_the_list() {
        let codec = CursorCodec::new(Some("page-test"));
        let store = Store::new(&StoreConfig::immediate(100), codec.clone());
        store.load_seed(DEMO_SEED).expect("demo seed");
        let file = Guid::parse("f", "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01").expect("guid");
        let whole = store.operations_page(file, 100, None).await.expect("page");
        assert_eq!(whole.items.len(), 3);
        let seqs: Vec<Seq> = store
            .read(move |_, data| data.files[&file].by_seq.keys().copied().collect())
            .await
            .expect("read");
        for ((cursor, _), seq) in whole.items.iter().zip(&seqs) {
            // What the gateway issued before cursors were made on demand.
            assert_eq!(cursor.get(), codec.encode(file, seq));
        }
        // Following a cursor made on demand continues right after its edge.
        let first = store.operations_page(file, 1, None).await.expect("first");
        let after = first.items[0].0.get();
        let rest = store
            .operations_page(file, 100, Some(&after))
            .await
            .expect("rest");
        let ids = |page: &Page| page.items.iter().map(|(_, op)| op.id).collect::<Vec<_>>();
        assert_eq!(ids(&rest), ids(&whole)[1..]);
        assert!(first.has_next_page && !rest.has_next_page);
    }
}
