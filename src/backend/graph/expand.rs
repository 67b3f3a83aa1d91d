//! Reads of operations the way real tools make them: a file's operations come from one
//! `GET .../groupPolicyUploadedDefinitionFiles/{id}?$expand=groupPolicyOperations` (Intune may
//! refuse the non-contained `groupPolicyOperations` navigation routes; see GRAPH.md), and the
//! gateway pages them itself with its signed cursors.
//!
//! Two things keep the cost at one Graph call per file per GraphQL request:
//! - a memo on the request (kept in the budget's list memo under a key no list call can
//!   have), so a file's list and any number of lookups on it share one read, until a write
//!   of the request clears it;
//! - a gathering of the reads that start at the same moment for the same caller (same token
//!   and `client-request-id`): the first waits for its siblings to join (yielding, no timer,
//!   as the lookup batcher does), then the files go out as one GET (one file) or one `$batch`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::{BoxFuture, FutureExt, Shared, join_all};
use sha2::{Digest, Sha256};

use super::api::GraphApi;
use super::files::wire::{FileEntity, file_with_operations};
use super::operations::GraphCursor;
use super::{GraphBackend, lookups};
use crate::backend::budget::ListCall;
use crate::backend::{Caller, Lookups};
use crate::domain::files::file_not_found;
use crate::domain::{Cursor, Guid, Operation, OperationKey, Page};
use crate::error::{Code, Error};

/// The memo's key for a file's expanded read: `first` no client can ask for.
const MEMO_FIRST: usize = usize::MAX;
const MEMO_AFTER: &str = "$expand=groupPolicyOperations";
/// Most passes a gathering waits for more files to join.
const MAX_SETTLE_PASSES: usize = 16;

/// Each file's operations, by file; a file missing from the map does not exist.
type FileReads = Arc<HashMap<Guid, Result<Vec<Operation>, Error>>>;

/// Who may share a gathering: the same token and the same `client-request-id`.
type GatherKey = ([u8; 32], String);

struct Gathering {
    files: Arc<Mutex<Vec<Guid>>>,
    done: Shared<BoxFuture<'static, FileReads>>,
}

/// The gatherings still taking files, held weakly: a gathering lives while someone awaits it,
/// so one whose callers all went away (a cancelled request) is dropped, never kept.
type OpenGatherings = Arc<Mutex<HashMap<GatherKey, Weak<Gathering>>>>;

/// The gatherings still taking files.
#[derive(Default)]
pub(crate) struct ExpandReads {
    open: OpenGatherings,
}

impl ExpandReads {
    /// The operations of `file`, read together with the other files asked for at this moment
    /// by the same caller.
    async fn read(
        &self,
        api: &Arc<GraphApi>,
        caller: &Caller,
        file: Guid,
    ) -> Result<Vec<Operation>, Error> {
        let token = caller
            .token
            .as_ref()
            .map(|t| t.expose())
            .unwrap_or_default();
        let key: GatherKey = (
            Sha256::digest(token.as_bytes()).into(),
            caller.client_request_id.clone(),
        );
        let gathering = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            open.retain(|_, gathering| gathering.strong_count() > 0);
            let gathering = match open.get(&key).and_then(Weak::upgrade) {
                Some(gathering) => gathering,
                None => {
                    let files = Arc::new(Mutex::new(Vec::new()));
                    let done = gather(
                        Arc::clone(api),
                        caller.clone(),
                        Arc::clone(&files),
                        Arc::clone(&self.open),
                        key.clone(),
                    );
                    let gathering = Arc::new(Gathering {
                        files,
                        done: done.boxed().shared(),
                    });
                    open.insert(key, Arc::downgrade(&gathering));
                    gathering
                }
            };
            let mut files = gathering.files.lock().unwrap_or_else(|p| p.into_inner());
            if !files.contains(&file) {
                files.push(file);
            }
            drop(files);
            gathering
        };
        // Held while awaiting: the gathering stays registered only while someone waits on it.
        let reads = gathering.done.clone().await;
        // The last one out takes its file's operations instead of copying them (the usual
        // case: one file per request).
        drop(gathering);
        let outcome = match Arc::try_unwrap(reads) {
            Ok(mut reads) => reads.remove(&file),
            Err(reads) => reads.get(&file).cloned(),
        };
        outcome.unwrap_or_else(|| Err(file_not_found(file)))
    }
}

/// Waits for the files of one moment, closes the gathering, and reads them all.
async fn gather(
    api: Arc<GraphApi>,
    caller: Caller,
    files: Arc<Mutex<Vec<Guid>>>,
    open: OpenGatherings,
    key: GatherKey,
) -> FileReads {
    let count = || files.lock().unwrap_or_else(|p| p.into_inner()).len();
    let mut seen = 0;
    for _ in 0..MAX_SETTLE_PASSES {
        tokio::task::yield_now().await;
        let now = count();
        if now == seen {
            break;
        }
        seen = now;
    }
    let ours = {
        let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
        let ours = open
            .get(&key)
            .and_then(Weak::upgrade)
            .is_some_and(|g| Arc::ptr_eq(&g.files, &files));
        if ours {
            open.remove(&key);
        }
        files.lock().unwrap_or_else(|p| p.into_inner()).clone()
    };
    Arc::new(read_files(&api, &caller, &ours).await)
}

/// One GET for one file, one `$batch` (per 20) for several.
async fn read_files(
    api: &GraphApi,
    caller: &Caller,
    files: &[Guid],
) -> HashMap<Guid, Result<Vec<Operation>, Error>> {
    lookups::by_key(
        api,
        caller,
        files,
        |file| expand_url(api, *file),
        |_, entity: FileEntity| file_with_operations(entity).map(|(_, operations)| operations),
    )
    .await
}

/// Where the request's memo keeps `file`'s expanded operations.
fn memo_key(file: Guid) -> ListCall {
    ListCall {
        definition_file_id: file,
        first: MEMO_FIRST,
        after: Some(MEMO_AFTER.to_owned()),
    }
}

/// `.../groupPolicyUploadedDefinitionFiles/{id}?$expand=groupPolicyOperations`.
pub(crate) fn expand_url(api: &GraphApi, file: Guid) -> url::Url {
    api.file(
        file,
        &[],
        &[("$expand", "groupPolicyOperations".to_owned())],
    )
}

impl GraphBackend {
    /// The operations of `file` (`NOT_FOUND` when the file does not exist), read once per
    /// request until a write of the request clears the memo.
    pub(super) async fn expanded(
        &self,
        caller: &Caller,
        file: Guid,
    ) -> Result<Vec<Operation>, Error> {
        let call = memo_key(file);
        let read = async {
            let operations = self.expand.read(&self.api, caller, file).await?;
            Ok(Page {
                items: operations
                    .into_iter()
                    .map(|op| (Cursor::lazy(String::new), op))
                    .collect(),
                has_next_page: false,
            })
        };
        let page = caller.budget.list_once(call, read).await?;
        Ok(page.items.into_iter().map(|(_, op)| op).collect())
    }

    /// Keeps `operations`, just read with their file, as the request's read of that file's
    /// operations (unless it already has one).
    pub(super) async fn remember_expanded(
        &self,
        caller: &Caller,
        file: Guid,
        operations: Vec<Operation>,
    ) {
        let page = Page {
            items: operations
                .into_iter()
                .map(|op| (Cursor::lazy(String::new), op))
                .collect(),
            has_next_page: false,
        };
        let _ = caller
            .budget
            .list_once(memo_key(file), async { Ok(page) })
            .await;
    }

    /// Lookups by id, answered from each file's expanded read.
    pub(super) async fn lookups_expanded(&self, caller: &Caller, keys: &[OperationKey]) -> Lookups {
        let mut files: Vec<Guid> = keys.iter().map(|k| k.definition_file_id).collect();
        files.sort();
        files.dedup();
        let reads: HashMap<Guid, Result<Vec<Operation>, Error>> = join_all(
            files
                .iter()
                .map(|file| async move { (*file, self.expanded(caller, *file).await) }),
        )
        .await
        .into_iter()
        .collect();
        tracing::debug!(
            keys = keys.len(),
            files = files.len(),
            "lookups from $expand reads"
        );
        keys.iter()
            .filter_map(|key| match &reads[&key.definition_file_id] {
                Ok(operations) => operations
                    .iter()
                    .find(|op| op.id == key.id)
                    .map(|op| (*key, Ok(op.clone()))),
                Err(e) if e.code() == Code::NotFound => None,
                Err(e) => Some((*key, Err(e.clone()))),
            })
            .collect()
    }

    /// One operation from its file's expanded read; `None` when it (or the file) is absent.
    pub(super) async fn operation_expanded(
        &self,
        caller: &Caller,
        key: OperationKey,
    ) -> Result<Option<Operation>, Error> {
        match self.expanded(caller, key.definition_file_id).await {
            Ok(operations) => Ok(operations.into_iter().find(|op| op.id == key.id)),
            Err(e) if e.code() == Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A page of a file's operations, cut by the gateway from the expanded read. The cursor
    /// is checked before anything is read.
    pub(super) async fn list_expanded(
        &self,
        caller: &Caller,
        file: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        let resume: Option<GraphCursor> = after
            .map(|cursor| self.cursors.decode(file, cursor))
            .transpose()?;
        let operations = self.expanded(caller, file).await?;
        let start = resume.map_or(0, |cursor| {
            operations
                .iter()
                .position(|op| op.id == cursor.id)
                .map_or(cursor.index + 1, |found| found + 1)
        });
        let total = operations.len();
        let items: Vec<(Cursor, Operation)> = operations
            .into_iter()
            .enumerate()
            .skip(start)
            .take(first)
            .map(|(index, op)| (self.cursors.lazy(file, GraphCursor::at(index, op.id)), op))
            .collect();
        Ok(Page {
            has_next_page: start + items.len() < total,
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::graph::client::GraphClient;
    use crate::backend::{BearerToken, RequestBudget};

    #[tokio::test]
    async fn a_gathering_whose_callers_all_left_is_not_kept() {
        let client = GraphClient::new(
            "http://127.0.0.1:9/beta",
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .expect("a client");
        let api = Arc::new(GraphApi::new(client, false));
        let reads = ExpandReads::default();
        let caller = Caller {
            token: BearerToken::from_authorization("Bearer t"),
            client_request_id: "c-1".into(),
            budget: RequestBudget::unmetered(),
        };
        {
            let read = reads.read(&api, &caller, Guid::new_v4());
            futures_util::pin_mut!(read);
            // Registered, still waiting for siblings: then the caller goes away.
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            let open = reads.open.lock().expect("lock");
            assert_eq!(open.values().filter(|g| g.strong_count() > 0).count(), 1);
        }
        let open = reads.open.lock().expect("lock");
        assert_eq!(open.values().filter(|g| g.strong_count() > 0).count(), 0);
    }
}
