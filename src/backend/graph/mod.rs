//! The Graph REST backend: each operation of the seam becomes the Graph call Microsoft's SDKs
//! would make, with the caller's own token, and Graph's answer becomes domain values.
//!
//! Lookups of several operations go out as JSON `$batch` requests of at most 20 (see
//! [`batch`]); list cursors carry only what Graph gave us for that collection, signed;
//! subscriptions are served by shared pollers (see [`poller`]).

mod batch;
mod client;
mod files;
mod files_wire;
mod links;
mod poller;
mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::cursor::CursorCodec;
use super::{Backend, Caller, FileLookups, FileWatch, Lookups, Watch};
use crate::config::Config;
use crate::domain::files::{
    DefinitionFile, FileAction, FilePage, NewDefinitionFile, file_not_found,
};
use crate::domain::{Fields, Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::{Code, Error};
use client::{GraphClient, Kind};

pub use client::parse_retry_after;

/// How many upstream list pages one GraphQL page follows once it has some edges (Graph may
/// return short or empty pages that still have a next link).
const MAX_PAGES_PER_CALL: usize = 10;

/// Forwards every operation to Microsoft Graph.
pub struct GraphBackend {
    client: Arc<GraphClient>,
    cursors: CursorCodec,
    pollers: poller::Pollers,
}

/// What a Graph-mode cursor carries: the upstream page the edge came from (the
/// `@odata.nextLink` exactly as Graph wrote it, never client input), the edge's place in that
/// page, and, on a page's last edge, the next page's link.
#[derive(Serialize, Deserialize)]
struct GraphCursor {
    /// The `@odata.nextLink` that produced the page (`None`: the first page).
    p: Option<String>,
    /// Index of the edge in that page.
    i: usize,
    /// `$top` of the first page (the only page whose URL the gateway builds).
    t: usize,
    /// On the last edge of an upstream page: the next page's link.
    n: Option<String>,
    /// The edge's operation id: resuming skips past it even if the page shifted meanwhile.
    d: Guid,
}

impl GraphBackend {
    /// A backend for the Graph at `config.graph_url`.
    pub fn new(config: &Config, cursors: CursorCodec) -> Result<Self, String> {
        let client = GraphClient::new(
            &config.graph_url,
            Duration::from_secs_f64(config.graph_connect_timeout.max(0.1)),
            Duration::from_secs_f64(config.graph_timeout.max(0.1)),
        )?;
        let client = Arc::new(client);
        let interval = Duration::from_secs_f64(config.poll_interval.max(0.05));
        Ok(GraphBackend {
            pollers: poller::Pollers::new(Arc::clone(&client), interval),
            client,
            cursors,
        })
    }

    fn collection(&self, file: Guid, query: &[(&str, String)]) -> Url {
        let file = file.to_string();
        self.client.url(
            &[
                "deviceManagement",
                "groupPolicyUploadedDefinitionFiles",
                &file,
                "groupPolicyOperations",
            ],
            query,
        )
    }

    fn entity(&self, key: OperationKey, query: &[(&str, String)]) -> Url {
        let (file, id) = (key.definition_file_id.to_string(), key.id.to_string());
        self.client.url(
            &[
                "deviceManagement",
                "groupPolicyUploadedDefinitionFiles",
                &file,
                "groupPolicyOperations",
                &id,
            ],
            query,
        )
    }

    /// One upstream page of a file's operations: the first (built with `$top`), or the one at
    /// `link`, requested exactly as Graph wrote it. Returns its items and the next link, which
    /// must address this very collection at Graph's origin (else an upstream error, and it is
    /// never fetched).
    async fn fetch_page(
        &self,
        caller: &Caller,
        file: Guid,
        link: Option<&str>,
        top: usize,
    ) -> Result<(Vec<Operation>, Option<String>), Error> {
        let ours = self.collection(file, &[]);
        // No `$select`: Graph then returns every property. A nextLink keeps the options of
        // the first request and a later page may select more, so all are always read.
        let url = match link {
            Some(link) => links::next_link(&ours, link)?,
            None => self.collection(file, &[("$top", top.to_string())]),
        };
        let body = self
            .client
            .call(caller, Method::GET, url, None, Kind::Read)
            .await?
            .unwrap_or(Value::Null);
        let Some(values) = body["value"].as_array() else {
            // A 404 for the collection: the definition file does not exist.
            return if body.is_null() {
                Err(file_not_found(file))
            } else {
                Err(upstream_shape("a list without `value`"))
            };
        };
        let items = values
            .iter()
            .map(|v| wire::operation(file, v, Fields::ALL))
            .collect::<Result<Vec<_>, _>>()?;
        let next = match body["@odata.nextLink"].as_str() {
            Some(next) => {
                links::next_link(&ours, next)?;
                Some(next.to_owned())
            }
            None => None,
        };
        Ok((items, next))
    }
}

fn select(fields: Fields) -> String {
    fields.graph_names().join(",")
}

fn upstream_shape(what: &str) -> Error {
    Error::upstream(
        Code::UpstreamError,
        format!("Microsoft Graph returned {what}"),
    )
}

#[async_trait]
impl Backend for GraphBackend {
    async fn get_many(&self, caller: &Caller, keys: &[OperationKey], fields: Fields) -> Lookups {
        if let [key] = keys {
            let url = self.entity(*key, &[("$select", select(fields))]);
            let outcome = self
                .client
                .call(caller, Method::GET, url, None, Kind::Read)
                .await
                .and_then(|body| {
                    body.map(|b| wire::operation(key.definition_file_id, &b, fields))
                        .transpose()
                });
            tracing::debug!(keys = 1, upstream_calls = 1, "lookup as a plain GET");
            return match outcome {
                Ok(Some(op)) => [(*key, Ok(op))].into_iter().collect(),
                Ok(None) => Lookups::new(),
                Err(e) => [(*key, Err(e))].into_iter().collect(),
            };
        }
        let select = [("$select", select(fields))];
        batch::get_many(
            self,
            caller,
            keys,
            |key| self.entity(*key, &select),
            |key, body| wire::operation(key.definition_file_id, body, fields),
        )
        .await
    }

    async fn list(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
        _fields: Fields,
    ) -> Result<Page, Error> {
        // Decode (and so verify) the cursor before any upstream call.
        // `resume`: the edge to continue after when its page must be read again.
        let (mut link, mut resume, top) = match after {
            None => (None, None, first),
            Some(cursor) => {
                let cursor: GraphCursor = self.cursors.decode(definition_file_id, cursor)?;
                let ours = self.collection(definition_file_id, &[]);
                let link = |stored: Option<String>| stored.map(|s| links::expand(&ours, s));
                match cursor.n {
                    Some(next) => (link(Some(next)), None, first),
                    None => (link(cursor.p), Some((cursor.d, cursor.i)), cursor.t.max(1)),
                }
            }
        };
        // Intune has been seen to return the same nextLink forever: never follow one twice.
        let mut followed: HashSet<String> = link.iter().cloned().collect();
        let mut page = Page::default();
        let deadline = Instant::now() + self.client.timeout();
        let mut fetched = 0;
        loop {
            // Stop following links once some edges are in hand (the last one's cursor resumes
            // there); with none yet, keep going until the time budget runs out, because an
            // empty page with `hasNextPage` and no cursor would leave the client stuck.
            if fetched == MAX_PAGES_PER_CALL && !page.items.is_empty() {
                page.has_next_page = true;
                return Ok(page);
            }
            if fetched > 0 && Instant::now() >= deadline {
                return Err(Error::upstream(
                    Code::UpstreamTimeout,
                    "Microsoft Graph kept answering with empty pages",
                ));
            }
            let (items, next) = self
                .fetch_page(caller, definition_file_id, link.as_deref(), top)
                .await?;
            fetched += 1;
            let count = items.len();
            // Past the resumed edge: found by id, else by its old position.
            let skip = resume.take().map_or(0, |(id, index)| {
                items
                    .iter()
                    .position(|op| op.id == id)
                    .map_or(index + 1, |found| found + 1)
            });
            for (index, op) in items.into_iter().enumerate().skip(skip) {
                if page.items.len() == first {
                    page.has_next_page = true;
                    return Ok(page);
                }
                let ours = self.collection(definition_file_id, &[]);
                let cursor = GraphCursor {
                    p: link.as_deref().map(|l| links::compact(&ours, l)),
                    i: index,
                    t: top,
                    n: (index + 1 == count)
                        .then(|| next.as_deref().map(|l| links::compact(&ours, l)))
                        .flatten(),
                    d: op.id,
                };
                page.items
                    .push((self.cursors.encode(definition_file_id, &cursor), op));
            }
            if let Some(next) = &next
                && !followed.insert(next.clone())
            {
                return Err(upstream_shape(
                    "an @odata.nextLink it had already returned in this listing",
                ));
            }
            match next {
                Some(next) if page.items.len() < first => link = Some(next),
                next => {
                    page.has_next_page = next.is_some();
                    return Ok(page);
                }
            }
        }
    }

    async fn create(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
        _fields: Fields,
    ) -> Result<Operation, Error> {
        let body = wire::create_body(&input)?;
        let url = self.collection(definition_file_id, &[]);
        let created = self
            .client
            .call(caller, Method::POST, url, Some(&body), Kind::Create)
            .await?
            .ok_or_else(|| upstream_shape("no body for a created operation"))?;
        wire::operation(definition_file_id, &created, Fields::ALL)
    }

    async fn update(
        &self,
        caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
        fields: Fields,
    ) -> Result<Option<Operation>, Error> {
        let body = wire::patch_body(&patch)?;
        let url = self.entity(key, &[]);
        let reply = self
            .client
            .call(caller, Method::PATCH, url, Some(&body), Kind::Write)
            .await?;
        // 200 carries the entity; Intune's usual 204 does not, and the caller re-reads it.
        reply
            .map(|b| wire::operation(key.definition_file_id, &b, fields))
            .transpose()
    }

    async fn delete(&self, caller: &Caller, key: OperationKey) -> Result<(), Error> {
        self.client
            .call(
                caller,
                Method::DELETE,
                self.entity(key, &[]),
                None,
                Kind::Write,
            )
            .await
            .map(|_| ())
    }

    async fn watch(&self, caller: &Caller, key: OperationKey) -> Result<Watch, Error> {
        let snapshots = self
            .pollers
            .watch(self, caller, poller::Target::Operation(key))
            .await?;
        Ok(snapshots
            .filter_map(|state| {
                std::future::ready(match state {
                    Ok(Some(poller::Snapshot::Operation(op))) => Some(Ok(Some(op))),
                    Ok(Some(poller::Snapshot::File(..))) => None,
                    Ok(None) => Some(Ok(None)),
                    Err(e) => Some(Err(e)),
                })
            })
            .boxed())
    }

    async fn get_files(&self, caller: &Caller, ids: &[Guid]) -> FileLookups {
        self.lookup_files(caller, ids).await
    }

    async fn list_files(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        self.page_of_files(caller, first, after).await
    }

    async fn upload_file(
        &self,
        caller: &Caller,
        file: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error> {
        self.post_file(caller, file).await
    }

    async fn act_on_file(
        &self,
        caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error> {
        self.post_action(caller, id, action).await
    }

    async fn delete_file(&self, caller: &Caller, id: Guid) -> Result<(), Error> {
        self.delete_file_record(caller, id).await
    }

    async fn watch_file(&self, caller: &Caller, id: Guid) -> Result<FileWatch, Error> {
        self.poll_file(caller, id).await
    }
}
