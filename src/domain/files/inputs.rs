//! What a client sends to start work on definition files, validated once: file names,
//! language codes, one ADML per language, and the file bytes, whose `Debug` shows only their
//! size so contents cannot reach a log.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::OperationType;
use crate::error::Error;

/// Most language files one request may carry.
pub const MAX_LANGUAGE_FILES: usize = 50;
/// Longest file name accepted, in characters (Windows' `MAX_PATH`).
const MAX_FILE_NAME: usize = 260;

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
    /// The ADML file name, ending in `.adml` (no path).
    pub file_name: String,
    /// The file's language, a tag such as `en-US`.
    pub language_code: String,
    /// The ADML file's bytes (not empty).
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
    /// The ADML file name, ending in `.adml`.
    pub file_name: String,
    /// The language of the file to remove, e.g. `en-US`.
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
    /// The ADMX file name, ending in `.admx`, e.g. `contoso.admx`.
    pub file_name: String,
    /// The ADMX file's bytes (not empty).
    pub content: FileContent,
    /// The language Intune shows the policies in, a tag such as `en-US`.
    pub default_language_code: String,
    /// The ADML files, at most one per language.
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
    /// Adds ADML files for languages the file lacks (an `ADD_LANGUAGE_FILES` operation).
    AddLanguageFiles(Vec<LanguageFileUpload>),
    /// Replaces ADML files of languages the file has (an `UPDATE_LANGUAGE_FILES` operation).
    UpdateLanguageFiles(Vec<LanguageFileUpload>),
    /// Removes the named ADML files (a `REMOVE_LANGUAGE_FILES` operation).
    RemoveLanguageFiles(Vec<LanguageFileRef>),
    /// Replaces the ADMX and its ADML files with a new version (an `UPLOAD_NEW_VERSION` operation).
    UploadNewVersion {
        /// The new ADMX file's bytes.
        content: FileContent,
        /// The ADML files that go with the new version.
        language_files: Vec<LanguageFileUpload>,
    },
    /// Intune's remove action: the file goes `REMOVAL_IN_PROGRESS`, then disappears (a `REMOVE`
    /// operation).
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
}
