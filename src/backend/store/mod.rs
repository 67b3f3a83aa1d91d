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
mod jobs;
mod keys;
mod open;
mod parsing;
mod proposals;
mod reads;
mod seed;
mod simulate;
mod writes;
mod xml_limits;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::cursor::CursorCodec;
use super::{Backend, Caller, FileLookups, FileWatch, Lookups, Watch};
use crate::config::StoreConfig;
use crate::domain::files::{DefinitionFile, FileAction, FilePage, FileStatus, NewDefinitionFile};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::Error;
use crate::telemetry::metrics::BackendFigures;

pub use files::{MAX_FILE_BYTES, MAX_FILES};
pub use keys::DurableKeys;
pub use seed::{MAX_SEED_BYTES, read_seed_file};

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
    /// How long simulated processing takes.
    processing_delay: Duration,
    /// The database each change is written to before it is visible (`--store-path`). A
    /// write takes it before the data lock, so the two are always taken in that order.
    db: Option<Mutex<durable::Db>>,
    /// Most bytes held (see [`bytes`]).
    max_bytes: usize,
    /// Bytes held by the idempotency keys in the database (see [`keys`]).
    key_bytes: AtomicUsize,
    /// Counts the operations held, for the gateways built on this store.
    figures: BackendFigures,
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
    /// Bytes of the files and operations held (see [`bytes`]); work in progress is in `held`.
    bytes: usize,
    /// Bytes of the work waiting for its processing, by operation id: counted apart, so a
    /// reload from the database after a failed commit keeps them right.
    held: HashMap<Guid, usize>,
    /// Work started under the current lock, scheduled once it is durable.
    new_jobs: Vec<jobs::Job>,
    /// Work ended under the current lock, no longer held once that is durable.
    ended_jobs: Vec<Guid>,
    /// Set when the seed decision for a new database is made (see `durable`).
    mark_seeded: bool,
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

    /// Runs one change of the store: `change` works on the data under the lock, then what it
    /// did is made durable (with `--store-path`) and only then published, still under the
    /// lock, so no reader or subscriber ever sees a change that a crash could take back.
    /// Work the change started is scheduled only then too. With a database this waits for the
    /// disk: call it on the blocking pool (see [`Store::blocking`]), never on an async worker.
    fn write<T>(
        self: &Arc<Self>,
        change: impl FnOnce(&mut Data) -> Result<T, Error>,
    ) -> Result<T, Error> {
        // The database's lock first, without the data lock: while another process holds it,
        // reads go on and this write alone waits (then fails with nothing changed).
        let mut db = self
            .db
            .as_ref()
            .map(|db| db.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let tx = match db.as_mut().map(|db| db.begin()).transpose() {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "store write refused by the database");
                return Err(Error::Internal(e));
            }
        };
        let mut data = self.data();
        let outcome = change(&mut data);
        let pending = std::mem::take(&mut data.pending);
        let new_sources = std::mem::take(&mut data.new_sources);
        let new_jobs = std::mem::take(&mut data.new_jobs);
        let ended_jobs = std::mem::take(&mut data.ended_jobs);
        let committed = tx.map_or(Ok(()), |tx| {
            durable::Db::commit(tx, &data, &pending, &new_sources)
        });
        if let Err(e) = committed {
            // Memory is ahead of the database: go back to what is durable. Work started by
            // this change is dropped with it; work still waiting stays held.
            tracing::error!(error = %e, "store write failed; reloading from the database");
            let held = std::mem::take(&mut data.held);
            match db.as_ref().map(|db| db.load()) {
                Some(Ok(durable)) => *data = durable,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "store reload failed");
                    data.bytes = data.count_bytes();
                }
                None => {}
            }
            data.held = held;
            self.figures.store_operations(data.len);
            return Err(Error::Internal(e));
        }
        data.mark_seeded = false;
        self.figures.store_operations(data.len);
        for id in ended_jobs {
            data.held.remove(&id);
        }
        for job in new_jobs {
            data.held.insert(job.operation, job.proposed.bytes());
            Store {
                shared: Arc::clone(self),
            }
            .schedule(job);
        }
        for change in pending {
            // No subscribers is the common case and not an error.
            let _ = self.changes.send(change);
        }
        outcome
    }

    fn processing_delay(&self) -> Duration {
        self.processing_delay
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
    /// An empty in-memory store with the capacity, byte cap and processing delay of `config`
    /// (its seed and path are the caller's business: see [`crate::store`]).
    pub fn new(config: &StoreConfig, cursors: CursorCodec) -> Self {
        Store::with_data(config, cursors, Data::default(), None)
    }

    fn with_data(
        config: &StoreConfig,
        cursors: CursorCodec,
        data: Data,
        db: Option<durable::Db>,
    ) -> Self {
        let figures = BackendFigures::default();
        figures.store_operations(data.len);
        Store {
            shared: Arc::new(Shared {
                data: Mutex::new(data),
                changes: broadcast::channel(1024).0,
                cursors,
                capacity: config.store_capacity,
                processing_delay: config.store_processing_delay,
                db: db.map(Mutex::new),
                max_bytes: config.store_max_bytes,
                key_bytes: AtomicUsize::new(0),
                figures,
            }),
        }
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
        self.lookups(keys).await
    }

    async fn list(
        &self,
        _caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        self.operations_page(definition_file_id, first, after).await
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
        self.watch_operation(key).await
    }

    async fn get_files(&self, _caller: &Caller, ids: &[Guid]) -> FileLookups {
        self.file_lookups(ids).await
    }

    async fn list_files(
        &self,
        _caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        self.list_files_page(first, after).await
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
        self.watch_one_file(id).await
    }

    fn figures(&self) -> BackendFigures {
        self.shared.figures.clone()
    }
}
