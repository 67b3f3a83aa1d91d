//! The in-process backend: every operation in memory, so the whole API works with no tenant.
//!
//! Operations are kept per definition file in insertion order (a sequence number), which makes
//! paging stable while others are created. Writes publish changes on a broadcast channel, which
//! is what subscriptions follow. The lock is a `std::sync::Mutex` held only for plain memory
//! work, never across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::cursor::CursorCodec;
use super::{Backend, Caller, Lookups, Watch};
use crate::domain::{
    Fields, Guid, NewOperation, Operation, OperationKey, OperationPatch, OperationStatus,
    OperationType, Page, Timestamp,
};
use crate::error::Error;

/// The demo data the gateway starts with unless told otherwise.
pub const DEMO_SEED: &str = include_str!("demo_seed.json");

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
}

#[derive(Default)]
struct Data {
    files: HashMap<Guid, File>,
    next_seq: u64,
    len: usize,
}

#[derive(Default)]
struct File {
    by_seq: BTreeMap<u64, Operation>,
    seq_of: HashMap<Guid, u64>,
}

#[derive(Clone, Debug)]
struct Change {
    key: OperationKey,
    state: Option<Operation>,
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

    /// Called with the data lock held, so changes go out in the order they were made.
    fn publish(&self, key: OperationKey, state: Option<Operation>) {
        // No subscribers is the common case and not an error.
        let _ = self.changes.send(Change { key, state });
    }
}

impl Data {
    fn get(&self, key: OperationKey) -> Option<Operation> {
        let file = self.files.get(&key.definition_file_id)?;
        file.by_seq.get(file.seq_of.get(&key.id)?).cloned()
    }

    fn insert(&mut self, op: Operation) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let file = self.files.entry(op.definition_file_id).or_default();
        file.seq_of.insert(op.id, seq);
        file.by_seq.insert(seq, op);
        self.len += 1;
        crate::telemetry::metrics::store_operations(self.len);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedFile {
    definition_files: Vec<SeedDefinitionFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedDefinitionFile {
    id: String,
    operations: Vec<SeedOperation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedOperation {
    id: String,
    operation_type: String,
    operation_status: String,
    #[serde(default)]
    status_details: Option<String>,
    last_modified_date_time: String,
}

impl Store {
    /// An empty store holding at most `capacity` operations.
    pub fn new(capacity: usize, cursors: CursorCodec) -> Self {
        Store {
            shared: Arc::new(Shared {
                data: Mutex::new(Data::default()),
                changes: broadcast::channel(1024).0,
                cursors,
                capacity,
            }),
        }
    }

    /// Loads a seed document (the format of `demo_seed.json`: definition files with their
    /// operations, enum members and timestamps as Graph writes them). Every value is validated;
    /// the first bad one is reported with its place.
    pub fn load_seed(&self, json: &str) -> Result<usize, String> {
        let seed: SeedFile =
            serde_json::from_str(json).map_err(|e| format!("seed is not valid: {e}"))?;
        let mut ops = Vec::new();
        for file in seed.definition_files {
            let file_id =
                Guid::parse("definitionFiles[].id", &file.id).map_err(|e| e.to_string())?;
            for op in file.operations {
                let place = format!("operation {} of file {}", op.id, file.id);
                let operation_type = OperationType::from_graph(&op.operation_type);
                let operation_status = OperationStatus::from_graph(&op.operation_status);
                if operation_type == OperationType::UnknownFutureValue
                    || operation_status == OperationStatus::UnknownFutureValue
                {
                    return Err(format!("{place}: unknown operationType or operationStatus"));
                }
                ops.push(Operation {
                    id: Guid::parse("operations[].id", &op.id)
                        .map_err(|e| format!("{place}: {e}"))?,
                    definition_file_id: file_id,
                    operation_type,
                    operation_status,
                    status_details: op.status_details,
                    last_modified: Timestamp::parse(&op.last_modified_date_time)
                        .map_err(|e| format!("{place}: {e}"))?,
                });
            }
        }
        let count = ops.len();
        let mut data = self.shared.data();
        if data.len + count > self.shared.capacity {
            return Err(format!(
                "seed has {count} operations; the store holds at most {}",
                self.shared.capacity
            ));
        }
        for op in ops {
            data.insert(op);
        }
        Ok(count)
    }
}

/// The position of an operation in its file's list; what a store cursor carries.
type Seq = u64;

#[async_trait]
impl Backend for Store {
    async fn get_many(&self, _caller: &Caller, keys: &[OperationKey], _fields: Fields) -> Lookups {
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
        _fields: Fields,
    ) -> Result<Page, Error> {
        let cursors = &self.shared.cursors;
        let start = match after {
            Some(cursor) => Bound::Excluded(cursors.decode::<Seq>(definition_file_id, cursor)?),
            None => Bound::Unbounded,
        };
        let data = self.shared.data();
        let Some(file) = data.files.get(&definition_file_id) else {
            return Ok(Page::default());
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
        _fields: Fields,
    ) -> Result<Operation, Error> {
        let op = Operation {
            id: Guid::new_v4(),
            definition_file_id,
            operation_type: input.operation_type,
            operation_status: input.operation_status,
            status_details: input.status_details,
            last_modified: Timestamp::now(),
        };
        {
            let mut data = self.shared.data();
            if data.len >= self.shared.capacity {
                return Err(Error::LimitExceeded(format!(
                    "the in-process store is full ({} operations); delete some first",
                    self.shared.capacity
                )));
            }
            data.insert(op.clone());
            self.shared.publish(op.key(), Some(op.clone()));
        }
        Ok(op)
    }

    async fn update(
        &self,
        _caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
        _fields: Fields,
    ) -> Result<Option<Operation>, Error> {
        let updated = {
            let mut data = self.shared.data();
            let file = data.files.get_mut(&key.definition_file_id);
            let op = file.and_then(|file| {
                let seq = *file.seq_of.get(&key.id)?;
                file.by_seq.get_mut(&seq)
            });
            let Some(op) = op else {
                return Err(key.not_found());
            };
            patch.apply(op);
            op.last_modified = Timestamp::now();
            let updated = op.clone();
            self.shared.publish(key, Some(updated.clone()));
            updated
        };
        Ok(Some(updated))
    }

    async fn delete(&self, _caller: &Caller, key: OperationKey) -> Result<(), Error> {
        {
            let mut data = self.shared.data();
            let removed = data
                .files
                .get_mut(&key.definition_file_id)
                .and_then(|file| {
                    let seq = file.seq_of.remove(&key.id)?;
                    file.by_seq.remove(&seq)
                });
            if removed.is_none() {
                return Err(key.not_found());
            }
            data.len -= 1;
            crate::telemetry::metrics::store_operations(data.len);
            self.shared.publish(key, None);
        }
        Ok(())
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
                Ok(change) if change.key == key => Some(change.state),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_seed_loads() {
        let store = Store::new(100, CursorCodec::new(None));
        assert_eq!(store.load_seed(DEMO_SEED).expect("demo seed is valid"), 5);
    }

    #[test]
    fn a_bad_seed_names_the_problem() {
        let store = Store::new(100, CursorCodec::new(None));
        let err = store
            .load_seed(r#"{"definitionFiles":[{"id":"nope","operations":[]}]}"#)
            .expect_err("bad id");
        assert!(err.contains("GUID"), "{err}");
        assert!(store.load_seed("{").is_err());
    }
}
