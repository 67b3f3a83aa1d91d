//! The in-process backend: definition files and their operations in memory, so the whole API
//! works with no tenant. It simulates Intune's processing of uploads (see [`simulate`]).
//!
//! Files are listed in upload order and operations per file in insertion order (sequence
//! numbers), which makes paging stable while others write. Writes publish changes on a
//! broadcast channel, which is what subscriptions follow. The lock is a `std::sync::Mutex` held
//! only for plain memory work, never across an `.await`.

mod admx;
mod bytes;
mod durable;
mod export;
mod files;
mod keys;
mod open;
mod proposals;
mod seed;
mod simulate;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::cursor::CursorCodec;
use super::{Backend, Caller, FileLookups, FileWatch, Lookups, Watch};
use crate::domain::files::{
    DefinitionFile, FileAction, FilePage, FileStatus, NewDefinitionFile, file_not_found,
};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::Error;

pub use export::export_store;
pub use files::{MAX_FILE_BYTES, MAX_FILES};
pub use keys::DurableKeys;

/// The demo data the gateway starts with unless told otherwise.
pub const DEMO_SEED: &str = include_str!("../demo_seed.json");

/// The in-process backend. Cheap to clone; clones share the same data.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    data: Mutex<Data>,
    changes: broadcast::Sender<Change>,
    cursors: CursorCodec,
    capacity: usize,
    /// How long simulated processing takes, in milliseconds.
    processing_delay_ms: AtomicU64,
    /// The database each change is written to before it is visible (`--store-path`).
    /// Locked only while the data lock is held, so the two are always taken in that order.
    db: Option<Mutex<durable::Db>>,
    /// Most bytes held (see [`bytes`]).
    max_bytes: AtomicUsize,
    /// Bytes held by the idempotency keys in the database (see [`keys`]).
    key_bytes: AtomicUsize,
}

#[derive(Default)]
struct Data {
    files: HashMap<Guid, File>,
    /// File list order: upload sequence -> file id.
    order: BTreeMap<u64, Guid>,
    next_seq: u64,
    /// Operations held, across files.
    len: usize,
    /// Changes made under the current lock, published once they are durable.
    pending: Vec<Change>,
    /// Files whose bytes changed under the current lock.
    new_sources: Vec<Guid>,
    /// Bytes held (see [`bytes`]), work in progress included.
    bytes: usize,
}

/// One definition file: its record, the bytes it was built from, and its operations.
struct File {
    record: DefinitionFile,
    seq: u64,
    sources: simulate::Sources,
    by_seq: BTreeMap<u64, Operation>,
    seq_of: HashMap<Guid, u64>,
    /// The status an action started from, which it returns to if it fails.
    status_before_work: Option<FileStatus>,
}

/// What changed: one operation (its new state, `None` once deleted), or a file record.
#[derive(Clone, Debug)]
enum Change {
    Operation {
        key: OperationKey,
        state: Option<Operation>,
    },
    File(Guid),
}

impl Change {
    fn file_id(&self) -> Guid {
        match self {
            Change::Operation { key, .. } => key.definition_file_id,
            Change::File(id) => *id,
        }
    }
}

impl Shared {
    fn data(&self) -> MutexGuard<'_, Data> {
        // A panic while holding the lock cannot leave `Data` half-written (every mutation is a
        // single insert/remove), so a poisoned lock is still safe to use.
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: OperationKey) -> Option<Operation> {
        self.data().get(key)
    }

    /// Runs one change of the store: `change` works on the data under the lock, then what it
    /// did is made durable (with `--store-path`) and only then published, still under the
    /// lock, so no reader or subscriber ever sees a change that a crash could take back.
    fn write<T>(&self, change: impl FnOnce(&mut Data) -> Result<T, Error>) -> Result<T, Error> {
        let mut data = self.data();
        let outcome = change(&mut data);
        let pending = std::mem::take(&mut data.pending);
        let new_sources = std::mem::take(&mut data.new_sources);
        if let Some(db) = &self.db {
            let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(e) = db.commit(&data, &pending, &new_sources) {
                // Memory is ahead of the database: go back to what is durable.
                tracing::error!(error = %e, "store write failed; reloading from the database");
                match db.load() {
                    Ok(durable) => *data = durable,
                    Err(e) => tracing::error!(error = %e, "store reload failed"),
                }
                return Err(Error::Internal(e));
            }
        }
        for change in pending {
            // No subscribers is the common case and not an error.
            let _ = self.changes.send(change);
        }
        outcome
    }

    fn processing_delay(&self) -> Duration {
        Duration::from_millis(self.processing_delay_ms.load(Ordering::Relaxed))
    }
}

impl Data {
    fn get(&self, key: OperationKey) -> Option<Operation> {
        let file = self.files.get(&key.definition_file_id)?;
        file.by_seq.get(file.seq_of.get(&key.id)?).cloned()
    }

    /// Records a change, published when the write ends (see [`Shared::write`]).
    fn publish(&mut self, change: Change) {
        self.pending.push(change);
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Adds an operation to its file; `false` when the file does not exist.
    fn insert(&mut self, op: Operation) -> bool {
        let seq = self.take_seq();
        let Some(file) = self.files.get_mut(&op.definition_file_id) else {
            return false;
        };
        file.seq_of.insert(op.id, seq);
        self.pending.push(Change::Operation {
            key: op.key(),
            state: Some(op.clone()),
        });
        self.bytes += bytes::of_operation(&op);
        file.by_seq.insert(seq, op);
        self.len += 1;
        crate::telemetry::metrics::store_operations(self.len);
        true
    }

    /// Adds a file record (no operations yet).
    fn insert_file(&mut self, record: DefinitionFile, sources: simulate::Sources) {
        let seq = self.take_seq();
        let record_id = record.id;
        self.bytes += sources.bytes();
        self.order.insert(seq, record.id);
        self.files.insert(
            record.id,
            File {
                record,
                seq,
                sources,
                by_seq: BTreeMap::new(),
                seq_of: HashMap::new(),
                status_before_work: None,
            },
        );
        self.publish(Change::File(record_id));
        self.new_sources.push(record_id);
    }
}

impl Store {
    /// An empty store holding at most `capacity` operations.
    pub fn new(capacity: usize, cursors: CursorCodec) -> Self {
        Store::with_data(capacity, cursors, Data::default(), None)
    }

    fn with_data(
        capacity: usize,
        cursors: CursorCodec,
        data: Data,
        db: Option<durable::Db>,
    ) -> Self {
        Store {
            shared: Arc::new(Shared {
                data: Mutex::new(data),
                changes: broadcast::channel(1024).0,
                cursors,
                capacity,
                processing_delay_ms: AtomicU64::new(0),
                db: db.map(Mutex::new),
                max_bytes: AtomicUsize::new(usize::MAX),
                key_bytes: AtomicUsize::new(0),
            }),
        }
    }

    /// How long the simulated Intune takes to process an upload or an action (0 by default).
    pub fn set_processing_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.processing_delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Adds a definition file record as it is (no processing, no operation, no tenant limit):
    /// for seeds and tests that need a file to hang operations on. Its files' bytes are
    /// unknown, so work started on it later fails to read them.
    pub fn insert_file(&self, record: DefinitionFile) -> Result<(), Error> {
        let sources = simulate::Sources::unread(&record);
        self.shared.write(|data| {
            data.insert_file(record, sources);
            Ok(())
        })
    }
}

/// The position of an operation in its file's list; what a store cursor carries.
type Seq = u64;

#[async_trait]
impl Backend for Store {
    async fn get_many(&self, _caller: &Caller, keys: &[OperationKey]) -> Lookups {
        let data = self.shared.data();
        keys.iter()
            .filter_map(|key| Some((*key, Ok(data.get(*key)?))))
            .collect()
    }

    async fn list(
        &self,
        _caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        let cursors = &self.shared.cursors;
        let start = match after {
            Some(cursor) => Bound::Excluded(cursors.decode::<Seq>(definition_file_id, cursor)?),
            None => Bound::Unbounded,
        };
        let data = self.shared.data();
        let Some(file) = data.files.get(&definition_file_id) else {
            return Err(file_not_found(definition_file_id));
        };
        let mut items: Vec<(String, Operation)> = file
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
    }

    async fn create(
        &self,
        _caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
    ) -> Result<Operation, Error> {
        self.blocking(move |store| store.create_now(definition_file_id, input))
            .await
    }

    async fn update(
        &self,
        _caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error> {
        self.blocking(move |store| store.update_now(key, patch))
            .await
    }

    async fn delete(&self, _caller: &Caller, key: OperationKey) -> Result<(), Error> {
        self.blocking(move |store| store.delete_now(key)).await
    }

    async fn watch(&self, _caller: &Caller, key: OperationKey) -> Result<Watch, Error> {
        // Writers publish while holding the lock, so subscribing and reading under it sees
        // every later change exactly once, in order.
        let (changes, current) = {
            let data = self.shared.data();
            let changes = BroadcastStream::new(self.shared.changes.subscribe());
            (changes, data.get(key).ok_or_else(|| key.not_found())?)
        };
        let shared = Arc::clone(&self.shared);
        let later = changes.filter_map(move |change| {
            let state = match change {
                Ok(Change::Operation {
                    key: changed,
                    state,
                }) if changed == key => Some(state),
                Ok(_) => None,
                // Fell behind a burst of writes: the latest state is what matters.
                Err(_) => Some(shared.get(key)),
            };
            std::future::ready(state.map(Ok))
        });
        Ok(stream::once(std::future::ready(Ok(Some(current))))
            .chain(later)
            .boxed())
    }

    async fn get_files(&self, _caller: &Caller, ids: &[Guid]) -> FileLookups {
        let data = self.shared.data();
        ids.iter()
            .filter_map(|id| Some((*id, Ok(data.files.get(id)?.record.clone()))))
            .collect()
    }

    async fn list_files(
        &self,
        _caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        self.list_files_page(first, after)
    }

    async fn upload_file(
        &self,
        _caller: &Caller,
        file: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error> {
        self.blocking(move |store| store.upload(file)).await
    }

    async fn act_on_file(
        &self,
        _caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error> {
        self.blocking(move |store| store.act(id, action)).await
    }

    async fn delete_file(&self, _caller: &Caller, id: Guid) -> Result<(), Error> {
        self.blocking(move |store| store.remove_file_now(id).map(|_| ()))
            .await
    }

    async fn watch_file(&self, _caller: &Caller, id: Guid) -> Result<FileWatch, Error> {
        self.watch_one_file(id)
    }
}
