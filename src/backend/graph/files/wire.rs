//! Graph's JSON for `groupPolicyUploadedDefinitionFile`: the entity as Graph returns it (typed,
//! unknown properties and annotations ignored, unknown enum members kept as
//! `UNKNOWN_FUTURE_VALUE`) and the request bodies of the upload and the actions, in Graph's
//! shape with their `@odata.type`. Content bytes travel as standard base64, unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::envelope::{Body, ODataPage, to_value, unusable};
use super::super::operations::wire::OperationEntity;
use crate::domain::files::{
    DefinitionFile, FileAction, FileStatus, LanguageFile, LanguageFileRef, LanguageFileUpload,
    NewDefinitionFile, PolicyType,
};
use crate::domain::{Guid, Operation, Timestamp};
use crate::error::Error;

const FILE_TYPE: &str = "#microsoft.graph.groupPolicyUploadedDefinitionFile";
// As Microsoft's own action examples write it (no leading `#`).
const LANGUAGE_FILE_TYPE: &str = "microsoft.graph.groupPolicyUploadedLanguageFile";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LanguageFileEntity {
    file_name: Option<String>,
    language_code: Option<String>,
    last_modified_date_time: Option<String>,
}

/// The entity as Graph returns it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileEntity {
    id: String,
    display_name: Option<String>,
    description: Option<String>,
    file_name: Option<String>,
    language_codes: Option<Vec<String>>,
    target_prefix: Option<String>,
    target_namespace: Option<String>,
    policy_type: Option<PolicyType>,
    revision: Option<String>,
    status: Option<FileStatus>,
    upload_date_time: Option<String>,
    last_modified_date_time: Option<String>,
    default_language_code: Option<String>,
    group_policy_uploaded_language_files: Option<Vec<LanguageFileEntity>>,
    /// Present with `$expand=groupPolicyOperations`.
    group_policy_operations: Option<Vec<OperationEntity>>,
}

impl Body for FileEntity {
    const WHAT: &'static str = "a definition file";
}

impl Body for ODataPage<FileEntity> {
    const WHAT: &'static str = "a list of definition files";
}

fn timestamp(raw: Option<&str>) -> Result<Option<Timestamp>, Error> {
    raw.map(|raw| Timestamp::from_graph(raw).map_err(unusable))
        .transpose()
}

/// A nullable date: Graph's "never" (`0001-01-01T00:00:00Z`, in any precision or zero offset)
/// is `null`, as a client would expect of a date that has not happened.
fn nullable_timestamp(raw: Option<&str>) -> Result<Option<Timestamp>, Error> {
    timestamp(raw.filter(|raw| !is_never(raw)))
}

fn is_never(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix("0001-01-01T00:00:00") else {
        return false;
    };
    let rest = rest
        .strip_prefix('.')
        .map_or(rest, |fraction| fraction.trim_start_matches('0'));
    matches!(rest, "Z" | "z" | "+00:00" | "-00:00")
}

/// The domain value of an entity, with its expanded operations when Graph sent them.
fn file_of(entity: FileEntity) -> Result<(DefinitionFile, Option<Vec<OperationEntity>>), Error> {
    let id = Guid::parse("id", &entity.id)
        .map_err(|_| unusable(format!("Graph returned a non-GUID file id `{}`", entity.id)))?;
    let language_files = entity
        .group_policy_uploaded_language_files
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            Ok(LanguageFile {
                file_name: l.file_name,
                language_code: l.language_code,
                last_modified: nullable_timestamp(l.last_modified_date_time.as_deref())?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let file = DefinitionFile {
        id,
        display_name: entity.display_name,
        description: entity.description,
        file_name: entity.file_name,
        language_codes: entity.language_codes.unwrap_or_default(),
        target_prefix: entity.target_prefix,
        target_namespace: entity.target_namespace,
        policy_type: entity.policy_type.unwrap_or(PolicyType::AdmxIngested),
        revision: entity.revision,
        status: entity.status.unwrap_or(FileStatus::None),
        upload_date_time: nullable_timestamp(entity.upload_date_time.as_deref())?,
        last_modified: timestamp(entity.last_modified_date_time.as_deref())?.ok_or_else(|| {
            unusable("Graph returned a definition file without `lastModifiedDateTime`")
        })?,
        default_language_code: entity.default_language_code,
        language_files,
    };
    Ok((file, entity.group_policy_operations))
}

/// A definition file (its expanded operations, if any, dropped).
pub(crate) fn file(entity: FileEntity) -> Result<DefinitionFile, Error> {
    file_of(entity).map(|(file, _)| file)
}

/// A definition file fetched with `$expand=groupPolicyOperations`, with its operations.
pub(crate) fn file_with_operations(
    entity: FileEntity,
) -> Result<(DefinitionFile, Vec<Operation>), Error> {
    let (file, operations) = file_of(entity)?;
    let operations = operations
        .unwrap_or_default()
        .into_iter()
        .map(|op| op.into_operation(file.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((file, operations))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LanguageFileBody<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    file_name: &'a str,
    language_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

fn language_file<'a>(
    file_name: &'a str,
    language_code: &'a str,
    content: Option<String>,
) -> LanguageFileBody<'a> {
    LanguageFileBody {
        odata_type: LANGUAGE_FILE_TYPE,
        file_name,
        language_code,
        content,
    }
}

fn uploads(files: &[LanguageFileUpload]) -> Vec<LanguageFileBody<'_>> {
    files
        .iter()
        .map(|f| language_file(&f.file_name, &f.language_code, Some(f.content.to_base64())))
        .collect()
}

fn refs(files: &[LanguageFileRef]) -> Vec<LanguageFileBody<'_>> {
    files
        .iter()
        .map(|f| language_file(&f.file_name, &f.language_code, None))
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadBody<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    file_name: &'a str,
    content: String,
    default_language_code: &'a str,
    group_policy_uploaded_language_files: Vec<LanguageFileBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    group_policy_uploaded_language_files: Vec<LanguageFileBody<'a>>,
}

/// The POST body of an upload.
pub(crate) fn upload_body(new: &NewDefinitionFile) -> Result<Value, Error> {
    to_value(UploadBody {
        odata_type: FILE_TYPE,
        file_name: &new.file_name,
        content: new.content.to_base64(),
        default_language_code: &new.default_language_code,
        group_policy_uploaded_language_files: uploads(&new.language_files),
    })
}

/// The action's name in the URL and its body (`None`: the action takes no body).
pub(crate) fn action(action: &FileAction) -> Result<(&'static str, Option<Value>), Error> {
    let body = |content: Option<String>, files| {
        to_value(ActionBody {
            content,
            group_policy_uploaded_language_files: files,
        })
        .map(Some)
    };
    Ok(match action {
        FileAction::AddLanguageFiles(files) => ("addLanguageFiles", body(None, uploads(files))?),
        FileAction::UpdateLanguageFiles(files) => {
            ("updateLanguageFiles", body(None, uploads(files))?)
        }
        FileAction::RemoveLanguageFiles(files) => ("removeLanguageFiles", body(None, refs(files))?),
        FileAction::UploadNewVersion {
            content,
            language_files,
        } => (
            "uploadNewVersion",
            body(Some(content.to_base64()), uploads(language_files))?,
        ),
        FileAction::Remove => ("remove", None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::graph::envelope::read;
    use crate::domain::files::FileContent;
    use serde_json::json;

    fn parsed(body: &Value) -> Result<DefinitionFile, Error> {
        file(read(body)?)
    }

    #[test]
    fn files_read_with_unknown_members_and_annotations() {
        let body = json!({
            "@odata.context": "x",
            "id": "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01",
            "status": "quarantined",
            "policyType": "admxIngested",
            "languageCodes": ["en-US"],
            "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z",
            "groupPolicyUploadedLanguageFiles": [{"fileName": "a.adml", "languageCode": "en-US", "id": "x"}],
            "somethingNew": true
        });
        let file = parsed(&body).expect("reads");
        assert_eq!(file.status, FileStatus::UnknownFutureValue);
        assert_eq!(file.language_files[0].file_name.as_deref(), Some("a.adml"));
        assert_eq!(file.last_modified.as_str(), "2025-09-07T08:32:57.5081686Z");
    }

    #[test]
    fn graphs_never_is_null_in_nullable_dates_and_language_lists_may_be_empty() {
        for never in [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00.0000000Z",
            "0001-01-01T00:00:00+00:00",
        ] {
            let body = json!({
                "id": "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01",
                "uploadDateTime": never,
                "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z",
                "languageCodes": [],
                "groupPolicyUploadedLanguageFiles": [{"fileName": "a.adml", "lastModifiedDateTime": never}]
            });
            let file = parsed(&body).expect("reads");
            assert_eq!(file.upload_date_time, None, "{never}");
            assert_eq!(file.language_files[0].last_modified, None, "{never}");
            assert!(file.language_codes.is_empty());
        }
        assert!(!is_never("0001-01-01T00:00:01Z"));
        assert!(!is_never("2001-01-01T00:00:00Z"));
    }

    #[test]
    fn action_bodies_are_in_graphs_shape() {
        let upload = LanguageFileUpload::parse(
            "l",
            "a.adml",
            "de-DE",
            FileContent::from_bytes(b"<x/>".to_vec()),
        )
        .expect("valid");
        let (name, body) = action(&FileAction::AddLanguageFiles(vec![upload])).expect("body");
        assert_eq!(name, "addLanguageFiles");
        assert_eq!(
            body,
            Some(json!({ "groupPolicyUploadedLanguageFiles": [{
                "@odata.type": LANGUAGE_FILE_TYPE, "fileName": "a.adml",
                "languageCode": "de-DE", "content": "PHgvPg=="
            }]}))
        );
        assert_eq!(
            action(&FileAction::Remove).expect("no body"),
            ("remove", None)
        );
    }
}
