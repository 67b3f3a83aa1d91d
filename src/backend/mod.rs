//! The seam between the GraphQL layer and where operations actually live.
//!
//! Resolvers talk to [`Backend`] only; the in-process [`store`] and the Graph REST [`graph`]
//! backend implement it. Nothing here knows GraphQL, and resolvers never see URLs or Graph JSON.

pub mod budget;
pub mod cursor;
pub mod graph;
pub(crate) mod identity;
pub mod store;
pub(crate) mod tenant_budget;

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::domain::files::{DefinitionFile, FileAction, FilePage, NewDefinitionFile, WatchedFile};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::Error;

pub use budget::RequestBudget;

/// A caller's bearer token. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BearerToken(String);

impl BearerToken {
    /// Takes the token from an `Authorization` header value (`Bearer <token>`, scheme in any case).
    pub fn from_authorization(value: &str) -> Option<Self> {
        let (scheme, token) = value.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .then(|| BearerToken(token.to_owned()))
    }

    /// The secret itself, for the one place that must send it upstream.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Who is asking: the token to forward (Graph mode), the id that correlates the request
/// with Graph's logs, and what the request may still spend upstream.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's bearer token, forwarded to Microsoft Graph in graph mode; `None` when the
    /// request carried none.
    pub token: Option<BearerToken>,
    /// The GUID sent to Graph as `client-request-id`: the client's own when it sent one,
    /// else a fresh one.
    pub client_request_id: String,
    /// Shared by every call of one GraphQL request (see [`budget`]).
    pub budget: RequestBudget,
}

impl Caller {
    /// The same caller with its own budget (each GraphQL operation gets one).
    pub fn with_budget(&self, budget: RequestBudget) -> Caller {
        Caller {
            budget,
            ..self.clone()
        }
    }
}

/// Outcome of looking up several keys: a key absent from the map does not exist.
pub type Lookups = HashMap<OperationKey, Result<Operation, Error>>;

/// A live view of one operation: its state after each change, `None` once it is deleted.
pub type Watch = BoxStream<'static, Result<Option<Operation>, Error>>;

/// Outcome of looking up several definition files: an id absent from the map does not exist.
pub type FileLookups = HashMap<Guid, Result<DefinitionFile, Error>>;

/// A live view of one definition file with its operations, `None` once it is gone.
pub type FileWatch = BoxStream<'static, Result<Option<WatchedFile>, Error>>;

/// Where operations live. Implementations must be safe to share across requests.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Looks up a lookup batch of operations at once; each key gets its own outcome.
    async fn get_many(&self, caller: &Caller, keys: &[OperationKey]) -> Lookups;

    /// One page of a definition file's operations in a stable order, resuming after the
    /// backend-issued cursor `after`.
    async fn list(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error>;

    /// Creates an operation and returns it as stored.
    async fn create(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
    ) -> Result<Operation, Error>;

    /// Applies a patch and returns the operation as it now stands. A missing operation is
    /// `NOT_FOUND`.
    async fn update(
        &self,
        caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error>;

    /// Deletes an operation; a missing one is `NOT_FOUND`.
    async fn delete(&self, caller: &Caller, key: OperationKey) -> Result<(), Error>;

    /// Follows one operation: yields its current state at once, then each change. The stream
    /// ends with `NOT_FOUND` when the operation does not exist.
    async fn watch(&self, caller: &Caller, key: OperationKey) -> Result<Watch, Error>;

    /// Looks up a lookup batch of definition files at once; each id gets its own outcome.
    async fn get_files(&self, caller: &Caller, ids: &[Guid]) -> FileLookups;

    /// One page of the tenant's definition files in a stable order, resuming after `after`.
    async fn list_files(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error>;

    /// Uploads an ADMX file with its ADML files; returns the file as accepted (processing
    /// goes on after the call returns).
    async fn upload_file(
        &self,
        caller: &Caller,
        file: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error>;

    /// Starts `action` on a file and returns the file as it stands right after. A missing
    /// file is `NOT_FOUND`.
    async fn act_on_file(
        &self,
        caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error>;

    /// Deletes a file record at once; a missing one is `NOT_FOUND`.
    async fn delete_file(&self, caller: &Caller, id: Guid) -> Result<(), Error>;

    /// Follows one file and its operations: the current state at once, then each change,
    /// `None` once the file is gone. A missing file ends the stream with `NOT_FOUND`.
    async fn watch_file(&self, caller: &Caller, id: Guid) -> Result<FileWatch, Error>;

    /// Whether the backend can serve requests now.
    async fn ready(&self) -> bool {
        true
    }

    /// The claims of `token` once the upstream has accepted it (see [`identity`]); `None`
    /// when it has not, or when the backend has no upstream that checks tokens (the store).
    fn vouched_claims(&self, _token: &BearerToken) -> Option<std::sync::Arc<identity::Claims>> {
        None
    }

    /// What this backend counts (Graph exchanges, pollers, operations held, budgets), for the
    /// `/metrics` page of each gateway built on it. A backend that counts nothing shows its
    /// own figures at zero.
    fn figures(&self) -> crate::telemetry::metrics::BackendFigures {
        crate::telemetry::metrics::BackendFigures::default()
    }
}
