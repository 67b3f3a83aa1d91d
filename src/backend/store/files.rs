//! Definition files in the store: listing, uploads and actions with Intune's synchronous
//! refusals (tenant limit, work already in progress; the per-file checks are in `proposals.rs`),
//! and watching a file with its operations.

use std::ops::Bound;

use futures_util::{StreamExt, stream};
use tokio_stream::wrappers::BroadcastStream;

use super::bytes::OPERATION_BYTES;
use super::jobs::Job;
use super::proposals::{add_languages, check_size, check_sizes, propose};
use super::simulate::{Sources, remove_file};
use super::{Data, Seq, Store};
use crate::backend::FileWatch;
use crate::domain::files::{
    DefinitionFile, FILES_LIST, FileAction, FilePage, FileStatus, NewDefinitionFile, PolicyType,
    WatchedFile, file_not_found,
};
use crate::domain::{
    Cursor, GraphMember, Guid, Operation, OperationStatus, OperationType, Page, Timestamp,
};
use crate::error::Error;

/// Intune's limit of uploaded definition files per tenant.
pub const MAX_FILES: usize = 10;
/// Intune's limit on one ADMX or ADML file, in bytes (1 MB).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most operations a watched file's snapshot carries.
const WATCH_PAGE: usize = 100;

impl Store {
    pub(super) async fn list_files_page(
        &self,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        let start = match after {
            Some(cursor) => Bound::Excluded(self.shared.cursors.decode::<Seq>(FILES_LIST, cursor)?),
            None => Bound::Unbounded,
        };
        self.read(move |store, data| {
            let cursors = &store.shared.cursors;
            let mut items: Vec<(Cursor, DefinitionFile)> = data
                .order
                .range((start, Bound::Unbounded))
                .take(first + 1)
                .filter_map(|(seq, id)| {
                    let file = data.files.get(id)?;
                    Some((cursors.lazy(FILES_LIST, *seq), file.record.clone()))
                })
                .collect();
            let has_next_page = items.len() > first;
            items.truncate(first);
            FilePage {
                items,
                has_next_page,
            }
        })
        .await
    }

    pub(super) fn upload(&self, new: NewDefinitionFile) -> Result<DefinitionFile, Error> {
        check_size("input.content", &new.file_name, &new.content)?;
        check_sizes(
            "input.groupPolicyUploadedLanguageFiles",
            &new.language_files,
        )?;
        let now = Timestamp::now();
        let mut sources = Sources {
            admx: Some((new.file_name.clone(), new.content)),
            default_language: Some(new.default_language_code.clone()),
            ..Sources::default()
        };
        add_languages(&mut sources, new.language_files, &now);
        let record = DefinitionFile {
            id: Guid::new_v4(),
            display_name: None,
            description: None,
            file_name: Some(new.file_name),
            language_codes: sources.language_codes(),
            target_prefix: None,
            target_namespace: None,
            policy_type: PolicyType::AdmxIngested,
            revision: None,
            status: FileStatus::UploadInProgress,
            upload_date_time: Some(now.clone()),
            last_modified: now,
            default_language_code: Some(new.default_language_code),
            language_files: sources.language_files(),
        };
        self.shared.write(|data| {
            if data.files.len() >= MAX_FILES {
                return Err(Error::LimitExceeded(format!(
                    "The tenant already has {MAX_FILES} uploaded definition files, Intune's \
                     limit; remove one first"
                )));
            }
            self.check_capacity(data)?;
            self.check_bytes(data, sources.bytes() + OPERATION_BYTES)?;
            data.insert_file(record.clone(), Sources::default());
            let operation = self.start(data, record.id, OperationType::Upload)?;
            // Held by the job until it ends (see `jobs`).
            data.new_jobs.push(Job {
                file: record.id,
                operation,
                kind: OperationType::Upload,
                proposed: sources,
                previous: FileStatus::UploadInProgress,
            });
            Ok(record)
        })
    }

    /// Records an IN_PROGRESS operation of `kind` on file `id` (lock held).
    fn start(&self, data: &mut Data, id: Guid, kind: OperationType) -> Result<Guid, Error> {
        let op = Operation {
            id: Guid::new_v4(),
            definition_file_id: id,
            operation_type: kind,
            operation_status: OperationStatus::InProgress,
            status_details: None,
            last_modified: Timestamp::now(),
        };
        let operation = op.id;
        if !data.insert(op) {
            return Err(file_not_found(id));
        }
        data.publish(super::Change::File(id));
        Ok(operation)
    }

    pub(super) fn act(&self, id: Guid, action: FileAction) -> Result<DefinitionFile, Error> {
        match &action {
            FileAction::AddLanguageFiles(files) | FileAction::UpdateLanguageFiles(files) => {
                check_sizes("languageFiles", files)?;
            }
            FileAction::UploadNewVersion {
                content,
                language_files,
            } => {
                check_size("content", "the new ADMX file", content)?;
                check_sizes("languageFiles", language_files)?;
            }
            FileAction::RemoveLanguageFiles(_) | FileAction::Remove => {}
        }
        let kind = action.operation_type();
        self.shared.write(|data| {
            let file = data.files.get(&id).ok_or_else(|| file_not_found(id))?;
            let previous = file.record.status;
            if matches!(
                previous,
                FileStatus::UploadInProgress | FileStatus::RemovalInProgress
            ) {
                return Err(Error::Conflict(format!(
                    "Definition file {id} is busy ({}); wait until its work ends",
                    previous.graph_name().as_deref().unwrap_or("unknown")
                )));
            }
            let proposed = propose(&file.sources, &file.record, action)?;
            self.check_capacity(data)?;
            self.check_bytes(data, proposed.bytes() + OPERATION_BYTES)?;
            let operation = self.start(data, id, kind)?;
            let file = data.files.get_mut(&id).ok_or_else(|| file_not_found(id))?;
            file.record.status = if kind == OperationType::Remove {
                FileStatus::RemovalInProgress
            } else {
                FileStatus::UploadInProgress
            };
            file.record.last_modified = Timestamp::now();
            file.status_before_work = Some(previous);
            let record = file.record.clone();
            data.publish(super::Change::File(id));
            // Held by the job until it ends (see `jobs`).
            data.new_jobs.push(Job {
                file: id,
                operation,
                kind,
                proposed,
                previous,
            });
            Ok(record)
        })
    }

    /// Deletes a file at once (Graph's DELETE); its record as it was, `None` when missing.
    pub(super) fn remove_file_now(&self, id: Guid) -> Result<DefinitionFile, Error> {
        self.shared
            .write(|data| remove_file(data, id).ok_or_else(|| file_not_found(id)))
    }

    pub(super) async fn watch_one_file(&self, id: Guid) -> Result<FileWatch, Error> {
        // As for operations: subscribe and read under the lock, so no change is missed.
        let (changes, current) = self
            .read(move |store, data| {
                let changes = BroadcastStream::new(store.shared.changes.subscribe());
                store.snapshot(data, id).map(|current| (changes, current))
            })
            .await?
            .ok_or_else(|| file_not_found(id))?;
        let store = self.clone();
        let later = changes.filter_map(move |change| {
            let store = store.clone();
            async move {
                let relevant = match &change {
                    Ok(change) => change.file_id() == id,
                    // Fell behind: read the latest state.
                    Err(_) => true,
                };
                if !relevant {
                    return None;
                }
                Some(
                    store
                        .read(move |store, data| store.snapshot(data, id))
                        .await,
                )
            }
        });
        let mut last: Option<WatchedFile> = None;
        let deduplicated = stream::once(std::future::ready(Ok(Some(current))))
            .chain(later)
            .filter_map(move |state: Result<Option<WatchedFile>, Error>| {
                let repeat = match (&state, &last) {
                    (Ok(Some(new)), Some(old)) => new.same_as(old),
                    _ => false,
                };
                if let Ok(Some(new)) = &state {
                    last = Some(new.clone());
                }
                std::future::ready((!repeat).then_some(state))
            });
        Ok(deduplicated.boxed())
    }

    fn snapshot(&self, data: &Data, id: Guid) -> Option<WatchedFile> {
        let file = data.files.get(&id)?;
        let cursors = &self.shared.cursors;
        let mut items: Vec<(Cursor, Operation)> = file
            .by_seq
            .iter()
            .take(WATCH_PAGE + 1)
            .map(|(seq, op)| (cursors.lazy(id, *seq), op.clone()))
            .collect();
        let has_next_page = items.len() > WATCH_PAGE;
        items.truncate(WATCH_PAGE);
        Some(WatchedFile {
            file: file.record.clone(),
            operations: Page {
                items,
                has_next_page,
            },
        })
    }
}
