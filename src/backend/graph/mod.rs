//! The Graph REST backend: each operation of the seam becomes the Graph call Microsoft's SDKs
//! would make, with the caller's own token, and Graph's answer becomes domain values.
//!
//! By default a file's operations are read as real tools read them, with the file's
//! `$expand=groupPolicyOperations`, once per file per GraphQL request, and lists and lookups are
//! answered from that read (see [`expand`]); with `--graph-navigation-reads` a lookup batch goes
//! out as Graph `$batch` calls of at most 20 sub-requests (see [`batch`]) and list cursors carry
//! only what Graph gave us for that collection, signed (see [`operations`]). Writes use the
//! routes GRAPH.md names; a create answered without a body is read back (see [`created`]).
//! Subscriptions are served by shared pollers (see [`poller`]).
//!
//! Each resource has its module, with its wire types and its calls: [`operations`] and
//! [`files`]; what they share (the client, `$batch`, lookups by key, nextLinks, envelopes,
//! pacing, pollers, `$expand` reads, read-back after a create) sits beside them. This module
//! only hands each seam call to its resource.
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
mod links;
mod lookups;
mod operations;
mod pacing;
mod poller;
mod raw;
mod reply;

use std::sync::Arc;

use async_trait::async_trait;

use super::cursor::CursorCodec;
use super::identity::Claims;
use super::tenant_budget::TenantBudget;
use super::{Backend, BearerToken, Caller, FileLookups, FileWatch, Lookups, Watch};
use crate::config::GraphConfig;
use crate::config::cluster::BudgetConfig;
use crate::domain::files::{DefinitionFile, FileAction, FilePage, NewDefinitionFile};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::Error;
use crate::shared_state::Redis;
use api::GraphApi;
use client::{Answer, GraphClient, GraphRequest};

/// Forwards every operation to Microsoft Graph.
pub struct GraphBackend {
    api: Arc<GraphApi>,
    cursors: CursorCodec,
    pollers: poller::PollerRegistry,
    expand: expand::ExpandReads,
}

impl GraphBackend {
    /// A backend for the Graph `config` names, its tenant budgets as `budget` sets them, in
    /// this process or shared through `redis` when given.
    pub fn new(
        config: &GraphConfig,
        budget: &BudgetConfig,
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
        .with_tenant_budget(Arc::new(TenantBudget::new(budget, redis)));
        let api = Arc::new(GraphApi::new(client, config.graph_navigation_reads));
        Ok(GraphBackend {
            pollers: poller::PollerRegistry::new(Arc::clone(&api), config.poll_interval),
            api,
            cursors,
            expand: expand::ExpandReads::default(),
        })
    }

    /// Sends a write, giving back Graph's answer and its `Location`. Whatever the outcome,
    /// what the request read before it (lists, `$expand` reads) is stale now, and forgotten.
    async fn write<T: envelope::Body>(
        &self,
        caller: &Caller,
        request: GraphRequest,
    ) -> Result<(Answer<T>, Option<String>), Error> {
        let answer = self.api.client().call_located(caller, &request).await;
        caller.budget.forget_lists();
        answer
    }
}

#[async_trait]
impl Backend for GraphBackend {
    fn vouched_claims(&self, token: &BearerToken) -> Option<Arc<Claims>> {
        self.api.client().vouched().claims(token)
    }

    async fn get_many(&self, caller: &Caller, keys: &[OperationKey]) -> Lookups {
        operations::get_many(self, caller, keys).await
    }

    async fn list(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        first: usize,
        after: Option<&str>,
    ) -> Result<Page, Error> {
        operations::list(self, caller, definition_file_id, first, after).await
    }

    async fn create(
        &self,
        caller: &Caller,
        definition_file_id: Guid,
        input: NewOperation,
    ) -> Result<Operation, Error> {
        operations::create(self, caller, definition_file_id, input).await
    }

    async fn update(
        &self,
        caller: &Caller,
        key: OperationKey,
        patch: OperationPatch,
    ) -> Result<Operation, Error> {
        operations::update(self, caller, key, patch).await
    }

    async fn delete(&self, caller: &Caller, key: OperationKey) -> Result<(), Error> {
        operations::delete(self, caller, key).await
    }

    async fn watch(&self, caller: &Caller, key: OperationKey) -> Result<Watch, Error> {
        operations::watch(self, caller, key).await
    }

    async fn get_files(&self, caller: &Caller, ids: &[Guid]) -> FileLookups {
        files::get_files(self, caller, ids).await
    }

    async fn list_files(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<FilePage, Error> {
        files::list_files(self, caller, first, after).await
    }

    async fn upload_file(
        &self,
        caller: &Caller,
        file: NewDefinitionFile,
    ) -> Result<DefinitionFile, Error> {
        files::upload_file(self, caller, file).await
    }

    async fn act_on_file(
        &self,
        caller: &Caller,
        id: Guid,
        action: FileAction,
    ) -> Result<DefinitionFile, Error> {
        files::act_on_file(self, caller, id, action).await
    }

    async fn delete_file(&self, caller: &Caller, id: Guid) -> Result<(), Error> {
        files::delete_file(self, caller, id).await
    }

    async fn watch_file(&self, caller: &Caller, id: Guid) -> Result<FileWatch, Error> {
        files::watch_file(self, caller, id).await
    }

    fn figures(&self) -> crate::telemetry::metrics::BackendFigures {
        self.api.client().figures().clone()
    }
}
