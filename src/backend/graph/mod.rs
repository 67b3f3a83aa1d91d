//! The Graph REST backend: each operation of the seam becomes the Graph call Microsoft's SDKs
//! would make, with the caller's own token, and Graph's answer becomes domain values.
//!
//! By default a file's operations are read as real tools read them, with the file's
//! `$expand=groupPolicyOperations`, once per file per GraphQL request, and lists and lookups are
//! answered from that read (see [`expand`]); with `--graph-navigation-reads` a lookup batch goes
//! out as Graph `$batch` calls of at most 20 sub-requests (see [`batch`]) and list cursors carry
//! only what Graph gave us for that collection, signed (see [`paging`]). Writes use the routes
//! GRAPH.md names; a create answered without a body is read back (see [`created`]).
//! Subscriptions are served by shared pollers (see [`poller`]).
//!
//! Every request that reaches Graph is paid from the caller's [`RequestBudget`] first
//! (Graph `$batch` sub-requests, list pages and retries each count, as Intune counts them), and
//! identical list calls of one GraphQL request are made once. Pollers are not charged to the
//! request that started them.
//!
//! [`RequestBudget`]: super::RequestBudget

mod answer_room;
mod api;
mod batch;
mod client;
mod created;
mod envelope;
mod expand;
mod files;
mod files_wire;
mod links;
mod pacing;
mod paging;
mod poller;
mod raw;
mod reply;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::budget::ListCall;
use super::cursor::CursorCodec;
use super::identity::Claims;
use super::tenant_budget::TenantBudget;
use super::{Backend, BearerToken, Caller, FileLookups, FileWatch, Lookups, Watch};
use crate::config::Config;
use crate::domain::files::{DefinitionFile, FileAction, FilePage, NewDefinitionFile};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::{Code, Error};
use crate::shared_state::Redis;
use api::GraphApi;
use client::{GraphClient, GraphRequest};

pub use client::parse_retry_after;

/// Forwards every operation to Microsoft Graph.
pub struct GraphBackend {
    api: Arc<GraphApi>,
    cursors: CursorCodec,
    pollers: poller::PollerRegistry,
    expand: expand::ExpandReads,
}

impl GraphBackend {
    /// A backend for the Graph at `config.graph_url`, its tenant budgets in this process or,
    /// with `--redis-url`, in Redis.
    pub fn new(config: &Config, cursors: CursorCodec) -> Result<Self, String> {
        Self::with_redis(config, cursors, Redis::from_config(config)?)
    }

    /// A backend for the Graph at `config.graph_url` sharing tenant budgets through `redis`.
    pub fn with_redis(
        config: &Config,
        cursors: CursorCodec,
        redis: Option<Arc<Redis>>,
    ) -> Result<Self, String> {
        let client = GraphClient::new(
            &config.graph_url,
            config.graph_connect_timeout,
            config.graph_timeout,
        )?
        .with_max_body(config.graph_max_body_bytes)
        .with_answer_bytes_in_flight(config.graph_answer_bytes_in_flight)
        .with_tenant_budget(Arc::new(TenantBudget::new(config, redis)));
        let api = Arc::new(GraphApi::new(client, config.graph_navigation_reads));
        Ok(GraphBackend {
            pollers: poller::PollerRegistry::new(Arc::clone(&api), config.poll_interval),
            api,
            cursors,
            expand: expand::ExpandReads::default(),
        })
    }

    /// Sends `request` with the retry policy (see [`client`]).
    async fn call(
        &self,
        caller: &Caller,
        request: GraphRequest,
    ) -> Result<Option<serde_json::Value>, Error> {
        self.api.client().call(caller, &request).await
    }
}

impl GraphBackend {
    /// One operation, whole; `None` when it does not exist. From its file's `$expand` read
    /// by default, else by a plain GET of the navigation route.
    async fn read_operation(
        &self,
        caller: &Caller,
        key: OperationKey,
    ) -> Result<Option<Operation>, Error> {
        if !self.api.navigation_reads() {
            return self.operation_expanded(caller, key).await;
        }
        let body = self
            .call(caller, GraphRequest::get(self.api.operation(key)))
            .await?;
        body.map(|b| wire::operation(key.definition_file_id, &b))
            .transpose()
    }
}

fn upstream_shape(what: &str) -> Error {
    Error::upstream(
        Code::UpstreamError,
        format!("Microsoft Graph returned {what}"),
    )
}

#[async_trait]
impl Backend for GraphBackend {
    fn vouched_claims(&self, token: &BearerToken) -> Option<Arc<Claims>> {
        self.api.client().vouched().claims(token)
    }

    async fn get_many(&self, caller: &Caller, keys: &[OperationKey]) -> Lookups {
        if !self.api.navigation_reads() {
            return self.lookups_expanded(caller, keys).await;
        }
        if let [key] = keys {
            let outcome = self.read_operation(caller, *key).await;
            tracing::debug!(keys = 1, upstream_calls = 1, "lookup as a plain GET");
            return match outcome {
                Ok(Some(op)) => [(*key, Ok(op))].into_iter().collect(),
                Ok(None) => Lookups::new(),
                Err(e) => [(*key, Err(e))].into_iter().collect(),
            };
        }
        batch::get_many(
            &self.api,
            caller,
            keys,
            |key| self.api.operation(*key),
            |key, body| wire::operation(key.definition_file_id, body),
        )
        .await
    }

    async fn list(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        let call = ListCall {
            definition_file_id,
            first,
            after: after.map(str::to_owned),
        };
        if !self.api.navigation_reads() {
            return self
                .list_expanded(caller, definition_file_id, first, after)
                .await;
        }
        caller
            .budget
            .list_once(call.clone(), self.list_pages(caller, call))
            .await
    }

    async fn create(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
    ) -> Result<Operation, Error> {
        let body = wire::create_body(&input)?;
        let url = self.api.operations(definition_file_id, &[]);
        let answer = self
            .api
            .client()
            .call_for_answer(caller, &GraphRequest::post(url, Some(body)))
            .await;
        // After the write, whatever its outcome: a list read before it is stale now.
        caller.budget.forget_lists();
        let answer = answer?;
        match answer.body {
            Some(body) if body.get("id").is_some() => wire::operation(definition_file_id, &body),
            // 204 or 202: created, but Graph did not say what; never POST again.
            _ => {
                self.find_created(caller, definition_file_id, &input, answer.location)
                    .await
            }
        }
    }

    async fn update(
        &self,
        caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error> {
        let body = wire::patch_body(&patch)?;
        let reply = self
            .call(caller, GraphRequest::patch(self.api.operation(key), body))
            .await;
        caller.budget.forget_lists();
        // 200 carries the entity; Intune's usual 204 does not, so the new state is read.
        match reply? {
            Some(body) => wire::operation(key.definition_file_id, &body),
            None => self.read_operation(caller, key).await?.ok_or_else(|| {
                Error::NotFound(format!(
                    "Operation {} vanished right after its update",
                    key.id
                ))
            }),
        }
    }

    async fn delete(&self, caller: &Caller, key: OperationKey) -> Result<(), Error> {
        let outcome = self
            .call(caller, GraphRequest::delete(self.api.operation(key)))
            .await;
        caller.budget.forget_lists();
        outcome.map(|_| ())
    }

    async fn watch(&self, caller: &Caller, key: OperationKey) -> Result<Watch, Error> {
        let snapshots = self
            .pollers
            .watch(caller, poller::Target::Operation(key))
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
