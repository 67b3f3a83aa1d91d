//! The store's writes to operations, each one [`Shared::write`](super::Shared::write): checked,
//! applied, made durable and published as one step. With `--store-path` they run on
//! Tokio's blocking pool, since a commit waits for the disk.

use super::bytes::of_operation;
use super::{Change, Data, Store};
use crate::domain::files::file_not_found;
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Timestamp};
use crate::error::Error;

impl Store {
    /// Runs `work` where it may block: inline for the in-memory store (it never waits), on
    /// the blocking pool when each write waits for the database.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        if self.shared.db.is_none() {
            return work(self);
        }
        let store = self.clone();
        // A request cancelled meanwhile still lets the write finish: never half a write.
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| Error::Internal(format!("store write task failed: {e}")))?
    }

    pub(super) fn create_now(&self, file: Guid, input: NewOperation) -> Result<Operation, Error> {
        let op = Operation {
            id: Guid::new_v4(),
            definition_file_id: file,
            operation_type: input.operation_type,
            operation_status: input.operation_status,
            status_details: input.status_details,
            last_modified: Timestamp::now(),
        };
        self.shared.write(|data| {
            self.check_capacity(data)?;
            self.check_bytes(data, of_operation(&op))?;
            if !data.insert(op.clone()) {
                return Err(file_not_found(file));
            }
            Ok(op)
        })
    }

    pub(super) fn update_now(
        &self,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error> {
        self.shared.write(|data| {
            let current = data.get(key).ok_or_else(|| key.not_found())?;
            let mut updated = current.clone();
            patch.apply(&mut updated);
            updated.last_modified = Timestamp::now();
            let (before, after) = (of_operation(&current), of_operation(&updated));
            self.check_bytes(data, after.saturating_sub(before))?;
            let op = data
                .files
                .get_mut(&key.definition_file_id)
                .and_then(|file| {
                    let seq = *file.seq_of.get(&key.id)?;
                    file.by_seq.get_mut(&seq)
                });
            let Some(op) = op else {
                return Err(key.not_found());
            };
            *op = updated.clone();
            data.bytes = data.bytes.saturating_sub(before).saturating_add(after);
            data.publish(Change::Operation {
                key,
                state: Some(updated.clone()),
            });
            Ok(updated)
        })
    }

    pub(super) fn delete_now(&self, key: OperationKey) -> Result<(), Error> {
        self.shared.write(|data| {
            let removed = data
                .files
                .get_mut(&key.definition_file_id)
                .and_then(|file| {
                    let seq = file.seq_of.remove(&key.id)?;
                    file.by_seq.remove(&seq)
                });
            let Some(removed) = removed else {
                return Err(key.not_found());
            };
            data.bytes = data.bytes.saturating_sub(of_operation(&removed));
            data.len -= 1;
            data.publish(Change::Operation { key, state: None });
            Ok(())
        })
    }

    pub(super) fn check_capacity(&self, data: &Data) -> Result<(), Error> {
        if data.len >= self.shared.capacity {
            return Err(Error::LimitExceeded(format!(
                "the in-process store is full ({} operations); delete some first",
                self.shared.capacity
            )));
        }
        Ok(())
    }
}
