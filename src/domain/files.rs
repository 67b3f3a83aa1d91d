//! The uploaded ADMX definition file (Graph's `groupPolicyUploadedDefinitionFile`), its ADML
//! language files, and the work an admin can start on it, independent of GraphQL and Graph.
//!
//! Inputs are validated here once (file names, language codes, base64 contents), so both
//! backends receive only well-formed requests. File contents are write-only, as in Graph: they
//! are never returned, and their `Debug` shows only their size so they cannot reach a log.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Guid, OperationStatus, OperationType, Page, Timestamp};
use crate::error::Error;

/// Most language files one request may carry.
pub const MAX_LANGUAGE_FILES: usize = 50;
/// Longest file name accepted, in characters (Windows' `MAX_PATH`).
const MAX_FILE_NAME: usize = 260;

graph_enum! {
    /// Where an uploaded ADMX file is in Intune's pipeline.
    FileStatus {
        /// No status reported.
        None = "none",
        /// Intune is reading the uploaded files.
        UploadInProgress = "uploadInProgress",
        /// The file was read and its policies can be configured.
        Available = "available",
        /// The file's policies are used by a configuration.
        Assigned = "assigned",
        /// Intune is removing the file.
        RemovalInProgress = "removalInProgress",
        /// Intune could not read the file; the operation's `statusDetails` says why.
        UploadFailed = "uploadFailed",
        /// Intune could not remove the file.
        RemovalFailed = "removalFailed",
    }
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

graph_enum! {
    /// How Intune knows the file's policies.
    PolicyType {
        /// Built into Windows' ADMX-backed policy CSPs.
        AdmxBacked = "admxBacked",
        /// Ingested from an uploaded ADMX file.
        AdmxIngested = "admxIngested",
    }
}

/// An ADML file of a definition file, as Graph lists it (its content is never returned).
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageFile {
    pub file_name: Option<String>,
    pub language_code: Option<String>,
    pub last_modified: Option<Timestamp>,
}

/// One uploaded ADMX definition file.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionFile {
    pub id: Guid,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub language_codes: Vec<String>,
    pub target_prefix: Option<String>,
    pub target_namespace: Option<String>,
    pub policy_type: PolicyType,
    pub revision: Option<String>,
    pub status: FileStatus,
    pub upload_date_time: Option<Timestamp>,
    pub last_modified: Timestamp,
    pub default_language_code: Option<String>,
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
    pub items: Vec<(String, DefinitionFile)>,
    pub has_next_page: bool,
}

/// The bytes of an ADMX or ADML file. Write-only: `Debug` shows the size, never the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FileContent(Vec<u8>);

impl FileContent {
    /// Decodes standard base64 (RFC 4648 alphabet, canonical padding, no whitespace).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        STANDARD
            .decode(text)
            .map(FileContent)
            .map_err(|_| "must be standard base64 (RFC 4648) with padding".to_owned())
    }

    /// Wraps raw bytes (seeds, tests).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        FileContent(bytes)
    }

    /// Standard padded base64, as Graph's `Edm.Binary` travels.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for zero bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for FileContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileContent(<{} bytes>)", self.0.len())
    }
}

/// A file name such as `contoso.admx`: no path, no control characters, the right extension.
fn file_name(argument: &str, value: &str, extension: &str) -> Result<String, Error> {
    let ok = !value.trim().is_empty()
        && value.chars().count() <= MAX_FILE_NAME
        && !value
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'))
        && value.len() > extension.len()
        && value.is_char_boundary(value.len() - extension.len())
        && value[value.len() - extension.len()..].eq_ignore_ascii_case(extension);
    ok.then(|| value.to_owned()).ok_or_else(|| {
        Error::bad_argument(
            argument,
            format!(
                "`{argument}` must be a plain file name ending in {extension}, at most \
                 {MAX_FILE_NAME} characters, e.g. contoso{extension}"
            ),
        )
    })
}

/// A language tag such as `en-US` (letters, then hyphen-separated letters or digits).
fn language_code(argument: &str, value: &str) -> Result<String, Error> {
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or("");
    let ok = value.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    ok.then(|| value.to_owned()).ok_or_else(|| {
        Error::bad_argument(
            argument,
            format!("`{argument}` must be a language tag such as en-US"),
        )
    })
}

/// An ADML file to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageFileUpload {
    pub file_name: String,
    pub language_code: String,
    pub content: FileContent,
}

impl LanguageFileUpload {
    /// Validates one ADML upload; `argument` is its place, e.g. `languageFiles[0]`.
    pub fn parse(
        argument: &str,
        file_name_value: &str,
        language_code_value: &str,
        content: FileContent,
    ) -> Result<Self, Error> {
        let upload = LanguageFileUpload {
            file_name: file_name(&format!("{argument}.fileName"), file_name_value, ".adml")?,
            language_code: language_code(&format!("{argument}.languageCode"), language_code_value)?,
            content,
        };
        non_empty(&format!("{argument}.content"), &upload.content)?;
        Ok(upload)
    }
}

/// Names an ADML file to remove.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageFileRef {
    pub file_name: String,
    pub language_code: String,
}

impl LanguageFileRef {
    /// Validates one reference; `argument` is its place, e.g. `languageFiles[0]`.
    pub fn parse(argument: &str, file_name_value: &str, language: &str) -> Result<Self, Error> {
        Ok(LanguageFileRef {
            file_name: file_name(&format!("{argument}.fileName"), file_name_value, ".adml")?,
            language_code: language_code(&format!("{argument}.languageCode"), language)?,
        })
    }
}

fn non_empty(argument: &str, content: &FileContent) -> Result<(), Error> {
    if content.is_empty() {
        return Err(Error::bad_argument(
            argument,
            format!("`{argument}` must not be empty"),
        ));
    }
    Ok(())
}

/// Checks a list of language files: how many, and one per language.
pub fn check_languages<'a>(
    argument: &str,
    languages: impl ExactSizeIterator<Item = &'a str>,
    at_least_one: bool,
) -> Result<(), Error> {
    let count = languages.len();
    if count > MAX_LANGUAGE_FILES || (at_least_one && count == 0) {
        return Err(Error::bad_argument(
            argument,
            format!(
                "`{argument}` must hold {} to {MAX_LANGUAGE_FILES} language files, got {count}",
                usize::from(at_least_one)
            ),
        ));
    }
    let mut seen: Vec<String> = Vec::with_capacity(count);
    for language in languages {
        let folded = language.to_ascii_lowercase();
        if seen.contains(&folded) {
            return Err(Error::bad_argument(
                argument,
                format!("`{argument}` has two files for {language}: one ADML per language"),
            ));
        }
        seen.push(folded);
    }
    Ok(())
}

/// An ADMX upload: the file, its default language and its ADML files.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDefinitionFile {
    pub file_name: String,
    pub content: FileContent,
    pub default_language_code: String,
    pub language_files: Vec<LanguageFileUpload>,
}

impl NewDefinitionFile {
    /// Validates an upload whose language files were validated one by one.
    pub fn parse(
        file_name_value: &str,
        content: FileContent,
        default_language: &str,
        language_files: Vec<LanguageFileUpload>,
    ) -> Result<Self, Error> {
        non_empty("input.content", &content)?;
        check_languages(
            "input.groupPolicyUploadedLanguageFiles",
            language_files.iter().map(|f| f.language_code.as_str()),
            false,
        )?;
        Ok(NewDefinitionFile {
            file_name: file_name("input.fileName", file_name_value, ".admx")?,
            content,
            default_language_code: language_code("input.defaultLanguageCode", default_language)?,
            language_files,
        })
    }
}

/// Work an admin starts on an existing definition file. Each records its own operation.
#[derive(Debug, Clone, PartialEq)]
pub enum FileAction {
    AddLanguageFiles(Vec<LanguageFileUpload>),
    UpdateLanguageFiles(Vec<LanguageFileUpload>),
    RemoveLanguageFiles(Vec<LanguageFileRef>),
    UploadNewVersion {
        content: FileContent,
        language_files: Vec<LanguageFileUpload>,
    },
    Remove,
}

impl FileAction {
    /// The operation Intune records for this action.
    pub fn operation_type(&self) -> OperationType {
        match self {
            FileAction::AddLanguageFiles(_) => OperationType::AddLanguageFiles,
            FileAction::UpdateLanguageFiles(_) => OperationType::UpdateLanguageFiles,
            FileAction::RemoveLanguageFiles(_) => OperationType::RemoveLanguageFiles,
            FileAction::UploadNewVersion { .. } => OperationType::UploadNewVersion,
            FileAction::Remove => OperationType::Remove,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_must_be_standard_and_padded() {
        assert_eq!(
            FileContent::from_base64("PD94bWw+").expect("valid").bytes(),
            b"<?xml>"
        );
        for bad in [
            "PD94bWw",
            "PD94bWw+=",
            "PD94 bWw+",
            "PD94bWw-",
            "PD9_bWw+",
            "@@@@",
        ] {
            assert!(FileContent::from_base64(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contents_never_show_in_debug() {
        let upload = LanguageFileUpload::parse(
            "f",
            "a.adml",
            "en-US",
            FileContent::from_bytes(b"secret-bytes".to_vec()),
        )
        .expect("valid");
        let shown = format!("{upload:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("12 bytes"), "{shown}");
    }

    #[test]
    fn names_and_languages_are_checked() {
        let content = || FileContent::from_bytes(b"x".to_vec());
        assert!(LanguageFileUpload::parse("f", "a.ADML", "de-DE", content()).is_ok());
        for (name, language) in [
            ("a.admx", "en-US"),
            ("../a.adml", "en-US"),
            (".adml", "en-US"),
            ("a.adml", "english"),
            ("a.adml", "en_US"),
            ("a.adml", ""),
        ] {
            let err = LanguageFileUpload::parse("f", name, language, content())
                .expect_err(&format!("{name} {language}"));
            assert!(matches!(err, Error::BadUserInput { .. }));
        }
        let err =
            LanguageFileUpload::parse("f", "a.adml", "en-US", content_empty()).expect_err("empty");
        assert!(err.to_string().contains("f.content"), "{err}");
    }

    fn content_empty() -> FileContent {
        FileContent::from_bytes(Vec::new())
    }

    #[test]
    fn one_adml_per_language() {
        let err = check_languages("l", ["en-US", "EN-us"].into_iter(), true).expect_err("dup");
        assert!(err.to_string().contains("one ADML per language"), "{err}");
        assert!(check_languages("l", std::iter::empty(), true).is_err());
        assert!(check_languages("l", std::iter::empty(), false).is_ok());
    }

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
