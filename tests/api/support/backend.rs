//! One delegating backend for tests that watch or break the seam: it forwards every call to a
//! real in-process store, records the keys of each lookup batch, and can make every call fail.
//! A new `Backend` method is added here once, for every such test.

use std::sync::Mutex;

use async_trait::async_trait;
use gpo_gateway::backend::cursor::CursorCodec;
use gpo_gateway::backend::store::Store;
use gpo_gateway::backend::{Backend, Caller, FileLookups, FileWatch, Lookups, Watch};
use gpo_gateway::config::StoreConfig;
use gpo_gateway::domain::files::{DefinitionFile, FileAction, FilePage, NewDefinitionFile};
use gpo_gateway::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use gpo_gateway::error::Error;

/// A store seen through the seam.
pub(crate) struct DelegatingBackend {
    /// The store every call is forwarded to (tests seed it directly).
    pub store: Store,
    /// When set, every call fails with this error instead of reaching the store.
    failure: Option<Error>,
    /// The number of keys of each `get_many` call, in order.
    lookup_batches: Mutex<Vec<usize>>,
}

impl DelegatingBackend {
    /// Forwards to an empty store.
    pub(crate) fn over_store() -> Self {
        DelegatingBackend {
            store: Store::new(&StoreConfig::immediate(10_000), CursorCodec::new(None)),
            failure: None,
            lookup_batches: Mutex::default(),
        }
    }

    /// Fails every call with `error`.
    pub(crate) fn failing_with(error: Error) -> Self {
        DelegatingBackend {
            failure: Some(error),
            ..Self::over_store()
        }
    }

    /// The number of keys of each lookup batch since the last [`reset`](Self::reset).
    pub(crate) fn lookup_batches(&self) -> Vec<usize> {
        self.lookups().clone()
    }

    /// Forgets the lookup batches recorded so far.
    pub(crate) fn reset(&self) {
        self.lookups().clear();
    }

    fn lookups(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.lookup_batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> Result<(), Error> {
        self.failure.clone().map_or(Ok(()), Err)
    }
}

#[async_trait]
impl Backend for DelegatingBackend {
    async fn get_many(&self, caller: &Caller, keys: &[OperationKey]) -> Lookups {
        self.lookups().push(keys.len());
        match self.check() {
            Ok(()) => self.store.get_many(caller, keys).await,
            Err(e) => keys.iter().map(|k| (*k, Err(e.clone()))).collect(),
        }
    }

    async fn list(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        self.check()?;
        self.store
            .list(caller, definition_file_id, first, after)
            .await
    }

    async fn create(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
    ) -> Result<Operation, Error> {
        self.check()?;
        self.store.create(caller, definition_file_id, input).await
    }

    async fn update(
        &self,
        caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error> {
        self.check()?;
        self.store.update(caller, key, patch).await
    }

    async fn delete(&self, caller: &Caller, key: OperationKey) -> Result<(), Error> {
        self.check()?;
        self.store.delete(caller, key).await
    }

    async fn watch(&self, caller: &Caller, key: OperationKey) -> Result<Watch, Error> {
        self.check()?;
        self.store.watch(caller, key).await
    }

    async fn get_files(&self, caller: &Caller, ids: &[Guid]) -> FileLookups {
        match self.check() {
            Ok(()) => self.store.get_files(caller, ids).await,
            Err(e) => ids.iter().map(|id| (*id, Err(e.clone()))).collect(),
        }
    }

    async fn list_files(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        self.check()?;
        self.store.list_files(caller, first, after).await
    }

    async fn upload_file(
        &self,
        caller: &Caller,
        file: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error> {
        self.check()?;
        self.store.upload_file(caller, file).await
    }

    async fn act_on_file(
        &self,
        caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error> {
        self.check()?;
        self.store.act_on_file(caller, id, action).await
    }

    async fn delete_file(&self, caller: &Caller, id: Guid) -> Result<(), Error> {
        self.check()?;
        self.store.delete_file(caller, id).await
    }

    async fn watch_file(&self, caller: &Caller, id: Guid) -> Result<FileWatch, Error> {
        self.check()?;
        self.store.watch_file(caller, id).await
    }

    async fn ready(&self) -> bool {
        self.failure.is_none() && self.store.ready().await
    }

    fn figures(&self) -> gpo_gateway::telemetry::metrics::BackendFigures {
        self.store.figures()
    }
}
