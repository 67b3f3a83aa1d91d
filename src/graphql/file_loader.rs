//! The per-operation lookups of definition files: every file lookup of one GraphQL request
//! (`groupPolicyUploadedDefinitionFile`, `GroupPolicyOperation.definitionFile`) goes through
//! it, so the N lookups of a lookup batch become one backend call (Graph `$batch` in Graph
//! mode).
//!
//! Like the operation loader it is built for each request with that request's caller and
//! never shared across requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::batcher::{Batcher, Load};
use super::loader::within_cap;
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
    /// The batched file lookups of one GraphQL operation of `caller`.
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
        within_cap(
            &self.looked_up,
            ids,
            "definition files",
            |allowed| async move { self.backend.get_files(&self.caller, &allowed).await },
        )
        .await
    }
}
