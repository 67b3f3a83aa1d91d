//! What a definition file would become after an upload or an action, before any of it is
//! stored: Intune's synchronous refusals (1 MB per file, one ADML per language, languages the
//! file has or lacks, the default language kept) and the proposed sources the simulation then
//! reads.

use super::files::MAX_FILE_BYTES;
use super::simulate::{LanguageSource, Sources};
use crate::domain::Timestamp;
use crate::domain::files::{
    DefinitionFile, FileAction, FileContent, LanguageFileRef, LanguageFileUpload,
    MAX_LANGUAGE_FILES,
};
use crate::error::Error;

pub(super) fn check_size(argument: &str, name: &str, content: &FileContent) -> Result<(), Error> {
    if content.len() > MAX_FILE_BYTES {
        return Err(Error::LimitExceeded(format!(
            "`{argument}` ({name}) has {} bytes; Intune accepts files of at most \
             {MAX_FILE_BYTES} bytes (1 MB)",
            content.len()
        )));
    }
    Ok(())
}

pub(super) fn check_sizes(argument: &str, files: &[LanguageFileUpload]) -> Result<(), Error> {
    files.iter().enumerate().try_for_each(|(i, f)| {
        check_size(
            &format!("{argument}[{i}].content"),
            &f.file_name,
            &f.content,
        )
    })
}

pub(super) fn add_languages(
    sources: &mut Sources,
    files: Vec<LanguageFileUpload>,
    now: &Timestamp,
) {
    for f in files {
        sources.admls.insert(
            f.language_code.to_ascii_lowercase(),
            LanguageSource {
                file_name: f.file_name,
                language_code: f.language_code,
                content: f.content,
                last_modified: now.clone(),
                summary: None,
            },
        );
    }
}

/// The sources a file would have after `action`, or the synchronous refusal.
pub(super) fn propose(
    current: &Sources,
    record: &DefinitionFile,
    action: FileAction,
) -> Result<Sources, Error> {
    let now = Timestamp::now();
    let mut proposed = current.clone();
    match action {
        FileAction::AddLanguageFiles(files) => {
            check_new_languages(current, record, &files)?;
            add_languages(&mut proposed, files, &now);
        }
        FileAction::UpdateLanguageFiles(files) => {
            check_known_languages(current, record, &files)?;
            add_languages(&mut proposed, files, &now);
        }
        FileAction::RemoveLanguageFiles(refs) => {
            check_removable(current, record, &refs)?;
            for r in &refs {
                proposed.admls.remove(&r.language_code.to_ascii_lowercase());
            }
        }
        FileAction::UploadNewVersion {
            content,
            language_files,
        } => {
            let name = current
                .admx
                .as_ref()
                .map(|(name, _)| name.clone())
                .or_else(|| record.file_name.clone())
                .unwrap_or_else(|| "definition.admx".to_owned());
            proposed.set_admx(name, content);
            add_languages(&mut proposed, language_files, &now);
        }
        FileAction::Remove => {}
    }
    // Bounds what one file can hold in memory (at most 1 MB per ADML).
    if proposed.admls.len() > MAX_LANGUAGE_FILES {
        return Err(Error::LimitExceeded(format!(
            "A definition file holds at most {MAX_LANGUAGE_FILES} language files"
        )));
    }
    Ok(proposed)
}

fn has_language(sources: &Sources, language: &str) -> bool {
    sources.admls.contains_key(&language.to_ascii_lowercase())
}

/// One ADML per language: adding a language the file has is a conflict.
fn check_new_languages(
    current: &Sources,
    record: &DefinitionFile,
    files: &[LanguageFileUpload],
) -> Result<(), Error> {
    match files
        .iter()
        .find(|f| has_language(current, &f.language_code))
    {
        Some(f) => Err(Error::Conflict(format!(
            "Definition file {} already has an ADML file for {}: one ADML per language; use \
             updateGroupPolicyLanguageFiles to replace it",
            record.id, f.language_code
        ))),
        None => Ok(()),
    }
}

/// Only languages the file has can be updated.
fn check_known_languages(
    current: &Sources,
    record: &DefinitionFile,
    files: &[LanguageFileUpload],
) -> Result<(), Error> {
    let unknown = files
        .iter()
        .enumerate()
        .find(|(_, f)| !has_language(current, &f.language_code));
    match unknown {
        Some((i, f)) => Err(Error::bad_argument(
            &format!("languageFiles[{i}].languageCode"),
            format!(
                "Definition file {} has no ADML file for {}; use addGroupPolicyLanguageFiles \
                 to add one",
                record.id, f.language_code
            ),
        )),
        None => Ok(()),
    }
}

/// Each removed ADML must exist, and the default language's stays.
fn check_removable(
    current: &Sources,
    record: &DefinitionFile,
    refs: &[LanguageFileRef],
) -> Result<(), Error> {
    for (i, r) in refs.iter().enumerate() {
        let exists = current
            .admls
            .get(&r.language_code.to_ascii_lowercase())
            .is_some_and(|l| l.file_name.eq_ignore_ascii_case(&r.file_name));
        if !exists {
            return Err(Error::bad_argument(
                &format!("languageFiles[{i}]"),
                format!(
                    "Definition file {} has no ADML file {} for {}",
                    record.id, r.file_name, r.language_code
                ),
            ));
        }
        let default = current.default_language.as_deref();
        if default.is_some_and(|d| d.eq_ignore_ascii_case(&r.language_code)) {
            return Err(Error::Conflict(format!(
                "{} is the default language of definition file {}; its ADML file cannot be \
                 removed",
                r.language_code, record.id
            )));
        }
    }
    Ok(())
}
