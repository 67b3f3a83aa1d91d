//! The uploaded ADMX definition file (Graph's `groupPolicyUploadedDefinitionFile`), its ADML
//! language files, and the work an admin can start on it, independent of GraphQL and Graph.
//!
//! Inputs are validated here once (file names, language codes, base64 contents), so both
//! backends receive only well-formed requests. File contents are write-only, as in Graph: they
//! are never returned, and their `Debug` shows only their size so they cannot reach a log.

mod inputs;

pub use inputs::*;

use serde::{Deserialize, Serialize};

use super::{GraphMember, Guid, OperationStatus, Page, Timestamp};
use crate::error::Error;

/// Where an uploaded ADMX file is in Intune's pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FileStatus {
    /// No status reported.
    None,
    /// Intune is reading the uploaded files.
    UploadInProgress,
    /// The file was read and its policies can be configured.
    Available,
    /// The file's policies are used by a configuration.
    Assigned,
    /// Intune is removing the file.
    RemovalInProgress,
    /// Intune could not read the file; the operation's `statusDetails` says why.
    UploadFailed,
    /// Intune could not remove the file.
    RemovalFailed,
    /// A member Graph added after this gateway was built; never sent to Graph.
    #[serde(other, skip_serializing)]
    UnknownFutureValue,
}

impl GraphMember for FileStatus {
    const UNKNOWN: Self = FileStatus::UnknownFutureValue;
}

impl GraphMember for PolicyType {
    const UNKNOWN: Self = PolicyType::UnknownFutureValue;
}

impl FileStatus {
    /// A status Intune leaves only when an admin starts new work on the file.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            FileStatus::Available
                | FileStatus::Assigned
                | FileStatus::UploadFailed
                | FileStatus::RemovalFailed
        )
    }
}

/// How Intune knows the file's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyType {
    /// Built into Windows' ADMX-backed policy CSPs.
    AdmxBacked,
    /// Ingested from an uploaded ADMX file.
    AdmxIngested,
    /// A member Graph added after this gateway was built; never sent to Graph.
    #[serde(other, skip_serializing)]
    UnknownFutureValue,
}

/// An ADML file of a definition file, as Graph lists it (its content is never returned).
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageFile {
    /// The ADML file name, e.g. `contoso.adml`; `None` when Graph sends none.
    pub file_name: Option<String>,
    /// The file's language, e.g. `en-US`; `None` when Graph sends none.
    pub language_code: Option<String>,
    /// When Intune last changed the ADML file; `None` when Graph sends none.
    pub last_modified: Option<Timestamp>,
}

/// One uploaded ADMX definition file.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionFile {
    /// Intune's id of the definition file (a GUID).
    pub id: Guid,
    /// The name Intune shows for the file; `None` when Graph sends none.
    pub display_name: Option<String>,
    /// Intune's description of the file; `None` when Graph sends none.
    pub description: Option<String>,
    /// The ADMX file name as uploaded, e.g. `contoso.admx`; `None` when Graph sends none.
    pub file_name: Option<String>,
    /// The languages of the file's ADML files, e.g. `en-US` (Graph may answer an upload with none).
    pub language_codes: Vec<String>,
    /// The ADMX's target prefix; `None` when Graph sends none.
    pub target_prefix: Option<String>,
    /// The ADMX's target namespace; `None` when Graph sends none.
    pub target_namespace: Option<String>,
    /// Whether the policies are built into Windows or ingested from this upload.
    pub policy_type: PolicyType,
    /// The ADMX's revision; `None` when Graph sends none.
    pub revision: Option<String>,
    /// Where the file is in Intune's pipeline (uploading, available, removing, failed...).
    pub status: FileStatus,
    /// When the file was uploaded; `None` when Graph sends none (its "never" is year 1 instead).
    pub upload_date_time: Option<Timestamp>,
    /// When Intune last changed the file.
    pub last_modified: Timestamp,
    /// The language Intune shows the file's policies in, e.g. `en-US`; `None` when Graph
    /// sends none.
    pub default_language_code: Option<String>,
    /// The file's ADML files, one per language (their content is never returned).
    pub language_files: Vec<LanguageFile>,
}

/// The key that binds cursors to the list of definition files (as a file id binds cursors to
/// that file's operations). No real file has it: Graph never issues this GUID.
pub const FILES_LIST: Guid = Guid(uuid::Uuid::from_u128(
    0x6470_6f67_6669_6c65_8000_0000_0000_0001,
));

/// The `NOT_FOUND` error for a definition file.
pub fn file_not_found(id: Guid) -> Error {
    Error::NotFound(format!("No group policy definition file {id}"))
}

/// A file as a subscription sees it: its state and its operations, read together.
#[derive(Debug, Clone)]
pub struct WatchedFile {
    /// The file as it is now.
    pub file: DefinitionFile,
    /// The first page of the file's operations, with cursors from the backend.
    pub operations: Page,
}

impl WatchedFile {
    /// Whether the work on the file is over: a final status and no operation in progress.
    pub fn is_settled(&self) -> bool {
        self.file.status.is_final()
            && self
                .operations
                .items
                .iter()
                .all(|(_, op)| op.operation_status != OperationStatus::InProgress)
    }

    /// Same file state and same operations (cursors aside).
    pub fn same_as(&self, other: &WatchedFile) -> bool {
        self.file == other.file
            && self.operations.items.len() == other.operations.items.len()
            && self
                .operations
                .items
                .iter()
                .zip(&other.operations.items)
                .all(|((_, a), (_, b))| a == b)
    }
}

/// One page of definition files, each with the cursor that resumes after it.
#[derive(Debug, Clone, Default)]
pub struct FilePage {
    /// The files of this page, in order, each with the cursor that resumes after it.
    pub items: Vec<(super::Cursor, DefinitionFile)>,
    /// True when more files follow the last one; ask again with its cursor as `after`.
    pub has_next_page: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses() {
        assert!(FileStatus::Available.is_final());
        assert!(!FileStatus::UploadInProgress.is_final());
        assert_eq!(
            FileStatus::from_graph("removalInProgress"),
            FileStatus::RemovalInProgress
        );
        assert_eq!(
            PolicyType::from_graph("somethingNew"),
            PolicyType::UnknownFutureValue
        );
    }
}
