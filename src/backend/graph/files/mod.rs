//! Definition files over Graph: each seam call becomes the request GRAPH.md describes. A file
//! is read with `$expand=groupPolicyOperations` (its operations then serve the request's lists
//! and lookups on it; plain with `--graph-navigation-reads`); lookups of several files go
//! through Graph `$batch`; actions answer 204, so the file is read right after; the file list
//! follows `@odata.nextLink`s exactly as Graph wrote them; a watched file is polled with
//! `$expand=groupPolicyOperations` through the shared pollers. Every write forgets what the
//! request had read, once Graph has answered.

pub(crate) mod wire;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::client::{Answer, GraphRequest};
use super::envelope::unusable;
use super::links::Pages;
use super::operations::GraphCursor;
use super::poller::{self, Snapshot, Target};
use super::{GraphBackend, lookups};
use crate::backend::cursor::CursorCodec;
use crate::backend::{Caller, FileLookups, FileWatch};
use crate::domain::files::{
    DefinitionFile, FILES_LIST, FileAction, FilePage, NewDefinitionFile, WatchedFile,
    file_not_found,
};
use crate::domain::{Cursor, Guid, Operation, Page};
use crate::error::Error;
use wire::FileEntity;

/// Most upstream pages one listing of files follows (Intune allows 10 files per tenant).
const MAX_FILE_PAGES: usize = 20;

/// Where a file-list cursor resumes: after the file with this id, else after this index.
#[derive(Serialize, Deserialize)]
struct FileCursor {
    #[serde(rename = "i")]
    index: usize,
    #[serde(rename = "d")]
    id: Guid,
}

/// Files by id. By default each is read with its operations (`$expand`), which then answer
/// the request's operation lists and lookups on that file without another call.
pub(super) async fn get_files(graph: &GraphBackend, caller: &Caller, ids: &[Guid]) -> FileLookups {
    let read = lookups::by_key(
        &graph.api,
        caller,
        ids,
        |id| graph.file_url(*id),
        |_, entity| wire::file_with_operations(entity),
    )
    .await;
    let mut files = FileLookups::new();
    for (id, outcome) in read {
        files.insert(id, graph.keep_operations(caller, outcome).await);
    }
    files
}

pub(super) async fn list_files(
    graph: &GraphBackend,
    caller: &Caller,
    first: usize,
    after: Option<&str>,
) -> Result<FilePage, Error> {
    let resume: Option<FileCursor> = after
        .map(|cursor| graph.cursors.decode(FILES_LIST, cursor))
        .transpose()?;
    let all = graph.all_files(caller).await?;
    let start = resume.map_or(0, |c| {
        all.iter()
            .position(|f| f.id == c.id)
            .map_or(c.index + 1, |found| found + 1)
    });
    let items: Vec<(Cursor, DefinitionFile)> = all
        .iter()
        .enumerate()
        .skip(start)
        .take(first)
        .map(|(i, file)| {
            let cursor = FileCursor {
                index: i,
                id: file.id,
            };
            (graph.cursors.lazy(FILES_LIST, cursor), file.clone())
        })
        .collect();
    Ok(FilePage {
        has_next_page: start + items.len() < all.len(),
        items,
    })
}

pub(super) async fn upload_file(
    graph: &GraphBackend,
    caller: &Caller,
    new: NewDefinitionFile,
) -> Result<DefinitionFile, Error> {
    let body = wire::upload_body(&new)?;
    let request = GraphRequest::post(graph.api.files(), Some(body));
    match graph.write(caller, request).await? {
        (Answer::Entity(entity), _) => wire::file(entity),
        (_, location) => graph.find_uploaded(caller, &new.file_name, location).await,
    }
}

pub(super) async fn act_on_file(
    graph: &GraphBackend,
    caller: &Caller,
    id: Guid,
    action: FileAction,
) -> Result<DefinitionFile, Error> {
    let (name, body) = wire::action(&action)?;
    let request = GraphRequest::post(graph.api.file(id, &[name], &[]), body);
    let (answer, _) = graph.write::<FileEntity>(caller, request).await?;
    // Actions answer 204; the file as it now stands is what the caller wants.
    match answer.entity() {
        Some(entity) => wire::file(entity),
        None => graph
            .read_file(caller, id)
            .await?
            .ok_or_else(|| file_not_found(id)),
    }
}

pub(super) async fn delete_file(
    graph: &GraphBackend,
    caller: &Caller,
    id: Guid,
) -> Result<(), Error> {
    let request = GraphRequest::delete(graph.api.file(id, &[], &[]));
    graph.write::<IgnoredAny>(caller, request).await.map(|_| ())
}

pub(super) async fn watch_file(
    graph: &GraphBackend,
    caller: &Caller,
    id: Guid,
) -> Result<FileWatch, Error> {
    let snapshots = graph.pollers.watch(caller, Target::File(id)).await?;
    let cursors = graph.cursors.clone();
    Ok(poller::picked(snapshots, move |snapshot| match snapshot {
        Snapshot::File(file, ops) => Some(WatchedFile {
            operations: expanded_page(&cursors, id, ops),
            file: *file,
        }),
        Snapshot::Operation(_) => None,
    }))
}

impl GraphBackend {
    /// One file, `None` when it does not exist (read as [`file_url`](Self::file_url) says).
    pub(super) async fn read_file(
        &self,
        caller: &Caller,
        id: Guid,
    ) -> Result<Option<DefinitionFile>, Error> {
        let request = GraphRequest::get(self.file_url(id));
        match self.api.client().call(caller, &request).await?.entity() {
            Some(entity) => {
                let read = wire::file_with_operations(entity);
                self.keep_operations(caller, read).await.map(Some)
            }
            None => Ok(None),
        }
    }

    /// How a file is read: with `$expand=groupPolicyOperations` by default, plain with
    /// `--graph-navigation-reads`.
    fn file_url(&self, id: Guid) -> url::Url {
        if self.api.navigation_reads() {
            self.api.file(id, &[], &[])
        } else {
            super::expand::expand_url(&self.api, id)
        }
    }

    /// The file of an `$expand` read; its operations join the request's memo (see `expand`).
    async fn keep_operations(
        &self,
        caller: &Caller,
        read: Result<(DefinitionFile, Vec<Operation>), Error>,
    ) -> Result<DefinitionFile, Error> {
        let (file, operations) = read?;
        if !self.api.navigation_reads() {
            self.remember_expanded(caller, file.id, operations).await;
        }
        Ok(file)
    }

    /// Every file of the tenant, following nextLinks verbatim (see [`Pages`]).
    pub(super) async fn all_files(&self, caller: &Caller) -> Result<Vec<DefinitionFile>, Error> {
        let client = self.api.client();
        let mut pages = Pages::new(client.base(), GraphRequest::get(self.api.files()), None)?;
        let mut files = Vec::new();
        for _ in 0..MAX_FILE_PAGES {
            let Answer::Entity(page) = pages.read::<FileEntity>(client, caller).await? else {
                return Err(unusable(
                    "Microsoft Graph answered the list of definition files without a list",
                ));
            };
            for entity in page.value {
                files.push(wire::file(entity)?);
            }
            if !pages.has_next() {
                return Ok(files);
            }
            pages.follow()?;
        }
        Err(unusable(format!(
            "Microsoft Graph returned more than {MAX_FILE_PAGES} pages of definition files"
        )))
    }
}

/// A file's expanded operations as the first page of its operation list, with cursors that
/// resume like any Graph-mode cursor (by re-reading the first upstream page).
fn expanded_page(cursors: &CursorCodec, file: Guid, ops: Vec<Operation>) -> Page {
    Page {
        items: ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| (cursors.lazy(file, GraphCursor::at(i, op.id)), op))
            .collect(),
        has_next_page: false,
    }
}
