//! The per-operation lookups of definition files: every file lookup of one GraphQL request
//! (`groupPolicyUploadedDefinitionFile`, `GroupPolicyOperation.definitionFile`) goes through
//! it, so the N lookups of a lookup batch become one backend call (Graph `$batch` in Graph
//! mode).
//!
//! Like the operation loader it is built for each request with that request's caller and
//! never shared across requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::batcher::{Batcher, Load};
use super::loader::MAX_LOOKUPS_PER_OPERATION;
use crate::backend::{Backend, Caller};
use crate::domain::Guid;
use crate::domain::files::DefinitionFile;
use crate::error::Error;

/// Loads definition files for one caller.
pub struct FileLoader {
    backend: Arc<dyn Backend>,
    caller: Caller,
    looked_up: AtomicUsize,
}

impl FileLoader {
    /// A DataLoader for one GraphQL operation of `caller`.
    pub fn per_operation(backend: Arc<dyn Backend>, caller: Caller) -> FileLookups {
        Batcher::new(FileLoader {
            backend,
            caller,
            looked_up: AtomicUsize::new(0),
        })
    }
}

/// The definition-file lookups of one operation, batched per execution step.
pub type FileLookups = Batcher<FileLoader>;

impl Load for FileLoader {
    type Key = Guid;
    type Value = Result<DefinitionFile, Error>;

    async fn load(&self, ids: &[Guid]) -> HashMap<Guid, Self::Value> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let before = self.looked_up.fetch_add(unique.len(), Ordering::SeqCst);
        let allowed = MAX_LOOKUPS_PER_OPERATION
            .saturating_sub(before)
            .min(unique.len());
        let refused = unique.split_off(allowed);
        tracing::debug!(
            lookups = ids.len(),
            unique = unique.len(),
            "loading definition files"
        );
        let mut found = if unique.is_empty() {
            HashMap::new()
        } else {
            self.backend.get_files(&self.caller, &unique).await
        };
        let too_many = Error::LimitExceeded(format!(
            "One GraphQL operation may look up at most {MAX_LOOKUPS_PER_OPERATION} definition files"
        ));
        found.extend(refused.into_iter().map(|id| (id, Err(too_many.clone()))));
        found
    }
}
