//! The simulated Intune's work on a file after its processing delay: read the proposed bytes
//! on the bounded parsing pool (see [`super::parsing`]), then record the outcome on the file and
//! on the operation that started the work, exactly where a client polling Graph would find it.
//!
//! A job is scheduled only once the write that started it is durable, and the bytes it holds
//! are counted apart from the files' (see [`super::Data::held`]), so a failed commit can never
//! leave them counted twice or not at all. Recording the outcome is retried while the database
//! refuses it (another process holding its lock, a full disk).

use std::time::Duration;

use super::bytes::of_operation;
use super::simulate::{Reading, Sources, available_namespaces, describe, read, remove_file};
use super::{Change, Data, Store, parsing};
use crate::domain::files::{DefinitionFile, FileStatus};
use crate::domain::{Guid, OperationStatus, OperationType, Timestamp};

/// Work waiting for its simulated processing to end.
#[derive(Clone)]
pub(crate) struct Job {
    pub file: Guid,
    pub operation: Guid,
    pub kind: OperationType,
    /// The file's bytes as they will be if the work succeeds.
    pub proposed: Sources,
    /// The status to return to when an action on an existing file fails.
    pub previous: FileStatus,
}

/// What reading a job's files gave; `None` when there was nothing to read (a removal, or a
/// file deleted meanwhile).
type Outcome = Option<Result<Reading, String>>;

/// Tries to record an outcome the database refused, one second apart.
const RECORD_ATTEMPTS: u32 = 30;

impl Store {
    /// Finishes `job` after the processing delay.
    pub(super) fn schedule(&self, job: Job) {
        let store = self.clone();
        let delay = self.shared.processing_delay();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            store.process(job).await;
        });
    }

    async fn process(&self, mut job: Job) {
        let mut outcome = None;
        if job.kind != OperationType::Remove {
            let (file, kind) = (job.file, job.kind);
            // Read under the lock: what the files are read against (cheap, no parsing).
            let context = self.read(move |_, data| context(data, file, kind)).await;
            if let Ok(Some((known, namespace))) = context {
                let proposed = std::mem::take(&mut job.proposed);
                let read = parsing::run(parsing::BUDGET, move || {
                    let mut proposed = proposed;
                    let reading = read(&mut proposed, &known, namespace.as_deref());
                    (proposed, reading)
                })
                .await;
                outcome = Some(match read {
                    Ok((proposed, reading)) => {
                        job.proposed = proposed;
                        reading
                    }
                    Err(reason) => Err(reason),
                });
            }
        }
        self.record(job, outcome).await;
    }

    async fn record(&self, job: Job, outcome: Outcome) {
        if self.shared.db.is_none() {
            // Memory never refuses a write.
            let _ = self.shared.write(|data| {
                finish_now(data, job, outcome);
                Ok(())
            });
            return;
        }
        for attempt in 1..=RECORD_ATTEMPTS {
            let (job, outcome) = (job.clone(), outcome.clone());
            let recorded = self
                .blocking(move |store| {
                    store.shared.write(|data| {
                        finish_now(data, job, outcome);
                        Ok(())
                    })
                })
                .await;
            match recorded {
                Ok(()) => return,
                Err(e) => tracing::warn!(
                    error = %e, attempt,
                    "simulated processing could not record its outcome; retrying"
                ),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::error!(
            file = %job.file,
            "simulated processing gave up recording its outcome; the work is failed at the \
             next start"
        );
    }
}

/// The namespaces other files make available, and the namespace a new version must keep;
/// `None` when the file is gone.
fn context(data: &Data, file: Guid, kind: OperationType) -> Option<(Vec<String>, Option<String>)> {
    let record = &data.files.get(&file)?.record;
    let namespace = record
        .target_namespace
        .clone()
        .filter(|_| kind == OperationType::UploadNewVersion);
    Some((available_namespaces(data, file), namespace))
}

fn finish_now(data: &mut Data, job: Job, outcome: Outcome) {
    // The job's bytes stop being held once this is durable (see `Shared::write`).
    data.ended_jobs.push(job.operation);
    if !data.files.contains_key(&job.file) {
        // Deleted while in progress: nothing is left to report on.
        return;
    }
    if job.kind == OperationType::Remove {
        remove_file(data, job.file);
        return;
    }
    let outcome = outcome
        .unwrap_or_else(|| Err("The files could not be read (ContentParsingException)".to_owned()));
    let Some(file) = data.files.get_mut(&job.file) else {
        return;
    };
    let now = Timestamp::now();
    let (status, details) = match outcome {
        Ok(reading) => {
            describe(&mut file.record, &job.proposed, &reading);
            data.bytes = data
                .bytes
                .saturating_sub(file.sources.bytes())
                .saturating_add(job.proposed.bytes());
            file.sources = job.proposed;
            data.new_sources.push(job.file);
            (
                OperationStatus::Success,
                success_details(&file.record, &reading),
            )
        }
        Err(reason) => {
            file.record.status = if job.kind == OperationType::Upload {
                FileStatus::UploadFailed
            } else {
                job.previous
            };
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
        data.bytes = data.bytes.saturating_sub(of_operation(op));
        op.operation_status = status;
        op.status_details = Some(details);
        data.bytes = data.bytes.saturating_add(of_operation(op));
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
