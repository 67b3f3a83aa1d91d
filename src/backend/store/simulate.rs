//! Store mode's stand-in for Intune's reading of a definition file: the bytes a file is built
//! from, and the read of the whole set (see [`super::admx`]) whose outcome a job records (see
//! [`super::jobs`]). What each file read gave is kept beside its bytes, so later work reads
//! again only the files it changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::admx::{self, Adml, Admx};
use super::bytes::of_operation;
use super::{Change, Data};
use crate::domain::files::{DefinitionFile, FileContent, FileStatus, LanguageFile, PolicyType};
use crate::domain::{Guid, OperationKey, Timestamp};

/// One ADML file as the store keeps it.
#[derive(Clone, Debug)]
pub(crate) struct LanguageSource {
    pub file_name: String,
    pub language_code: String,
    pub content: FileContent,
    pub last_modified: Timestamp,
    /// What reading `content` gave, once it has been read.
    pub summary: Option<Arc<Adml>>,
}

/// The bytes a file was built from, kept so later actions can check the whole set again.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sources {
    /// The ADMX file's name and bytes (`None` for a record seeded without them).
    pub admx: Option<(String, FileContent)>,
    /// ADML files by lower-cased language code.
    pub admls: BTreeMap<String, LanguageSource>,
    pub default_language: Option<String>,
    /// What reading the ADMX bytes gave, once they have been read.
    pub admx_summary: Option<Arc<Admx>>,
}

impl Sources {
    /// The sources of a record whose bytes are unknown: its ADML names, no contents.
    pub(crate) fn unread(record: &DefinitionFile) -> Self {
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
                        summary: None,
                    },
                ))
            })
            .collect();
        Sources {
            admx: None,
            admls,
            default_language: record.default_language_code.clone(),
            admx_summary: None,
        }
    }

    /// Replaces the ADMX file (what was read of the old one no longer applies).
    pub(crate) fn set_admx(&mut self, name: String, content: FileContent) {
        self.admx = Some((name, content));
        self.admx_summary = None;
    }

    /// The ADML files as Graph lists them.
    pub(crate) fn language_files(&self) -> Vec<LanguageFile> {
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
    pub(crate) fn language_codes(&self) -> Vec<String> {
        self.admls
            .values()
            .map(|l| l.language_code.clone())
            .collect()
    }
}

/// What a successful read found.
#[derive(Clone)]
pub(crate) struct Reading {
    pub admx: Arc<Admx>,
    pub default: Arc<Adml>,
}

/// Reads the whole set like Intune: the ADMX (keeping `namespace` when it is a new version),
/// an ADML for the default language, every ADML defining every reference, and every namespace
/// the ADMX builds on already uploaded. Files read before (their summary kept in `sources`) are
/// not parsed again; those read now keep theirs. Call it off the async workers (see
/// [`super::parsing`]): parsing a large file takes milliseconds.
pub(crate) fn read(
    sources: &mut Sources,
    known_namespaces: &[String],
    namespace: Option<&str>,
) -> Result<Reading, String> {
    let Some((admx_name, admx_bytes)) = &sources.admx else {
        return Err(
            "No ADMX content was uploaded: Value cannot be null. Parameter name: content".into(),
        );
    };
    let admx = match &sources.admx_summary {
        Some(read) => Arc::clone(read),
        None => Arc::new(admx::read_admx(admx_name, admx_bytes.bytes())?),
    };
    sources.admx_summary = Some(Arc::clone(&admx));
    // Owned, so the ADML summaries below can be stored while it is in use.
    let admx_name = admx_name.clone();
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
    for (key, language) in &mut sources.admls {
        let name = format!("{}/{}", language.language_code, language.file_name);
        let adml = match &language.summary {
            Some(read) => Arc::clone(read),
            None => Arc::new(admx::read_adml(&name, language.content.bytes())?),
        };
        language.summary = Some(Arc::clone(&adml));
        admx::check_references(&admx_name, &admx, &name, &adml)?;
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
pub(crate) fn describe(record: &mut DefinitionFile, sources: &Sources, reading: &Reading) {
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

/// Namespaces defined by the other files Intune has available.
pub(super) fn available_namespaces(data: &Data, except: Guid) -> Vec<String> {
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
    let held = file.sources.bytes() + file.by_seq.values().map(of_operation).sum::<usize>();
    data.bytes = data.bytes.saturating_sub(held);
    data.order.remove(&file.seq);
    data.len -= file.by_seq.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> FileContent {
        let full = format!("{}/playground/samples/{path}", env!("CARGO_MANIFEST_DIR"));
        FileContent::from_bytes(std::fs::read(full).expect("a sample"))
    }

    fn language(code: &str, path: &str) -> LanguageSource {
        LanguageSource {
            file_name: "contoso-browser.adml".to_owned(),
            language_code: code.to_owned(),
            content: sample(path),
            last_modified: Timestamp::now(),
            summary: None,
        }
    }

    #[test]
    fn files_read_once_are_not_parsed_again_until_their_bytes_change() {
        let mut sources = Sources {
            default_language: Some("en-US".to_owned()),
            ..Sources::default()
        };
        sources.set_admx(
            "contoso-browser.admx".to_owned(),
            sample("contoso-browser.admx"),
        );
        sources.admls.insert(
            "en-us".to_owned(),
            language("en-US", "en-US/contoso-browser.adml"),
        );
        assert!(read(&mut sources, &[], None).is_ok());
        assert!(sources.admx_summary.is_some());
        assert!(sources.admls["en-us"].summary.is_some());

        // What was read is used as it was: bytes that no longer parse are not parsed again
        // (in the store, bytes never change under a kept summary; this proves no re-read).
        let garbage = FileContent::from_bytes(b"<not xml".to_vec());
        if let Some((_, content)) = sources.admx.as_mut() {
            *content = garbage.clone();
        }
        if let Some(l) = sources.admls.get_mut("en-us") {
            l.content = garbage.clone();
        }
        // A language added since is read (and the copy of the set keeps the summaries).
        let mut proposed = sources.clone();
        proposed.admls.insert(
            "de-de".to_owned(),
            language("de-DE", "de-DE/contoso-browser.adml"),
        );
        assert!(read(&mut proposed, &[], None).is_ok());
        assert!(proposed.admls["de-de"].summary.is_some());

        // A replaced ADMX is read again.
        proposed.set_admx("contoso-browser.admx".to_owned(), garbage);
        let err = read(&mut proposed, &[], None).err().expect("read again");
        assert!(err.contains("not well-formed"), "{err}");
    }
}
