//! An in-process fake of Microsoft Graph beta's Intune `groupPolicyOperation` API.
//!
//! Why it exists: the gateway's Graph REST backend has to cope with what the real
//! upstream does (see `shared/GRAPH.md`): 201/200 on create, 204 *or* 200 on PATCH,
//! `@odata.nextLink` paging with opaque skip tokens, JSON `$batch` with sub-responses
//! in any order, throttling with `Retry-After`, Intune's error envelopes. None of that
//! can be exercised against the real service from CI, so this crate serves the same
//! wire protocol on `127.0.0.1:<random port>` and records every request it receives,
//! so tests can assert both what the gateway did with the answers and what it sent.
//!
//! Behaviour in short (paths relative to [`FakeGraph::base_url`], which ends in `/beta`):
//! - `POST .../groupPolicyUploadedDefinitionFiles/{fileId}/groupPolicyOperations`
//!   (201 with the entity; 204 or 202 without a body on demand)
//! - `PATCH|DELETE .../groupPolicyOperations/{id}`
//! - the `GET`s of those two navigation routes only after
//!   [`FakeGraph::set_navigation_reads`]: by default they are answered like every route
//!   Intune does not serve, 400 "No method match route template" (unknown routes too)
//! - the definition files themselves and their actions (`files.rs`)
//! - `POST /$batch` (max 20 sub-requests; answered in shuffled order by default)
//! - `Authorization: Bearer <token>` is required; the token `read-only` gets 403 on
//!   writes, the token `expired` gets 401.
//! - Canned answers ([`FakeGraph::inject`]) and slow answers ([`FakeGraph::set_delay`])
//!   on demand, also per `$batch` sub-request.
//!
//! Deliberate strictness (so gateway bugs show up here rather than in production):
//! unknown or duplicate query options, non-GUID ids (after percent-decoding) and unknown
//! body properties get 400; empty path segments (`//`, a trailing `/`) name no route. Raw
//! paths and queries are recorded byte for byte as received, so tests can also assert that
//! nothing odd was sent. Leniency where the real portal is lenient: bodies without
//! `@odata.type` and without optional members are accepted, and uploads are answered as the
//! captured portal traffic is (`uploadDateTime` "0001-01-01T00:00:00Z", empty language
//! lists). Where a behaviour is not established for the real service, the code says
//! "unverified".
//!
//! Where things live: `state.rs` (the stored entities and the settings), `serve.rs` (one
//! request's way through: record, delay, injection, routing, transport headers),
//! `operations.rs` and `files.rs` (the two resources), `batch.rs` (`$batch`),
//! `faults.rs` (what a test injects), `recording.rs` (what a test reads back) and
//! `odata.rs` (Graph's conventions: query options, ids, error bodies, skip tokens).
//!
//! Everything lives in memory; the server task ends with the test's Tokio runtime.

mod batch;
mod faults;
mod files;
mod odata;
mod operations;
mod recording;
mod serve;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;

pub use faults::{Canned, Match};
pub use recording::Recorded;

use state::GraphState;

/// Handle to a running fake Graph server. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeGraph {
    inner: Arc<Shared>,
}

struct Shared {
    /// `http://127.0.0.1:PORT`
    origin: String,
    state: Mutex<GraphState>,
}

impl FakeGraph {
    /// Starts the fake on `127.0.0.1:0` in a task of the current Tokio runtime.
    /// [`FakeGraph::base_url`] is then `http://127.0.0.1:PORT/beta` (Graph's version root).
    pub async fn spawn() -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake graph: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake graph: local addr");
        let fake = FakeGraph {
            inner: Arc::new(Shared {
                origin: format!("http://{addr}"),
                state: Mutex::new(GraphState::default()),
            }),
        };
        let app = Router::new()
            .fallback(serve::entry)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// `http://127.0.0.1:PORT/beta`, the version root to configure the gateway with.
    pub fn base_url(&self) -> String {
        format!("{}/beta", self.inner.origin)
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        self.inner.origin.clone()
    }

    /// The collection URL for a definition file (absolute).
    pub fn collection_url(&self, file_id: &str) -> String {
        format!(
            "{}/deviceManagement/groupPolicyUploadedDefinitionFiles/{file_id}/groupPolicyOperations",
            self.base_url()
        )
    }

    /// A fresh lower-case GUID, as Graph generates them.
    pub fn new_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    fn lock(&self) -> MutexGuard<'_, GraphState> {
        // A panicking test thread must not poison the fake for the others.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
