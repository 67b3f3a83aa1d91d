//! `export-store FILE`: the whole store written as a seed document (the format `--seed`
//! reads, with each file's own bytes under `contents`), so a data set can be captured and
//! shared. Importing is `--seed FILE` into a new `--store-path` (a seed applies only to a new,
//! empty database) or into the in-memory store.

use serde::Serialize;

use super::durable::record::wire;
use super::{File, Store};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Seed {
    definition_files: Vec<SeedFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedFile {
    id: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_date_time: Option<String>,
    last_modified_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    contents: Option<Contents>,
    operations: Vec<SeedOperation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Contents {
    file_name: String,
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_language_code: Option<String>,
    language_files: Vec<LanguageFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LanguageFile {
    file_name: String,
    language_code: String,
    content: String,
    last_modified_date_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeedOperation {
    id: String,
    operation_type: String,
    operation_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_details: Option<String>,
    last_modified_date_time: String,
}

fn file_of(file: &File) -> SeedFile {
    let sources = &file.sources;
    let contents = sources.admx.as_ref().map(|(name, admx)| Contents {
        file_name: name.clone(),
        content: admx.to_base64(),
        default_language_code: sources.default_language.clone(),
        language_files: sources
            .admls
            .values()
            .map(|l| LanguageFile {
                file_name: l.file_name.clone(),
                language_code: l.language_code.clone(),
                content: l.content.to_base64(),
                last_modified_date_time: l.last_modified.as_str().to_owned(),
            })
            .collect(),
    });
    let record = &file.record;
    SeedFile {
        id: record.id.to_string(),
        status: wire(record.status),
        upload_date_time: record
            .upload_date_time
            .as_ref()
            .map(|t| t.as_str().to_owned()),
        last_modified_date_time: record.last_modified.as_str().to_owned(),
        contents,
        operations: file
            .by_seq
            .values()
            .map(|op| SeedOperation {
                id: op.id.to_string(),
                operation_type: wire(op.operation_type),
                operation_status: wire(op.operation_status),
                status_details: op.status_details.clone(),
                last_modified_date_time: op.last_modified.as_str().to_owned(),
            })
            .collect(),
    }
}

impl Store {
    /// The whole store as a seed document, files in upload order, operations in list order.
    pub fn export_seed(&self) -> Result<String, String> {
        let data = self.shared.data();
        let seed = Seed {
            definition_files: data
                .order
                .values()
                .filter_map(|id| data.files.get(id))
                .map(file_of)
                .collect(),
        };
        serde_json::to_string_pretty(&seed).map_err(|e| format!("cannot write the seed: {e}"))
    }

    /// `export-store FILE`: writes [`Store::export_seed`] to `path`.
    pub fn export_to(&self, path: &std::path::Path) -> Result<(), String> {
        let seed = self.export_seed()?;
        std::fs::write(path, seed).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}
