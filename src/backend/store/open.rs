//! Opening a durable store (`--store-path`): load what the database holds, then settle the
//! work a crash or a stop interrupted, so no upload or action stays `IN_PROGRESS` forever.

use std::path::Path;

use super::bytes::of_operation;
use super::durable::Db;
use super::simulate::remove_file;
use super::{Change, Data, Store};
use crate::backend::cursor::CursorCodec;
use crate::config::StoreConfig;
use crate::domain::files::FileStatus;
use crate::domain::{Guid, OperationStatus, OperationType, Timestamp};

/// What an interrupted operation says once it is failed at start-up.
pub(crate) const INTERRUPTED: &str = "The gateway stopped before processing of this work ended, so \
                               nothing of it was applied; start it again";

impl Store {
    /// Opens (or creates) the store kept in the SQLite database at `path`, with the capacity,
    /// byte cap and processing delay of `config`. Returns the store
    /// and whether the seed decision was never made for the database (only then does a seed
    /// apply; see [`Store::mark_seeded`]).
    pub fn open(
        path: &Path,
        config: &StoreConfig,
        cursors: CursorCodec,
    ) -> Result<(Store, bool), String> {
        let db = Db::open(path)?;
        let never_seeded = db.never_seeded()?;
        db.interrupt_running_keys()?;
        let data = db.load()?;
        let store = Store::with_data(config, cursors, data, Some(db));
        store
            .shared
            .write(|data| {
                settle_interrupted(data);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        Ok((store, never_seeded))
    }
}

impl Store {
    /// Records that the seed decision was made for the database (with no seed to load: a seed
    /// records it in the same transaction as its data), so no seed ever applies to it later.
    pub fn mark_seeded(&self) -> Result<(), String> {
        self.shared
            .write(|data| {
                data.mark_seeded = true;
                Ok(())
            })
            .map_err(|e| e.to_string())
    }
}

/// Files whose work was in progress: a removal is finished, anything else is failed with
/// [`INTERRUPTED`] and the file goes back to where it was.
fn settle_interrupted(data: &mut Data) {
    let busy: Vec<(Guid, FileStatus, Option<FileStatus>)> = data
        .files
        .values()
        .filter(|f| {
            matches!(
                f.record.status,
                FileStatus::UploadInProgress | FileStatus::RemovalInProgress
            )
        })
        .map(|f| (f.record.id, f.record.status, f.status_before_work))
        .collect();
    let now = Timestamp::now();
    for (id, status, before) in busy {
        if status == FileStatus::RemovalInProgress {
            tracing::warn!(file = %id, "finishing a removal interrupted by a stop");
            remove_file(data, id);
            continue;
        }
        let Some(file) = data.files.get_mut(&id) else {
            continue;
        };
        // The work's own operation is the latest one still in progress.
        let op = file.by_seq.values_mut().rev().find(|op| {
            op.operation_status == OperationStatus::InProgress
                && op.operation_type != OperationType::None
        });
        let mut upload = true;
        if let Some(op) = op {
            upload = op.operation_type == OperationType::Upload;
            data.bytes = data.bytes.saturating_sub(of_operation(op));
            op.operation_status = OperationStatus::Failed;
            op.status_details = Some(INTERRUPTED.to_owned());
            op.last_modified = now.clone();
            data.bytes = data.bytes.saturating_add(of_operation(op));
            let op = op.clone();
            data.pending.push(Change::Operation {
                key: op.key(),
                state: Some(op),
            });
        }
        let Some(file) = data.files.get_mut(&id) else {
            continue;
        };
        file.record.status = match (upload, before) {
            (false, Some(before)) => before,
            (false, None) => FileStatus::Available,
            (true, _) => FileStatus::UploadFailed,
        };
        file.record.last_modified = now.clone();
        tracing::warn!(file = %id, "failed work interrupted by a stop");
        data.publish(Change::File(id));
    }
}
