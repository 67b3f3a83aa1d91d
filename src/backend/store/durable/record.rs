//! A definition file's record as a row of the store database keeps it: JSON with enum members
//! and timestamps as Graph writes them, so a row reads back as exactly the record it was.

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;
use crate::domain::files::{DefinitionFile, FileStatus, LanguageFile, PolicyType};
use crate::domain::{GraphMember, Guid};

/// A file record as a row keeps it (enum members and timestamps as Graph writes them).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredRecord {
    display_name: Option<String>,
    description: Option<String>,
    file_name: Option<String>,
    language_codes: Vec<String>,
    target_prefix: Option<String>,
    target_namespace: Option<String>,
    policy_type: String,
    revision: Option<String>,
    status: String,
    upload_date_time: Option<String>,
    last_modified: String,
    default_language_code: Option<String>,
    /// (file name, language code, last modified) of each ADML as listed.
    language_files: Vec<(Option<String>, Option<String>, Option<String>)>,
}

/// Graph's name of an enum member, as the database keeps it.
pub(crate) fn wire<T: GraphMember>(value: T) -> String {
    value
        .graph_name()
        .unwrap_or_else(|| "unknownFutureValue".to_owned())
}

pub(crate) fn stamp(value: &str) -> Result<Timestamp, String> {
    Timestamp::from_graph(value).map_err(|e| format!("the store database holds a bad date: {e}"))
}

impl StoredRecord {
    pub(crate) fn of(r: &DefinitionFile) -> Self {
        StoredRecord {
            display_name: r.display_name.clone(),
            description: r.description.clone(),
            file_name: r.file_name.clone(),
            language_codes: r.language_codes.clone(),
            target_prefix: r.target_prefix.clone(),
            target_namespace: r.target_namespace.clone(),
            policy_type: wire(r.policy_type),
            revision: r.revision.clone(),
            status: wire(r.status),
            upload_date_time: r.upload_date_time.as_ref().map(|t| t.as_str().to_owned()),
            last_modified: r.last_modified.as_str().to_owned(),
            default_language_code: r.default_language_code.clone(),
            language_files: r
                .language_files
                .iter()
                .map(|l| {
                    let modified = l.last_modified.as_ref().map(|t| t.as_str().to_owned());
                    (l.file_name.clone(), l.language_code.clone(), modified)
                })
                .collect(),
        }
    }

    pub(crate) fn into_record(self, id: Guid) -> Result<DefinitionFile, String> {
        let language_files = self
            .language_files
            .into_iter()
            .map(|(file_name, language_code, modified)| {
                Ok(LanguageFile {
                    file_name,
                    language_code,
                    last_modified: modified.as_deref().map(stamp).transpose()?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(DefinitionFile {
            id,
            display_name: self.display_name,
            description: self.description,
            file_name: self.file_name,
            language_codes: self.language_codes,
            target_prefix: self.target_prefix,
            target_namespace: self.target_namespace,
            policy_type: PolicyType::from_graph(&self.policy_type),
            revision: self.revision,
            status: FileStatus::from_graph(&self.status),
            upload_date_time: self.upload_date_time.as_deref().map(stamp).transpose()?,
            last_modified: stamp(&self.last_modified)?,
            default_language_code: self.default_language_code,
            language_files,
        })
    }
}
