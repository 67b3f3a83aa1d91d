//! Store mode's stand-in for Intune's asynchronous processing: after the configured delay, a
//! job reads the file's ADMX and ADML bytes (see [`super::admx`]) and records the outcome on
//! the file and on the operation that started the work, exactly where a client polling Graph
//! would find it.

use std::collections::BTreeMap;

use super::admx::{self, Adml, Admx};
use super::bytes::of_operation;
use super::{Change, Data, Store};
use crate::domain::files::{DefinitionFile, FileContent, FileStatus, LanguageFile, PolicyType};
use crate::domain::{Guid, OperationKey, OperationStatus, OperationType, Timestamp};
use crate::error::Error;

/// One ADML file as the store keeps it.
#[derive(Clone, Debug)]
pub struct LanguageSource {
    pub file_name: String,
    pub language_code: String,
    pub content: FileContent,
    pub last_modified: Timestamp,
}

/// The bytes a file was built from, kept so later actions can check the whole set again.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The ADMX file's name and bytes (`None` for a record seeded without them).
    pub admx: Option<(String, FileContent)>,
    /// ADML files by lower-cased language code.
    pub admls: BTreeMap<String, LanguageSource>,
    pub default_language: Option<String>,
}

impl Sources {
    /// The sources of a record whose bytes are unknown: its ADML names, no contents.
    pub fn unread(record: &DefinitionFile) -> Self {
        let admls = record
            .language_files
            .iter()
            .filter_map(|l| {
                let language = l.language_code.clone()?;
                Some((
                    language.to_ascii_lowercase(),
                    LanguageSource {
                        file_name: l.file_name.clone().unwrap_or_default(),
                        language_code: language,
                        content: FileContent::from_bytes(Vec::new()),
                        last_modified: l.last_modified.clone().unwrap_or_default(),
                    },
                ))
            })
            .collect();
        Sources {
            admx: None,
            admls,
            default_language: record.default_language_code.clone(),
        }
    }

    /// The ADML files as Graph lists them.
    pub fn language_files(&self) -> Vec<LanguageFile> {
        self.admls
            .values()
            .map(|l| LanguageFile {
                file_name: Some(l.file_name.clone()),
                language_code: Some(l.language_code.clone()),
                last_modified: Some(l.last_modified.clone()),
            })
            .collect()
    }

    /// The language codes, as uploaded.
    pub fn language_codes(&self) -> Vec<String> {
        self.admls
            .values()
            .map(|l| l.language_code.clone())
            .collect()
    }
}

/// What a successful read found.
pub struct Reading {
    pub admx: Admx,
    pub default: Adml,
}

/// Reads the whole set like Intune: the ADMX (keeping `namespace` when it is a new version),
/// an ADML for the default language, every ADML defining every reference, and every namespace
/// the ADMX builds on already uploaded.
pub fn read(
    sources: &Sources,
    known_namespaces: &[String],
    namespace: Option<&str>,
) -> Result<Reading, String> {
    let (admx_name, admx_bytes) = sources
        .admx
        .as_ref()
        .ok_or("No ADMX content was uploaded: Value cannot be null. Parameter name: content")?;
    let admx = admx::read_admx(admx_name, admx_bytes.bytes())?;
    if let Some(old) = namespace.filter(|old| *old != admx.target_namespace) {
        return Err(format!(
            "A new version must keep the namespace {old}; {admx_name} declares {}",
            admx.target_namespace
        ));
    }
    let default_language = sources.default_language.as_deref().unwrap_or("en-US");
    let default_key = default_language.to_ascii_lowercase();
    if !sources.admls.contains_key(&default_key) {
        return Err(format!(
            "No ADML file was uploaded for the default language {default_language}: \
             Value cannot be null. Parameter name: input"
        ));
    }
    let mut default = None;
    for (key, language) in &sources.admls {
        let name = format!("{}/{}", language.language_code, language.file_name);
        let adml = admx::read_adml(&name, language.content.bytes())?;
        admx::check_references(admx_name, &admx, &name, &adml)?;
        if *key == default_key {
            default = Some(adml);
        }
    }
    if let Some(missing) = admx.using.iter().find(|ns| !known_namespaces.contains(ns)) {
        return Err(format!(
            "{admx_name} uses namespace {missing}, which no available uploaded ADMX file \
             defines: upload the ADMX file that defines it first"
        ));
    }
    let default = default.ok_or("the default language's ADML was not read")?;
    Ok(Reading { admx, default })
}

/// Fills a record's fields from a successful read.
pub fn describe(record: &mut DefinitionFile, sources: &Sources, reading: &Reading) {
    record.display_name = reading.default.display_name.clone();
    record.description = reading.default.description.clone();
    record.target_prefix = Some(reading.admx.target_prefix.clone());
    record.target_namespace = Some(reading.admx.target_namespace.clone());
    record.revision = Some(reading.admx.revision.clone());
    record.policy_type = PolicyType::AdmxIngested;
    record.file_name = sources.admx.as_ref().map(|(name, _)| name.clone());
    record.language_codes = sources.language_codes();
    record.language_files = sources.language_files();
    record.default_language_code = sources.default_language.clone();
}

/// Work waiting for its simulated processing to end.
pub struct Job {
    pub file: Guid,
    pub operation: Guid,
    pub kind: OperationType,
    /// The file's bytes as they will be if the work succeeds.
    pub proposed: Sources,
    /// The status to return to when an action on an existing file fails.
    pub previous: FileStatus,
}

impl Store {
    /// Finishes `job` after the processing delay.
    pub(super) fn schedule(&self, job: Job) {
        let store = self.clone();
        let delay = self.shared.processing_delay();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let outcome = store.blocking(move |store| store.finish(job)).await;
            if let Err(e) = outcome {
                tracing::error!(error = %e, "simulated processing could not record its outcome");
            }
        });
    }

    fn finish(&self, job: Job) -> Result<(), Error> {
        self.shared.write(|data| {
            finish_now(data, job);
            Ok(())
        })
    }
}

fn finish_now(data: &mut Data, job: Job) {
    // The job's bytes were counted while it waited; they now go or become the file's.
    data.bytes -= job.proposed.bytes();
    if !data.files.contains_key(&job.file) {
        // Deleted while in progress: nothing is left to report on.
        return;
    }
    if job.kind == OperationType::Remove {
        remove_file(data, job.file);
        return;
    }
    let known = available_namespaces(data, job.file);
    let namespace = data
        .files
        .get(&job.file)
        .and_then(|f| f.record.target_namespace.clone())
        .filter(|_| job.kind == OperationType::UploadNewVersion);
    let outcome = read(&job.proposed, &known, namespace.as_deref());
    let Some(file) = data.files.get_mut(&job.file) else {
        return;
    };
    let now = Timestamp::now();
    let (status, details) = match outcome {
        Ok(reading) => {
            describe(&mut file.record, &job.proposed, &reading);
            data.bytes = data.bytes - file.sources.bytes() + job.proposed.bytes();
            file.sources = job.proposed;
            data.new_sources.push(job.file);
            let details = success_details(&file.record, &reading);
            (OperationStatus::Success, details)
        }
        Err(reason) => {
            if job.kind == OperationType::Upload {
                file.record.status = FileStatus::UploadFailed;
            } else {
                file.record.status = job.previous;
            }
            (OperationStatus::Failed, reason)
        }
    };
    if status == OperationStatus::Success {
        file.record.status = FileStatus::Available;
    }
    file.record.last_modified = now.clone();
    if let Some(op) = file
        .seq_of
        .get(&job.operation)
        .copied()
        .and_then(|seq| file.by_seq.get_mut(&seq))
    {
        data.bytes -= of_operation(op);
        op.operation_status = status;
        op.status_details = Some(details);
        data.bytes += of_operation(op);
        op.last_modified = now;
        let op = op.clone();
        data.publish(Change::Operation {
            key: op.key(),
            state: Some(op),
        });
    }
    data.publish(Change::File(job.file));
}

fn success_details(record: &DefinitionFile, reading: &Reading) -> String {
    format!(
        "{} (revision {}) read: {} policies in {} categories; languages {}",
        record.file_name.as_deref().unwrap_or("The ADMX file"),
        reading.admx.revision,
        reading.admx.policies,
        reading.admx.categories,
        record.language_codes.join(", ")
    )
}

/// Namespaces defined by the other files Intune has available.
fn available_namespaces(data: &Data, except: Guid) -> Vec<String> {
    data.files
        .values()
        .filter(|f| f.record.id != except)
        .filter(|f| {
            matches!(
                f.record.status,
                FileStatus::Available | FileStatus::Assigned
            )
        })
        .filter_map(|f| f.record.target_namespace.clone())
        .collect()
}

/// Removes a file and its operations, publishing each removal (called with the lock held).
pub(super) fn remove_file(data: &mut Data, id: Guid) -> Option<DefinitionFile> {
    let file = data.files.remove(&id)?;
    data.bytes -= file.sources.bytes() + file.by_seq.values().map(of_operation).sum::<usize>();
    data.order.remove(&file.seq);
    data.len -= file.by_seq.len();
    crate::telemetry::metrics::store_operations(data.len);
    for op in file.by_seq.values() {
        data.pending.push(Change::Operation {
            key: OperationKey {
                definition_file_id: id,
                id: op.id,
            },
            state: None,
        });
    }
    data.publish(Change::File(id));
    Some(file.record)
}
