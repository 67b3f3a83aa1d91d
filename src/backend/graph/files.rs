//! Definition files over Graph: each seam call becomes the request GRAPH.md describes. A file
//! is read with `$expand=groupPolicyOperations` (its operations then serve the request's lists
//! and lookups on it; plain with `--graph-navigation-reads`); lookups of several files go
//! through Graph `$batch`; actions answer 204, so the file is read right after; the file list
//! follows `@odata.nextLink`s exactly as Graph wrote them; a watched file is polled with
//! `$expand=groupPolicyOperations` through the shared pollers. Every write forgets what the
//! request had read, once Graph has answered.

use std::collections::HashSet;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::GraphRequest;
use super::envelope::ODataPage;
use super::files_wire::FileEntity;
use super::links::next_link;
use super::paging::GraphCursor;
use super::poller::{Snapshot, Target};
use super::{GraphBackend, batch, files_wire, upstream_shape, wire};
use crate::backend::cursor::CursorCodec;
use crate::backend::{Caller, FileLookups, FileWatch};
use crate::domain::files::{
    DefinitionFile, FILES_LIST, FileAction, FilePage, NewDefinitionFile, WatchedFile,
    file_not_found,
};
use crate::domain::{Guid, Operation, Page};
use crate::error::Error;

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

impl GraphBackend {
    /// Files by id. By default each is read with its operations (`$expand`), which then
    /// answer the request's operation lists and lookups on that file without another call.
    pub(super) async fn lookup_files(&self, caller: &Caller, ids: &[Guid]) -> FileLookups {
        if let [id] = ids {
            let outcome = self.read_file(caller, *id).await;
            return match outcome {
                Ok(Some(file)) => [(*id, Ok(file))].into_iter().collect(),
                Ok(None) => FileLookups::new(),
                Err(e) => [(*id, Err(e))].into_iter().collect(),
            };
        }
        let read = batch::get_many(
            &self.api,
            caller,
            ids,
            |id| self.file_url(*id),
            |_, body| files_wire::file_with_operations(body),
        )
        .await;
        let mut files = FileLookups::new();
        for (id, outcome) in read {
            files.insert(id, self.keep_operations(caller, outcome).await);
        }
        files
    }

    pub(super) async fn read_file(
        &self,
        caller: &Caller,
        id: Guid,
    ) -> Result<Option<DefinitionFile>, Error> {
        let body = self
            .call(caller, GraphRequest::get(self.file_url(id)))
            .await?;
        match body {
            Some(body) => {
                let read = files_wire::file_with_operations(&body);
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

    /// Every file of the tenant, following nextLinks verbatim (same origin and collection
    /// only, and never one twice).
    pub(super) async fn all_files(&self, caller: &Caller) -> Result<Vec<DefinitionFile>, Error> {
        let mut request = GraphRequest::get(self.api.files());
        let mut followed = HashSet::new();
        let mut files = Vec::new();
        for _ in 0..MAX_FILE_PAGES {
            let body = self
                .call(caller, request.clone())
                .await?
                .unwrap_or(Value::Null);
            let page: ODataPage<FileEntity> = wire::read(&body, "a list of definition files")?;
            for entity in page.value {
                files.push(files_wire::file_of(entity)?.0);
            }
            let Some(link) = page.next_link else {
                return Ok(files);
            };
            let url = next_link(self.api.client().base(), &link)?;
            if !followed.insert(link.clone()) {
                return Err(upstream_shape(
                    "an @odata.nextLink it had already returned in this listing",
                ));
            }
            request = GraphRequest::get_exact(url, link);
        }
        Err(upstream_shape(&format!(
            "more than {MAX_FILE_PAGES} pages of definition files"
        )))
    }

    pub(super) async fn page_of_files(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        let resume: Option<FileCursor> = after
            .map(|cursor| self.cursors.decode(FILES_LIST, cursor))
            .transpose()?;
        let all = self.all_files(caller).await?;
        let start = resume.map_or(0, |c| {
            all.iter()
                .position(|f| f.id == c.id)
                .map_or(c.index + 1, |found| found + 1)
        });
        let items: Vec<(String, DefinitionFile)> = all
            .iter()
            .enumerate()
            .skip(start)
            .take(first)
            .map(|(i, file)| {
                let cursor = FileCursor {
                    index: i,
                    id: file.id,
                };
                (self.cursors.encode(FILES_LIST, &cursor), file.clone())
            })
            .collect();
        Ok(FilePage {
            has_next_page: start + items.len() < all.len(),
            items,
        })
    }

    pub(super) async fn post_file(
        &self,
        caller: &Caller,
        new: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error> {
        let body = files_wire::upload_body(&new)?;
        let request = GraphRequest::post(self.api.files(), Some(body));
        let answer = self.api.client().call_for_answer(caller, &request).await;
        caller.budget.forget_lists();
        let answer = answer?;
        match answer.body {
            Some(body) if body.get("id").is_some() => files_wire::file(&body),
            _ => {
                self.find_uploaded(caller, &new.file_name, answer.location)
                    .await
            }
        }
    }

    pub(super) async fn post_action(
        &self,
        caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error> {
        let (name, body) = files_wire::action(&action)?;
        let url = self.api.file(id, &[name], &[]);
        let reply = self.call(caller, GraphRequest::post(url, body)).await;
        caller.budget.forget_lists();
        let reply = reply?;
        // Actions answer 204; the file as it now stands is what the caller wants.
        match reply {
            Some(body) if body.get("id").is_some() => files_wire::file(&body),
            _ => self
                .read_file(caller, id)
                .await?
                .ok_or_else(|| file_not_found(id)),
        }
    }

    pub(super) async fn delete_file_record(&self, caller: &Caller, id: Guid) -> Result<(), Error> {
        let url = self.api.file(id, &[], &[]);
        let outcome = self.call(caller, GraphRequest::delete(url)).await;
        caller.budget.forget_lists();
        outcome.map(|_| ())
    }

    pub(super) async fn poll_file(&self, caller: &Caller, id: Guid) -> Result<FileWatch, Error> {
        let snapshots = self.pollers.watch(caller, Target::File(id)).await?;
        let cursors = self.cursors.clone();
        Ok(snapshots
            .filter_map(move |state| {
                let state = match state {
                    Ok(Some(Snapshot::File(file, ops))) => Some(Ok(Some(WatchedFile {
                        operations: expanded_page(&cursors, id, ops),
                        file: *file,
                    }))),
                    Ok(Some(Snapshot::Operation(_))) => None,
                    Ok(None) => Some(Ok(None)),
                    Err(e) => Some(Err(e)),
                };
                std::future::ready(state)
            })
            .boxed())
    }
}

/// A file's expanded operations as the first page of its operation list, with cursors that
/// resume like any Graph-mode cursor (by re-reading the first upstream page).
fn expanded_page(cursors: &CursorCodec, file: Guid, ops: Vec<Operation>) -> Page {
    Page {
        items: ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| (cursors.encode(file, &GraphCursor::at(i, op.id)), op))
            .collect(),
        has_next_page: false,
    }
}
