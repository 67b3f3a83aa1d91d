//! What the store holds in bytes, bounded by `--store-max-bytes` (the count of operations is
//! bounded separately by `--store-capacity`): files' ADMX and ADML contents, the contents of
//! work still being processed, and each operation's text.

use std::sync::atomic::Ordering;

use super::simulate::Sources;
use super::{Data, Store};
use crate::domain::Operation;
use crate::error::Error;

/// What an operation counts besides its `statusDetails`: its ids, enums and timestamp.
pub(crate) const OPERATION_BYTES: usize = 128;

/// The bytes `op` counts.
pub(crate) fn of_operation(op: &Operation) -> usize {
    OPERATION_BYTES + op.status_details.as_ref().map_or(0, String::len)
}

impl Sources {
    /// The bytes of the ADMX and ADML contents.
    pub(crate) fn bytes(&self) -> usize {
        let admx = self.admx.as_ref().map_or(0, |(_, content)| content.len());
        admx + self.admls.values().map(|l| l.content.len()).sum::<usize>()
    }
}

impl Data {
    /// What the store holds: its files and operations, and the work waiting for processing.
    pub(super) fn total_bytes(&self) -> usize {
        self.held
            .values()
            .fold(self.bytes, |total, held| total.saturating_add(*held))
    }

    /// Counts the files and operations from scratch (at load, and after a failed commit; the
    /// running count is kept by each change).
    pub(super) fn count_bytes(&self) -> usize {
        self.files
            .values()
            .map(|f| f.sources.bytes() + f.by_seq.values().map(of_operation).sum::<usize>())
            .sum()
    }
}

impl Store {
    /// What the store holds now, in bytes, as `--store-max-bytes` counts it (work waiting for
    /// its processing included).
    pub fn bytes_held(&self) -> usize {
        self.shared.data().total_bytes()
    }

    /// Refuses a change that would add `adding` bytes over the cap.
    pub(super) fn check_bytes(&self, data: &Data, adding: usize) -> Result<(), Error> {
        let max = self.shared.max_bytes;
        let keys = self.shared.key_bytes.load(Ordering::Relaxed);
        let after = data
            .total_bytes()
            .saturating_add(keys)
            .saturating_add(adding);
        if after > max {
            return Err(Error::LimitExceeded(format!(
                "the store would hold {after} bytes, over its limit of {max} bytes \
                 (--store-max-bytes); delete operations or definition files first"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cursor::CursorCodec;
    use crate::backend::store::DEMO_SEED;
    use crate::config::StoreConfig;
    use crate::domain::files::{FileContent, FileStatus, LanguageFileUpload, NewDefinitionFile};
    use crate::domain::{Guid, NewOperation, OperationPatch, OperationStatus, OperationType};

    fn sample(path: &str) -> FileContent {
        let full = format!("{}/playground/samples/{path}", env!("CARGO_MANIFEST_DIR"));
        FileContent::from_bytes(std::fs::read(full).expect("a sample"))
    }

    fn assert_counted(store: &Store) {
        let data = store.shared.data();
        assert_eq!(data.bytes, data.count_bytes());
    }

    #[tokio::test]
    async fn the_running_count_matches_a_recount_after_every_kind_of_change() {
        let store = Store::new(&StoreConfig::immediate(1000), CursorCodec::new(None));
        store.load_seed(DEMO_SEED).expect("the demo seed");
        assert_counted(&store);
        let file = Guid::parse("id", "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01").expect("a GUID");
        let input = NewOperation {
            operation_type: OperationType::Upload,
            operation_status: OperationStatus::Success,
            status_details: Some("some details".to_owned()),
        };
        let op = store.create_now(file, input).expect("created");
        assert_counted(&store);
        let patch = OperationPatch {
            status_details: Some(Some("longer details than before".to_owned())),
            ..OperationPatch::default()
        };
        store.update_now(op.key(), patch).expect("updated");
        assert_counted(&store);
        store.delete_now(op.key()).expect("deleted");
        assert_counted(&store);
        let uploaded = store
            .upload(NewDefinitionFile {
                file_name: "contoso-browser.admx".to_owned(),
                content: sample("contoso-browser.admx"),
                default_language_code: "en-US".to_owned(),
                language_files: vec![LanguageFileUpload {
                    file_name: "contoso-browser.adml".to_owned(),
                    language_code: "en-US".to_owned(),
                    content: sample("en-US/contoso-browser.adml"),
                }],
            })
            .expect("uploaded");
        // While the job waits its contents count, though the file does not hold them yet.
        {
            let data = store.shared.data();
            assert!(data.total_bytes() > data.count_bytes());
            assert_eq!(data.bytes, data.count_bytes());
        }
        let started = std::time::Instant::now();
        let busy = |store: &Store| {
            let data = store.shared.data();
            data.files[&uploaded.id].record.status == FileStatus::UploadInProgress
        };
        while busy(&store) {
            assert!(started.elapsed() < std::time::Duration::from_secs(20));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_counted(&store);
        store.remove_file_now(file).expect("removed");
        assert_counted(&store);
    }
}
