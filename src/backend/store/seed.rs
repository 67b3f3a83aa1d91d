//! Seeds: the JSON the store can start with (the demo data, or `--seed FILE`), and the sample
//! ADMX/ADML files of `playground/samples` that demo files are built from, so their fields are
//! what reading those files gives and later actions on them are checked against real bytes.

use serde::Deserialize;

use super::Store;
use super::simulate::{self, LanguageSource, Sources};
use crate::domain::files::{DefinitionFile, FileContent, FileStatus, PolicyType};
use crate::domain::{GraphMember, Guid, Operation, OperationStatus, OperationType, Timestamp};
use crate::error::Error;

/// A sample set: an ADMX file and its ADML files (language, file name, bytes).
struct Sample {
    name: &'static str,
    admx: (&'static str, &'static [u8]),
    admls: &'static [(&'static str, &'static str, &'static [u8])],
}

macro_rules! sample_file {
    ($path:literal) => {
        include_bytes!(concat!("../../../playground/samples/", $path))
    };
}

/// The samples under `playground/samples`, written for this project.
const SAMPLES: &[Sample] = &[
    Sample {
        name: "contoso-browser",
        admx: ("contoso-browser.admx", sample_file!("contoso-browser.admx")),
        admls: &[
            (
                "en-US",
                "contoso-browser.adml",
                sample_file!("en-US/contoso-browser.adml"),
            ),
            (
                "de-DE",
                "contoso-browser.adml",
                sample_file!("de-DE/contoso-browser.adml"),
            ),
        ],
    },
    Sample {
        name: "fabrikam-vpn",
        admx: ("fabrikam-vpn.admx", sample_file!("fabrikam-vpn.admx")),
        admls: &[(
            "en-US",
            "fabrikam-vpn.adml",
            sample_file!("en-US/fabrikam-vpn.adml"),
        )],
    },
    Sample {
        name: "northwind-updates",
        admx: (
            "northwind-updates.admx",
            sample_file!("northwind-updates.admx"),
        ),
        admls: &[(
            "en-US",
            "northwind-updates.adml",
            sample_file!("en-US/northwind-updates.adml"),
        )],
    },
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedFile {
    definition_files: Vec<SeedDefinitionFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedDefinitionFile {
    id: String,
    /// A sample of `playground/samples` the file was uploaded from.
    #[serde(default)]
    sample: Option<String>,
    /// Graph's status member; `available` when absent.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    upload_date_time: Option<String>,
    #[serde(default)]
    last_modified_date_time: Option<String>,
    /// The file's own bytes (what `export-store` writes), instead of a `sample`.
    #[serde(default)]
    contents: Option<SeedContents>,
    operations: Vec<SeedOperation>,
}

/// A file's ADMX and ADML bytes, base64, as `export-store` writes them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SeedContents {
    pub file_name: String,
    pub content: String,
    #[serde(default)]
    pub default_language_code: Option<String>,
    pub language_files: Vec<SeedLanguageFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SeedLanguageFile {
    pub file_name: String,
    pub language_code: String,
    pub content: String,
    pub last_modified_date_time: String,
}

/// Sources from exported contents.
fn sources_from(contents: &SeedContents) -> Result<Sources, String> {
    let bytes = |what: &str, text: &str| {
        FileContent::from_base64(text).map_err(|e| format!("{what} is not base64: {e}"))
    };
    let mut sources = Sources {
        admx: Some((
            contents.file_name.clone(),
            bytes("content", &contents.content)?,
        )),
        default_language: contents.default_language_code.clone(),
        ..Sources::default()
    };
    for l in &contents.language_files {
        sources.admls.insert(
            l.language_code.to_ascii_lowercase(),
            LanguageSource {
                file_name: l.file_name.clone(),
                language_code: l.language_code.clone(),
                content: bytes("languageFiles[].content", &l.content)?,
                last_modified: Timestamp::parse(&l.last_modified_date_time)?,
                summary: None,
            },
        );
    }
    Ok(sources)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedOperation {
    id: String,
    operation_type: String,
    operation_status: String,
    #[serde(default)]
    status_details: Option<String>,
    last_modified_date_time: String,
}

fn sources_of(name: &str, when: &Timestamp) -> Result<Sources, String> {
    let sample = SAMPLES
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("no sample named `{name}` in playground/samples"))?;
    let mut sources = Sources {
        admx: Some((
            sample.admx.0.to_owned(),
            FileContent::from_bytes(sample.admx.1.to_vec()),
        )),
        default_language: Some("en-US".to_owned()),
        ..Sources::default()
    };
    for (language, file_name, bytes) in sample.admls {
        sources.admls.insert(
            language.to_ascii_lowercase(),
            LanguageSource {
                file_name: (*file_name).to_owned(),
                language_code: (*language).to_owned(),
                content: FileContent::from_bytes(bytes.to_vec()),
                last_modified: when.clone(),
                summary: None,
            },
        );
    }
    Ok(sources)
}

fn timestamp(place: &str, value: Option<&str>) -> Result<Option<Timestamp>, String> {
    value
        .map(|v| Timestamp::parse(v).map_err(|e| format!("{place}: {e}")))
        .transpose()
}

/// A file's record and sources from its seed entry.
fn file_of(seed: &SeedDefinitionFile, id: Guid) -> Result<(DefinitionFile, Sources), String> {
    let place = format!("definition file {}", seed.id);
    let status = match seed.status.as_deref() {
        None => FileStatus::Available,
        Some(wire) => match FileStatus::from_graph(wire) {
            FileStatus::UnknownFutureValue => return Err(format!("{place}: unknown status")),
            status => status,
        },
    };
    let uploaded = timestamp(&place, seed.upload_date_time.as_deref())?;
    let last_modified = timestamp(&place, seed.last_modified_date_time.as_deref())?
        .or_else(|| uploaded.clone())
        .unwrap_or_else(Timestamp::now);
    let mut record = DefinitionFile {
        id,
        display_name: None,
        description: None,
        file_name: None,
        language_codes: Vec::new(),
        target_prefix: None,
        target_namespace: None,
        policy_type: PolicyType::AdmxIngested,
        revision: None,
        status,
        upload_date_time: uploaded,
        last_modified: last_modified.clone(),
        default_language_code: None,
        language_files: Vec::new(),
    };
    let mut sources = match (&seed.sample, &seed.contents) {
        (None, None) => Sources::default(),
        (Some(name), None) => {
            sources_of(name, &last_modified).map_err(|e| format!("{place}: {e}"))?
        }
        (None, Some(contents)) => sources_from(contents).map_err(|e| format!("{place}: {e}"))?,
        (Some(_), Some(_)) => return Err(format!("{place}: both a sample and contents")),
    };
    if sources.admx.is_some() {
        record.file_name = sources.admx.as_ref().map(|(n, _)| n.clone());
        record.language_codes = sources.language_codes();
        record.language_files = sources.language_files();
        record.default_language_code = sources.default_language.clone();
        // A sample that does not read (the failed-upload demo) keeps only these fields.
        if let Ok(reading) = simulate::read(&mut sources, &[], None) {
            simulate::describe(&mut record, &sources, &reading);
        }
    }
    Ok((record, sources))
}

fn operation_of(op: &SeedOperation, file: Guid, file_place: &str) -> Result<Operation, String> {
    let place = format!("operation {} of file {file_place}", op.id);
    let operation_type = OperationType::from_graph(&op.operation_type);
    let operation_status = OperationStatus::from_graph(&op.operation_status);
    if operation_type == OperationType::UnknownFutureValue
        || operation_status == OperationStatus::UnknownFutureValue
    {
        return Err(format!("{place}: unknown operationType or operationStatus"));
    }
    Ok(Operation {
        id: Guid::parse("operations[].id", &op.id).map_err(|e| format!("{place}: {e}"))?,
        definition_file_id: file,
        operation_type,
        operation_status,
        status_details: op.status_details.clone(),
        last_modified: Timestamp::parse(&op.last_modified_date_time)
            .map_err(|e| format!("{place}: {e}"))?,
    })
}

/// Largest seed file read (`--seed`), in bytes.
pub const MAX_SEED_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a seed file: a regular file of at most [`MAX_SEED_BYTES`] (so `/dev/zero` or a pipe
/// is refused at once rather than read forever).
pub fn read_seed_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read seed {shown}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read seed {shown}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("cannot read seed {shown}: not a regular file"));
    }
    let too_large =
        || format!("cannot read seed {shown}: it is larger than {MAX_SEED_BYTES} bytes (64 MiB)");
    if metadata.len() > MAX_SEED_BYTES {
        return Err(too_large());
    }
    let mut text = String::new();
    // Bounded even if the file grows while it is read.
    file.take(MAX_SEED_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read seed {shown}: {e}"))?;
    if text.len() as u64 > MAX_SEED_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

impl Store {
    /// Loads a seed document (the format of `demo_seed.json`: definition files, optionally
    /// built from a sample of `playground/samples`, with their operations; enum members and
    /// timestamps as Graph writes them). Every value is validated; the first bad one is
    /// reported with its place. Returns how many operations were loaded.
    pub fn load_seed(&self, json: &str) -> Result<usize, String> {
        let seed: SeedFile =
            serde_json::from_str(json).map_err(|e| format!("seed is not valid: {e}"))?;
        let mut files = Vec::new();
        let mut count = 0;
        for file in &seed.definition_files {
            let id = Guid::parse("definitionFiles[].id", &file.id).map_err(|e| e.to_string())?;
            let (record, sources) = file_of(file, id)?;
            let ops = file
                .operations
                .iter()
                .map(|op| operation_of(op, id, &file.id))
                .collect::<Result<Vec<_>, _>>()?;
            count += ops.len();
            files.push((record, sources, ops));
        }
        let capacity = self.shared.capacity;
        let bytes: usize = files
            .iter()
            .map(|(_, sources, ops)| {
                sources.bytes() + ops.iter().map(super::bytes::of_operation).sum::<usize>()
            })
            .sum();
        self.shared
            .write(|data| {
                self.check_bytes(data, bytes)?;
                if data.len + count > capacity {
                    return Err(Error::LimitExceeded(format!(
                        "seed has {count} operations; the store holds at most {capacity}"
                    )));
                }
                // With a database, written in the same transaction as the seed itself.
                data.mark_seeded = true;
                for (record, sources, ops) in files {
                    if data.files.contains_key(&record.id) {
                        return Err(Error::BadUserInput {
                            message: format!("definition file {} is in the seed twice", record.id),
                            argument: None,
                        });
                    }
                    data.insert_file(record, sources);
                    for op in ops {
                        data.insert(op);
                    }
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cursor::CursorCodec;
    use crate::backend::store::DEMO_SEED;
    use crate::config::StoreConfig;

    #[test]
    fn the_demo_seed_loads() {
        let store = Store::new(&StoreConfig::immediate(100), CursorCodec::new(None));
        assert_eq!(store.load_seed(DEMO_SEED).expect("demo seed is valid"), 6);
    }

    #[test]
    fn every_sample_reads_as_intended() {
        let when = Timestamp::now();
        for sample in SAMPLES {
            let mut sources = sources_of(sample.name, &when).expect("sample");
            let outcome = simulate::read(&mut sources, &[], None);
            // The one broken sample is broken on purpose (the failed-upload demo).
            assert_eq!(
                outcome.is_err(),
                sample.name == "northwind-updates",
                "{}",
                sample.name
            );
        }
    }

    #[test]
    fn a_bad_seed_names_the_problem() {
        let store = Store::new(&StoreConfig::immediate(100), CursorCodec::new(None));
        let err = store
            .load_seed(r#"{"definitionFiles":[{"id":"nope","operations":[]}]}"#)
            .expect_err("bad id");
        assert!(err.contains("GUID"), "{err}");
        assert!(store.load_seed("{").is_err());
        let err = store
            .load_seed(r#"{"definitionFiles":[{"id":"a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01","sample":"x","operations":[]}]}"#)
            .expect_err("bad sample");
        assert!(err.contains("no sample named `x`"), "{err}");
    }
}
