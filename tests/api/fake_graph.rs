//! An in-process fake of Microsoft Graph beta's Intune `groupPolicyOperation` API.
//!
//! Why it exists: the gateway's Graph REST backend has to cope with what the real
//! upstream does (see `shared/GRAPH.md`): 201/200 on create, 204 *or* 200 on PATCH,
//! `@odata.nextLink` paging with opaque skip tokens, JSON `$batch` with sub-responses
//! in any order, throttling with `Retry-After`, Intune's error envelopes. None of that
//! can be exercised against the real service from CI, so this module serves the same
//! wire protocol on `127.0.0.1:<random port>` and records every request it receives,
//! so tests can assert both what the gateway did with the answers and what it sent.
//!
//! Behaviour in short (paths relative to [`FakeGraph::base_url`], which ends in `/beta`):
//! - `GET|POST .../groupPolicyUploadedDefinitionFiles/{fileId}/groupPolicyOperations`
//! - `GET|PATCH|DELETE .../groupPolicyOperations/{id}`
//! - `POST /$batch` (max 20 sub-requests; answered in shuffled order by default)
//! - `Authorization: Bearer <token>` is required; the token `read-only` gets 403 on
//!   writes, the token `expired` gets 401.
//! - Canned answers ([`FakeGraph::inject`]) and slow answers ([`FakeGraph::set_delay`])
//!   on demand, also per `$batch` sub-request.
//!
//! Deliberate strictness (so gateway bugs show up here rather than in production):
//! unknown or duplicate query options, non-GUID ids (after percent-decoding) and unknown
//! body properties get 400; empty path segments (`//`, a trailing `/`) get 404. Raw paths
//! are recorded as received, so tests can also assert that nothing odd was sent.
//!
//! Everything lives in memory; the server task ends with the test's Tokio runtime.

// Different test binaries use different parts of this module.
#![allow(dead_code)]

#[path = "fake_graph_files.rs"]
mod files;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::{Map, Value, json};

/// The Content-Type Graph actually sends on JSON bodies (a client must not compare it
/// for equality with `application/json`).
pub const GRAPH_JSON_CONTENT_TYPE: &str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

/// The `@odata.type` a request body may carry.
pub const ODATA_TYPE: &str = "#microsoft.graph.groupPolicyOperation";

/// Members of `groupPolicyOperationType`, in numeric order.
pub const OPERATION_TYPES: [&str; 7] = [
    "none",
    "upload",
    "uploadNewVersion",
    "addLanguageFiles",
    "removeLanguageFiles",
    "updateLanguageFiles",
    "remove",
];

/// Members of `groupPolicyOperationStatus`, in numeric order.
pub const OPERATION_STATUSES: [&str; 4] = ["unknown", "inProgress", "success", "failed"];

/// The entity's properties, as Graph spells them.
const PROPERTIES: [&str; 5] = [
    "id",
    "operationType",
    "operationStatus",
    "statusDetails",
    "lastModifiedDateTime",
];

const MAX_BATCH: usize = 20;
const MAX_BODY: usize = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

/// One request the fake received: a plain HTTP request, or one sub-request of a `$batch`
/// (`in_batch == true`). The outer `$batch` POST is recorded first, then its
/// sub-requests in the order they appear in the batch body.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Upper-case HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// The raw path as received, still percent-encoded, without the query, e.g.
    /// `/beta/deviceManagement/...`. For a batch sub-request it is `/beta/` followed by the
    /// sub-request's `url` up to `?` (one leading `/` in that url is not doubled).
    pub path: String,
    /// The raw query string (without `?`), if the request had one.
    pub query: Option<String>,
    /// Request headers. For a batch sub-request: its own `headers` plus the outer
    /// request's `Authorization` (which is what Graph authenticates a sub-request with).
    pub headers: HeaderMap,
    /// The body parsed as JSON, when there was a body and it parsed.
    pub body: Option<Value>,
    /// The body as (lossy UTF-8) text, when there was a non-empty body.
    pub body_text: Option<String>,
    /// True for a sub-request unpacked from a `$batch`.
    pub in_batch: bool,
}

impl Recorded {
    /// The value of header `name` (case-insensitive), if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `path` with percent-escapes decoded (`None` if that is not valid UTF-8).
    pub fn decoded_path(&self) -> Option<String> {
        percent_decode(&self.path)
    }
}

/// Selects requests, for [`FakeGraph::inject`], [`FakeGraph::set_delay`] and
/// [`FakeGraph::count`]. All set criteria must hold; an empty `Match` matches everything
/// (including the outer `$batch` POST: add `.in_batch(true)` to aim at sub-requests only).
#[derive(Clone, Debug, Default)]
pub struct Match {
    /// HTTP method, compared case-insensitively.
    pub method: Option<String>,
    /// Substring of the raw (percent-encoded) path, see [`Recorded::path`].
    pub path_contains: Option<String>,
    /// Substring of the raw query string (a request without a query never matches).
    pub query_contains: Option<String>,
    /// Only plain requests (`false`) or only batch sub-requests (`true`).
    pub in_batch: Option<bool>,
}

impl Match {
    /// Matches every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Matches requests with this HTTP method.
    pub fn method(method: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            ..Match::default()
        }
    }

    /// Matches requests whose raw path contains `fragment`.
    pub fn path(fragment: &str) -> Match {
        Match::any().path_contains(fragment)
    }

    /// Additionally require the HTTP method.
    pub fn with_method(mut self, method: &str) -> Match {
        self.method = Some(method.to_string());
        self
    }

    /// Additionally require the raw path to contain `fragment`.
    pub fn path_contains(mut self, fragment: &str) -> Match {
        self.path_contains = Some(fragment.to_string());
        self
    }

    /// Additionally require the raw query to contain `fragment`.
    pub fn query_contains(mut self, fragment: &str) -> Match {
        self.query_contains = Some(fragment.to_string());
        self
    }

    /// Additionally require the request to be (or not be) a batch sub-request.
    pub fn in_batch(mut self, yes: bool) -> Match {
        self.in_batch = Some(yes);
        self
    }

    /// Whether a recorded request satisfies this match.
    pub fn matches(&self, r: &Recorded) -> bool {
        self.matches_parts(&r.method, &r.path, r.query.as_deref(), r.in_batch)
    }

    fn matches_parts(&self, method: &str, path: &str, query: Option<&str>, in_batch: bool) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(p) = &self.path_contains
            && !path.contains(p.as_str())
        {
            return false;
        }
        if let Some(q) = &self.query_contains {
            match query {
                Some(query) if query.contains(q.as_str()) => {}
                _ => return false,
            }
        }
        if let Some(b) = self.in_batch
            && b != in_batch
        {
            return false;
        }
        true
    }
}

/// A canned response served instead of normal handling (see [`FakeGraph::inject`]).
///
/// For a batch sub-request it becomes that sub-response: `status`, `headers` and `body`
/// (a `raw_body` appears there as a JSON string).
#[derive(Clone, Debug)]
pub struct Canned {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (a `Content-Type` here replaces the default one).
    pub headers: Vec<(String, String)>,
    /// JSON body. If it contains `error.innerError` whose `request-id`,
    /// `client-request-id` or `date` is an empty string, those are filled in when served.
    pub body: Option<Value>,
    /// Raw body text; wins over `body` when set (for unreadable-body tests).
    pub raw_body: Option<String>,
}

impl Canned {
    /// A response with a JSON body.
    pub fn json(status: u16, body: Value) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: Some(body),
            raw_body: None,
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: None,
            raw_body: None,
        }
    }

    /// A response whose body is `text` verbatim, labelled `Content-Type: application/json`
    /// (as a truncated or corrupt JSON answer would be); override with `.header(..)`.
    pub fn raw(status: u16, text: &str) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: None,
            raw_body: Some(text.to_string()),
        }
    }

    /// Graph's error envelope
    /// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`;
    /// the innerError values are filled in per request when served.
    pub fn graph_error(status: u16, code: &str, message: &str) -> Canned {
        Canned::json(
            status,
            json!({"error": {"code": code, "message": message,
                "innerError": {"date": "", "request-id": "", "client-request-id": ""}}}),
        )
    }

    /// Like [`Canned::graph_error`], but with Intune's habit of a JSON document inside
    /// `error.message`; its `Message` member starts with `human`.
    pub fn intune_error(status: u16, code: &str, human: &str) -> Canned {
        Canned::graph_error(
            status,
            code,
            &intune_message(human, &uuid::Uuid::new_v4().to_string(), None),
        )
    }

    /// 429 `TooManyRequests` with `Retry-After: <retry_after>` (verbatim, so `"2.128"` or
    /// an HTTP date can be tested too).
    pub fn throttled(retry_after: &str) -> Canned {
        Canned::graph_error(
            429,
            "TooManyRequests",
            "Too many requests from Identifier: tenant + app under category: IntuneGroupPolicy. Please try again later.",
        )
        .header("Retry-After", retry_after)
    }

    /// Adds (or replaces, case-insensitively) a response header.
    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Handle to a running fake Graph server. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeGraph {
    inner: Arc<Inner>,
}

struct Inner {
    /// `http://127.0.0.1:PORT`
    origin: String,
    st: Mutex<St>,
}

struct Injection {
    m: Match,
    resp: Canned,
    remaining: usize,
}

struct St {
    /// Lower-cased file id -> entities in list order.
    files: HashMap<String, Vec<Value>>,
    /// Definition file entities in list order (see `fake_graph_files.rs`).
    defs: Vec<Value>,
    /// Uploads finish on their own after this long (`None`: they stay in progress).
    auto_process: Option<Duration>,
    requests: Vec<Recorded>,
    injections: Vec<Injection>,
    delays: Vec<(Match, Duration)>,
    page_size: usize,
    patch_no_content: bool,
    create_status: u16,
    shuffle_batch: bool,
    leading_empty_page: bool,
    /// skiptoken -> (lower-cased file id, offset)
    skiptokens: HashMap<String, (String, usize)>,
    /// Last timestamp handed out, in 100 ns ticks since the epoch (keeps them increasing).
    last_ticks: u128,
}

// ---------------------------------------------------------------------------------------
// FakeGraph API
// ---------------------------------------------------------------------------------------

impl FakeGraph {
    /// Starts the fake on `127.0.0.1:0` in a task of the current Tokio runtime.
    /// [`FakeGraph::base_url`] is then `http://127.0.0.1:PORT/beta` (Graph's version root).
    pub async fn spawn() -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake graph: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake graph: local addr");
        let fake = FakeGraph {
            inner: Arc::new(Inner {
                origin: format!("http://{addr}"),
                st: Mutex::new(St {
                    files: HashMap::new(),
                    defs: Vec::new(),
                    auto_process: None,
                    requests: Vec::new(),
                    injections: Vec::new(),
                    delays: Vec::new(),
                    page_size: 100,
                    patch_no_content: true,
                    create_status: 201,
                    shuffle_batch: true,
                    leading_empty_page: false,
                    skiptokens: HashMap::new(),
                    last_ticks: 0,
                }),
            }),
        };
        let app = Router::new().fallback(entry).with_state(fake.clone());
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

    /// Inserts an entity (raw Graph JSON object including a string `"id"`) at the end of
    /// definition file `file_id`'s list. Stored verbatim (odd values such as unknown enum
    /// members are kept, to test the gateway's robustness).
    ///
    /// Panics if `file_id` or the entity's id is not a hyphenated GUID: Graph answers 400
    /// for such ids, so a test using them could never read them back.
    pub fn insert(&self, file_id: &str, entity: Value) {
        assert!(
            is_guid(file_id),
            "FakeGraph::insert: file id {file_id:?} is not a GUID (Graph would answer 400)"
        );
        let id = entity
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("FakeGraph::insert: entity has no string \"id\": {entity}"));
        assert!(
            is_guid(id),
            "FakeGraph::insert: entity id {id:?} is not a GUID (Graph would answer 400)"
        );
        if !self.file_exists(file_id) {
            self.insert_file(file_id);
        }
        let mut st = self.lock();
        st.files
            .entry(file_id.to_ascii_lowercase())
            .or_default()
            .push(entity);
    }

    /// Inserts a well-formed operation with a fresh id and `lastModifiedDateTime` = now;
    /// returns the id.
    pub fn insert_op(
        &self,
        file_id: &str,
        operation_type: &str,
        status: &str,
        details: Option<&str>,
    ) -> String {
        let id = FakeGraph::new_id();
        let ts = self.lock().next_timestamp();
        self.insert(
            file_id,
            json!({"id": id, "operationType": operation_type, "operationStatus": status,
                   "statusDetails": details, "lastModifiedDateTime": ts}),
        );
        id
    }

    /// The entities of `file_id`, in list order, as stored.
    pub fn entities(&self, file_id: &str) -> Vec<Value> {
        self.lock()
            .files
            .get(&file_id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// One stored entity, if present.
    pub fn entity(&self, file_id: &str, id: &str) -> Option<Value> {
        let st = self.lock();
        let list = st.files.get(&file_id.to_ascii_lowercase())?;
        list.iter().find(|e| id_eq(e, id)).cloned()
    }

    /// Merges `changes` (a JSON object, unvalidated) into a stored entity, as the service
    /// itself would when work progresses (e.g. `{"operationStatus":"success"}`), and bumps
    /// `lastModifiedDateTime`. Returns false if the entity does not exist.
    pub fn update(&self, file_id: &str, id: &str, changes: Value) -> bool {
        let mut st = self.lock();
        let ts = st.next_timestamp();
        let Some(e) = st
            .files
            .get_mut(&file_id.to_ascii_lowercase())
            .and_then(|l| l.iter_mut().find(|e| id_eq(e, id)))
        else {
            return false;
        };
        if let (Some(obj), Some(ch)) = (e.as_object_mut(), changes.as_object()) {
            for (k, v) in ch {
                obj.insert(k.clone(), v.clone());
            }
            obj.insert("lastModifiedDateTime".into(), Value::String(ts));
        }
        true
    }

    /// Every request received so far (outer `$batch` POSTs and, flagged `in_batch`, each
    /// of their sub-requests), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// How many recorded requests satisfy `m`.
    pub fn count(&self, m: &Match) -> usize {
        self.lock().requests.iter().filter(|r| m.matches(r)).count()
    }

    /// The next `times` requests matching `m` get `resp` instead of normal handling (no
    /// auth check, no state change). Applies to batch sub-requests too (the canned answer
    /// becomes the sub-response) and to the outer `$batch` POST. When several injections
    /// match, the earliest queued one is used first.
    pub fn inject(&self, m: Match, resp: Canned, times: usize) {
        if times > 0 {
            self.lock().injections.push(Injection {
                m,
                resp,
                remaining: times,
            });
        }
    }

    /// How many injected responses are still waiting to be served (summed over all).
    pub fn pending_injections(&self) -> usize {
        self.lock().injections.iter().map(|i| i.remaining).sum()
    }

    /// Drops all queued injections.
    pub fn clear_injections(&self) {
        self.lock().injections.clear();
    }

    /// Server-driven page size cap (default 100, minimum 1); a smaller `$top` wins.
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = n.max(1);
    }

    /// PATCH answers 204 with no body (`true`, the default, as Intune does) or 200 with the
    /// updated entity (`false`, as the docs say).
    pub fn set_patch_no_content(&self, yes: bool) {
        self.lock().patch_no_content = yes;
    }

    /// Status of a successful POST: 201 (default) or 200; both carry the entity.
    pub fn set_create_status(&self, status: u16) {
        self.lock().create_status = status;
    }

    /// `$batch` sub-responses in random order (default `true`; with 2 or more responses
    /// the order is then guaranteed to differ from the request order).
    pub fn set_shuffle_batch(&self, yes: bool) {
        self.lock().shuffle_batch = yes;
    }

    /// When on, the first page of every non-empty listing is empty but carries an
    /// `@odata.nextLink` (Graph may do that; clients must keep following the link).
    pub fn set_leading_empty_page(&self, yes: bool) {
        self.lock().leading_empty_page = yes;
    }

    /// Every request matching `m` is answered only after `d` (the request is recorded on
    /// arrival). The first matching delay applies; stays in force until
    /// [`FakeGraph::clear_delays`].
    pub fn set_delay(&self, m: Match, d: Duration) {
        self.lock().delays.push((m, d));
    }

    /// Removes all delays.
    pub fn clear_delays(&self) {
        self.lock().delays.clear();
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        // A panicking test thread must not poison the fake for the others.
        self.inner.st.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// ---------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------

/// A request, plain or unpacked from a batch.
struct Req {
    method: String,
    raw_path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
    in_batch: bool,
}

enum ReplyBody {
    None,
    Json(Value),
    Raw(String),
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: ReplyBody,
}

impl Reply {
    fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(v),
        }
    }
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::None,
        }
    }
    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

/// Per-(sub-)request identifiers.
struct Ctx {
    request_id: String,
    client_request_id: Option<String>,
}

impl Ctx {
    fn new(headers: &HeaderMap) -> Ctx {
        Ctx {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    fn error(&self, status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": {"code": code, "message": message, "innerError": {
                "date": inner_error_date(),
                "request-id": self.request_id,
                "client-request-id": self.client_request_id.clone().unwrap_or_else(|| self.request_id.clone()),
            }}}),
        )
    }

    fn bad_request(&self, message: &str) -> Reply {
        self.error(400, "BadRequest", message)
    }
}

async fn entry(State(fake): State<FakeGraph>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let req = Req {
        method: parts.method.as_str().to_ascii_uppercase(),
        raw_path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        in_batch: false,
    };
    let reply = if is_batch_path(&req.raw_path) {
        fake.serve_batch(req).await
    } else {
        fake.serve_plain(req).await
    };
    to_response(reply)
}

fn to_response(reply: Reply) -> Response {
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            b = b.header(k, v);
        }
    }
    let body = match reply.body {
        ReplyBody::None => Body::empty(),
        ReplyBody::Json(v) => Body::from(serde_json::to_vec(&v).unwrap_or_default()),
        ReplyBody::Raw(s) => Body::from(s),
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn is_batch_path(raw: &str) -> bool {
    raw == "/beta/$batch" || raw.eq_ignore_ascii_case("/beta/%24batch")
}

impl FakeGraph {
    fn record(&self, req: &Req) {
        let text = (!req.body.is_empty()).then(|| String::from_utf8_lossy(&req.body).into_owned());
        let body = (!req.body.is_empty())
            .then(|| serde_json::from_slice(&req.body).ok())
            .flatten();
        self.lock().requests.push(Recorded {
            method: req.method.clone(),
            path: req.raw_path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body,
            body_text: text,
            in_batch: req.in_batch,
        });
    }

    fn delay_for(&self, req: &Req) -> Option<Duration> {
        let st = self.lock();
        st.delays
            .iter()
            .find(|(m, _)| {
                m.matches_parts(
                    &req.method,
                    &req.raw_path,
                    req.query.as_deref(),
                    req.in_batch,
                )
            })
            .map(|(_, d)| *d)
    }

    fn take_injection(&self, req: &Req) -> Option<Canned> {
        let mut st = self.lock();
        let idx = st.injections.iter().position(|i| {
            i.m.matches_parts(
                &req.method,
                &req.raw_path,
                req.query.as_deref(),
                req.in_batch,
            )
        })?;
        let inj = &mut st.injections[idx];
        inj.remaining -= 1;
        let resp = inj.resp.clone();
        if inj.remaining == 0 {
            st.injections.remove(idx);
        }
        Some(resp)
    }

    /// Record, delay, injection: common prologue. Returns a reply if an injection fired.
    async fn prologue(&self, req: &Req, ctx: &Ctx) -> Option<Reply> {
        self.record(req);
        if let Some(d) = self.delay_for(req) {
            tokio::time::sleep(d).await;
        }
        self.take_injection(req).map(|c| canned_reply(c, ctx))
    }

    /// A plain request or a batch sub-request.
    async fn serve_plain(&self, req: Req) -> Reply {
        let ctx = Ctx::new(&req.headers);
        let reply = match self.prologue(&req, &ctx).await {
            Some(r) => r,
            None => self.route(&ctx, &req),
        };
        finish(&ctx, reply, req.in_batch)
    }

    async fn serve_batch(&self, req: Req) -> Reply {
        let ctx = Ctx::new(&req.headers);
        if let Some(r) = self.prologue(&req, &ctx).await {
            return finish(&ctx, r, false);
        }
        let reply = match self.batch(&ctx, &req).await {
            Ok(r) | Err(r) => r,
        };
        finish(&ctx, reply, false)
    }

    async fn batch(&self, ctx: &Ctx, req: &Req) -> Result<Reply, Reply> {
        check_token(ctx, &req.headers)?;
        if req.method != "POST" {
            return Err(ctx.error(405, "BadRequest", "The batch endpoint only accepts POST."));
        }
        if let Some(q) = &req.query
            && !q.is_empty()
        {
            return Err(ctx.bad_request("Query options are not supported on $batch."));
        }
        check_json_content_type(ctx, &req.headers)?;
        let malformed =
            |why: &str| ctx.bad_request(&format!("Invalid batch payload format. {why}"));
        let payload: Value = serde_json::from_slice(&req.body)
            .map_err(|e| malformed(&format!("Body is not JSON: {e}")))?;
        let list = payload
            .get("requests")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("Expected an object with a 'requests' array."))?;
        if list.is_empty() {
            return Err(malformed("The 'requests' array is empty."));
        }
        if list.len() > MAX_BATCH {
            return Err(ctx.bad_request(&format!(
                "Invalid batch payload format. Number of batch requests ({}) exceeds the limit of {MAX_BATCH}.",
                list.len()
            )));
        }

        struct Sub {
            id: String,
            method: String,
            url: String,
            headers: HeaderMap,
            body: Option<Value>,
        }
        let mut subs = Vec::with_capacity(list.len());
        let mut seen: Vec<String> = Vec::new();
        for item in list {
            let obj = item
                .as_object()
                .ok_or_else(|| malformed("Each request must be an object."))?;
            let id = match obj.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => return Err(malformed("Each request needs a non-empty string 'id'.")),
            };
            let lower = id.to_lowercase();
            if seen.contains(&lower) {
                return Err(ctx.bad_request(&format!(
                    "Invalid batch payload format. Request Id '{id}' is not unique (ids are compared case-insensitively)."
                )));
            }
            seen.push(lower);
            let method = obj
                .get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(&format!("Request '{id}' needs a string 'method'.")))?
                .to_ascii_uppercase();
            let url = obj
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(&format!("Request '{id}' needs a string 'url'.")))?
                .to_string();
            let mut headers = HeaderMap::new();
            match obj.get("headers") {
                None | Some(Value::Null) => {}
                Some(Value::Object(h)) => {
                    for (k, v) in h {
                        let v = v.as_str().ok_or_else(|| {
                            malformed(&format!("Request '{id}': header '{k}' must be a string."))
                        })?;
                        let (Ok(name), Ok(value)) =
                            (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v))
                        else {
                            return Err(malformed(&format!(
                                "Request '{id}': invalid header '{k}'."
                            )));
                        };
                        headers.append(name, value);
                    }
                }
                Some(_) => {
                    return Err(malformed(&format!(
                        "Request '{id}': 'headers' must be an object."
                    )));
                }
            }
            let body = match obj.get("body") {
                None | Some(Value::Null) => None,
                Some(b) => Some(b.clone()),
            };
            if body.is_some() && !headers.contains_key(axum::http::header::CONTENT_TYPE) {
                return Err(ctx.bad_request(&format!(
                    "Invalid batch payload format. Request '{id}' has a body but no Content-Type header."
                )));
            }
            subs.push(Sub {
                id,
                method,
                url,
                headers,
                body,
            });
        }

        let outer_auth = req.headers.get(axum::http::header::AUTHORIZATION).cloned();
        let mut responses = Vec::with_capacity(subs.len());
        for sub in subs {
            let reply = if sub.url.starts_with("http://") || sub.url.starts_with("https://") {
                let sctx = Ctx::new(&sub.headers);
                finish(
                    &sctx,
                    sctx.bad_request("Batch request URLs must be relative to the version root."),
                    true,
                )
            } else {
                let rel = sub.url.strip_prefix('/').unwrap_or(&sub.url);
                let (path, query) = match rel.split_once('?') {
                    Some((p, q)) => (p, Some(q.to_string())),
                    None => (rel, None),
                };
                let mut headers = sub.headers;
                headers.remove(axum::http::header::AUTHORIZATION);
                if let Some(a) = &outer_auth {
                    headers.insert(axum::http::header::AUTHORIZATION, a.clone());
                }
                let body = sub
                    .body
                    .map(|b| serde_json::to_vec(&b).unwrap_or_default())
                    .unwrap_or_default();
                self.serve_plain(Req {
                    method: sub.method,
                    raw_path: format!("/beta/{path}"),
                    query,
                    headers,
                    body,
                    in_batch: true,
                })
                .await
            };
            let mut h = Map::new();
            for (k, v) in reply.headers {
                h.insert(k, Value::String(v));
            }
            let mut r = Map::new();
            r.insert("id".into(), Value::String(sub.id));
            r.insert("status".into(), json!(reply.status));
            r.insert("headers".into(), Value::Object(h));
            match reply.body {
                ReplyBody::None => {}
                ReplyBody::Json(v) => {
                    r.insert("body".into(), v);
                }
                ReplyBody::Raw(s) => {
                    r.insert("body".into(), Value::String(s));
                }
            }
            responses.push(Value::Object(r));
        }
        if self.lock().shuffle_batch && responses.len() >= 2 {
            let before: Vec<Value> = responses.iter().map(|r| r["id"].clone()).collect();
            fastrand::shuffle(&mut responses);
            let after: Vec<Value> = responses.iter().map(|r| r["id"].clone()).collect();
            if before == after {
                responses.rotate_left(1);
            }
        }
        Ok(Reply::json(200, json!({ "responses": responses })))
    }

    /// Auth, routing and the resource logic (no record/delay/injection here).
    fn route(&self, ctx: &Ctx, req: &Req) -> Reply {
        match self.route_inner(ctx, req) {
            Ok(r) | Err(r) => r,
        }
    }

    fn route_inner(&self, ctx: &Ctx, req: &Req) -> Result<Reply, Reply> {
        let token = check_token(ctx, &req.headers)?;
        let not_found = || {
            ctx.error(
                404,
                "UnknownError",
                &format!(
                    "No OData route exists that match template for '{}'.",
                    req.raw_path
                ),
            )
        };
        let Some(rest) = req.raw_path.strip_prefix("/beta/") else {
            return Err(not_found());
        };
        let mut segs = Vec::new();
        for raw in rest.split('/') {
            let seg = percent_decode(raw).ok_or_else(|| {
                ctx.bad_request(&format!(
                    "Invalid percent-encoding in path segment '{raw}'."
                ))
            })?;
            segs.push(seg);
        }
        if segs.len() == 1 && segs[0].eq_ignore_ascii_case("$batch") {
            return Err(ctx.bad_request("Nested $batch requests are not supported."));
        }
        if let Some(reply) = self.route_files(ctx, req, &segs, &token) {
            return reply;
        }
        let shape_ok = (segs.len() == 4 || segs.len() == 5)
            && segs[0].eq_ignore_ascii_case("deviceManagement")
            && segs[1].eq_ignore_ascii_case("groupPolicyUploadedDefinitionFiles")
            && segs[3].eq_ignore_ascii_case("groupPolicyOperations")
            && segs.iter().all(|s| !s.is_empty());
        if !shape_ok {
            return Err(not_found());
        }
        let file_id = segs[2].as_str();
        if !is_guid(file_id) {
            return Err(ctx.bad_request(&format!(
                "Invalid key '{file_id}': groupPolicyUploadedDefinitionFile id must be a GUID."
            )));
        }
        let item_id = segs.get(4).map(String::as_str);
        if let Some(id) = item_id
            && !is_guid(id)
        {
            return Err(ctx.bad_request(&format!(
                "Invalid key '{id}': groupPolicyOperation id must be a GUID."
            )));
        }
        let write = matches!(req.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE");
        if write && token == "read-only" {
            return Err(ctx.error(
                403,
                "Forbidden",
                &intune_message(
                    "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementConfiguration.ReadWrite.All",
                    &ctx.request_id,
                    Some(&format!("{}{}", self.inner.origin, req.raw_path)),
                ),
            ));
        }
        let method_not_allowed = || {
            ctx.error(
                405,
                "BadRequest",
                &format!(
                    "The HTTP method '{}' is not supported on this resource.",
                    req.method
                ),
            )
        };
        match (req.method.as_str(), item_id) {
            ("GET", None) => self.list(ctx, req, file_id),
            ("POST", None) => self.create(ctx, req, file_id),
            ("GET", Some(id)) => self.get_one(ctx, req, file_id, id),
            ("PATCH", Some(id)) => self.patch(ctx, req, file_id, id),
            ("DELETE", Some(id)) => self.delete(ctx, req, file_id, id),
            _ => Err(method_not_allowed()),
        }
    }

    fn context_url(&self, file_id: &str, select: Option<&[String]>, entity: bool) -> String {
        let sel = select
            .map(|s| format!("({})", s.join(",")))
            .unwrap_or_default();
        format!(
            "{}/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles('{file_id}')/groupPolicyOperations{sel}{}",
            self.base_url(),
            if entity { "/$entity" } else { "" }
        )
    }

    fn not_found_entity(&self, ctx: &Ctx, req: &Req) -> Reply {
        ctx.error(
            404,
            "ResourceNotFound",
            &intune_message(
                "Resource not found.",
                &ctx.request_id,
                Some(&format!("{}{}", self.inner.origin, req.raw_path)),
            ),
        )
    }

    fn list(&self, ctx: &Ctx, req: &Req, file_id: &str) -> Result<Reply, Reply> {
        let q = parse_query(
            ctx,
            req.query.as_deref(),
            &["$select", "$top", "$skiptoken"],
        )?;
        if !self.file_exists(file_id) {
            return Err(self.not_found_entity(ctx, req));
        }
        let key = file_id.to_ascii_lowercase();
        let mut st = self.lock();
        let start = match &q.skiptoken {
            None => 0,
            Some(tok) => match st.skiptokens.get(tok) {
                Some((f, off)) if *f == key => *off,
                _ => return Err(ctx.bad_request("The $skiptoken value is invalid or has expired.")),
            },
        };
        let page = q.top.unwrap_or(usize::MAX).min(st.page_size).max(1);
        let all = st.files.get(&key).cloned().unwrap_or_default();
        let (items, next): (Vec<Value>, Option<usize>) =
            if st.leading_empty_page && q.skiptoken.is_none() && !all.is_empty() {
                (Vec::new(), Some(0))
            } else {
                let from = start.min(all.len());
                let to = start.saturating_add(page).min(all.len());
                let next = (to < all.len()).then_some(to);
                (all[from..to].to_vec(), next)
            };
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            Value::String(self.context_url(file_id, q.select.as_deref(), false)),
        );
        body.insert(
            "value".into(),
            Value::Array(
                items
                    .iter()
                    .map(|e| project(e, q.select.as_deref()))
                    .collect(),
            ),
        );
        if let Some(off) = next {
            let token = new_skiptoken();
            st.skiptokens.insert(token.clone(), (key, off));
            let mut parts: Vec<String> = req
                .query
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .filter(|p| {
                    let k = p.split_once('=').map(|(k, _)| k).unwrap_or(p);
                    !percent_decode(k)
                        .unwrap_or_default()
                        .eq_ignore_ascii_case("$skiptoken")
                })
                .map(str::to_string)
                .collect();
            parts.push(format!("$skiptoken={}", percent_encode(&token)));
            body.insert(
                "@odata.nextLink".into(),
                Value::String(format!(
                    "{}{}?{}",
                    self.inner.origin,
                    req.raw_path,
                    parts.join("&")
                )),
            );
        }
        Ok(Reply::json(200, Value::Object(body)))
    }

    fn get_one(&self, ctx: &Ctx, req: &Req, file_id: &str, id: &str) -> Result<Reply, Reply> {
        let q = parse_query(ctx, req.query.as_deref(), &["$select"])?;
        let Some(e) = self.entity(file_id, id) else {
            return Err(self.not_found_entity(ctx, req));
        };
        let mut out = project(&e, q.select.as_deref());
        if let Some(o) = out.as_object_mut() {
            o.insert(
                "@odata.context".into(),
                Value::String(self.context_url(file_id, q.select.as_deref(), true)),
            );
        }
        Ok(Reply::json(200, out))
    }

    fn create(&self, ctx: &Ctx, req: &Req, file_id: &str) -> Result<Reply, Reply> {
        parse_query(ctx, req.query.as_deref(), &[])?;
        let fields = parse_write_body(ctx, req)?;
        if !self.file_exists(file_id) {
            return Err(self.not_found_entity(ctx, req));
        }
        let id = FakeGraph::new_id();
        let mut st = self.lock();
        let ts = st.next_timestamp();
        let entity = json!({
            "id": id,
            "operationType": fields.get("operationType").cloned().unwrap_or_else(|| json!("none")),
            "operationStatus": fields.get("operationStatus").cloned().unwrap_or_else(|| json!("unknown")),
            "statusDetails": fields.get("statusDetails").cloned().unwrap_or(Value::Null),
            "lastModifiedDateTime": ts,
        });
        st.files
            .entry(file_id.to_ascii_lowercase())
            .or_default()
            .push(entity.clone());
        let status = st.create_status;
        drop(st);
        let mut out = entity;
        out["@odata.context"] = Value::String(self.context_url(file_id, None, true));
        let mut reply = Reply::json(status, out);
        reply.headers.push((
            "Location".into(),
            format!("{}{}/{id}", self.inner.origin, req.raw_path),
        ));
        Ok(reply)
    }

    fn patch(&self, ctx: &Ctx, req: &Req, file_id: &str, id: &str) -> Result<Reply, Reply> {
        parse_query(ctx, req.query.as_deref(), &[])?;
        let fields = parse_write_body(ctx, req)?;
        let mut st = self.lock();
        let ts = st.next_timestamp();
        let no_content = st.patch_no_content;
        let Some(e) = st
            .files
            .get_mut(&file_id.to_ascii_lowercase())
            .and_then(|l| l.iter_mut().find(|e| id_eq(e, id)))
        else {
            drop(st);
            return Err(self.not_found_entity(ctx, req));
        };
        if let Some(obj) = e.as_object_mut() {
            for (k, v) in fields {
                if k != "@odata.type" {
                    obj.insert(k, v);
                }
            }
            obj.insert("lastModifiedDateTime".into(), Value::String(ts));
        }
        let updated = e.clone();
        drop(st);
        if no_content {
            return Ok(Reply::empty(204));
        }
        let mut out = updated;
        out["@odata.context"] = Value::String(self.context_url(file_id, None, true));
        Ok(Reply::json(200, out))
    }

    fn delete(&self, ctx: &Ctx, req: &Req, file_id: &str, id: &str) -> Result<Reply, Reply> {
        parse_query(ctx, req.query.as_deref(), &[])?;
        let removed = {
            let mut st = self.lock();
            match st.files.get_mut(&file_id.to_ascii_lowercase()) {
                Some(l) => match l.iter().position(|e| id_eq(e, id)) {
                    Some(p) => {
                        l.remove(p);
                        true
                    }
                    None => false,
                },
                None => false,
            }
        };
        if removed {
            Ok(Reply::empty(204))
        } else {
            Err(self.not_found_entity(ctx, req))
        }
    }
}

impl St {
    /// "now" in Graph's format (UTC, 7 fractional digits, `Z`), strictly increasing.
    fn next_timestamp(&mut self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut ticks = now.as_nanos() / 100;
        if ticks <= self.last_ticks {
            ticks = self.last_ticks + 1;
        }
        self.last_ticks = ticks;
        let secs = (ticks / 10_000_000) as i64;
        let frac = (ticks % 10_000_000) as u32;
        format!("{}.{frac:07}Z", format_secs(secs))
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Adds the transport headers. Top-level replies get `request-id`, the echoed
/// `client-request-id` and a Content-Type for bodies; sub-responses get the Content-Type
/// and the echoed `client-request-id`.
fn finish(ctx: &Ctx, mut reply: Reply, in_batch: bool) -> Reply {
    if !in_batch {
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("request-id"));
        reply
            .headers
            .push(("request-id".into(), ctx.request_id.clone()));
    }
    if let Some(c) = &ctx.client_request_id
        && !reply.has_header("client-request-id")
    {
        reply.headers.push(("client-request-id".into(), c.clone()));
    }
    if !matches!(reply.body, ReplyBody::None) && !reply.has_header("content-type") {
        reply
            .headers
            .push(("Content-Type".into(), GRAPH_JSON_CONTENT_TYPE.into()));
    }
    reply
}

fn canned_reply(c: Canned, ctx: &Ctx) -> Reply {
    let body = if let Some(raw) = c.raw_body {
        ReplyBody::Raw(raw)
    } else if let Some(mut v) = c.body {
        if let Some(inner) = v
            .pointer_mut("/error/innerError")
            .and_then(Value::as_object_mut)
        {
            let fill = |inner: &mut Map<String, Value>, k: &str, val: String| {
                if inner.get(k).and_then(Value::as_str) == Some("") {
                    inner.insert(k.to_string(), Value::String(val));
                }
            };
            fill(inner, "date", inner_error_date());
            fill(inner, "request-id", ctx.request_id.clone());
            fill(
                inner,
                "client-request-id",
                ctx.client_request_id
                    .clone()
                    .unwrap_or_else(|| ctx.request_id.clone()),
            );
        }
        ReplyBody::Json(v)
    } else {
        ReplyBody::None
    };
    let mut headers = c.headers;
    if matches!(body, ReplyBody::Raw(_))
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    Reply {
        status: c.status,
        headers,
        body,
    }
}

/// Returns the bearer token, or the 401 reply.
fn check_token(ctx: &Ctx, headers: &HeaderMap) -> Result<String, Reply> {
    let unauthorized = |msg: &str| {
        let mut r = ctx.error(401, "InvalidAuthenticationToken", msg);
        r.headers
            .push(("WWW-Authenticate".into(), "Bearer realm=\"\"".into()));
        r
    };
    let Some(v) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized("Access token is empty."));
    };
    let token = match v.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => {
            return Err(unauthorized(
                "Access token validation failure. Invalid audience.",
            ));
        }
    };
    if token.is_empty() {
        return Err(unauthorized("Access token is empty."));
    }
    if token == "expired" {
        return Err(unauthorized(
            "Lifetime validation failed, the token is expired.",
        ));
    }
    Ok(token.to_string())
}

fn check_json_content_type(ctx: &Ctx, headers: &HeaderMap) -> Result<(), Reply> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ctx.error(
            415,
            "UnsupportedMediaType",
            "The request body must be sent with Content-Type: application/json.",
        ))
    }
}

/// Validates a POST/PATCH body; returns its (known) members.
fn parse_write_body(ctx: &Ctx, req: &Req) -> Result<Map<String, Value>, Reply> {
    check_json_content_type(ctx, &req.headers)?;
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ctx.bad_request(&format!("Unable to read JSON request payload: {e}")))?;
    let Value::Object(obj) = v else {
        return Err(ctx.bad_request("The request payload must be a JSON object."));
    };
    for (k, v) in &obj {
        match k.as_str() {
            "@odata.type" => {
                if v.as_str() != Some(ODATA_TYPE) {
                    return Err(ctx.bad_request(&format!(
                        "A type named '{}' could not be resolved by the model; expected '{ODATA_TYPE}'.",
                        v
                    )));
                }
            }
            "operationType" | "operationStatus" => {
                let members: &[&str] = if k == "operationType" {
                    &OPERATION_TYPES
                } else {
                    &OPERATION_STATUSES
                };
                match v.as_str() {
                    Some(s) if members.contains(&s) => {}
                    _ => {
                        return Err(ctx.bad_request(&format!(
                            "Cannot convert the literal '{v}' to the expected type for '{k}'."
                        )));
                    }
                }
            }
            "statusDetails" => {
                if !(v.is_string() || v.is_null()) {
                    return Err(ctx.bad_request("'statusDetails' must be a string or null."));
                }
            }
            other => {
                return Err(ctx.bad_request(&format!(
                    "The property '{other}' does not exist on type 'microsoft.graph.groupPolicyOperation' or is not writable. Make sure to only use property names that are defined by the type."
                )));
            }
        }
    }
    Ok(obj)
}

struct QueryOpts {
    select: Option<Vec<String>>,
    top: Option<usize>,
    skiptoken: Option<String>,
    expand: bool,
}

fn parse_query(ctx: &Ctx, query: Option<&str>, allowed: &[&str]) -> Result<QueryOpts, Reply> {
    let mut q = QueryOpts {
        select: None,
        top: None,
        skiptoken: None,
        expand: false,
    };
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let name = k.to_ascii_lowercase();
        if !allowed.contains(&name.as_str()) {
            return Err(ctx.bad_request(&format!(
                "Query option '{k}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."
            )));
        }
        if seen.contains(&name) {
            return Err(ctx.bad_request(&format!("Query option '{k}' was specified more than once, but it must be specified at most once.")));
        }
        seen.push(name.clone());
        match name.as_str() {
            "$select" => {
                let mut props = Vec::new();
                for p in v.split(',') {
                    let p = p.trim();
                    let Some(canon) = PROPERTIES.iter().find(|c| c.eq_ignore_ascii_case(p)) else {
                        return Err(ctx.bad_request(&format!(
                            "Could not find a property named '{p}' on type 'microsoft.graph.groupPolicyOperation'."
                        )));
                    };
                    if !props.iter().any(|x: &String| x == canon) {
                        props.push(canon.to_string());
                    }
                }
                q.select = Some(props);
            }
            "$top" => match v.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => q.top = Some(n),
                _ => return Err(ctx.bad_request(&format!("Invalid value '{v}' for $top query option found. It must be an integer between 1 and 999."))),
            },
            "$skiptoken" => q.skiptoken = Some(v.into_owned()),
            "$expand" if v == "groupPolicyOperations" => q.expand = true,
            "$expand" => {
                return Err(ctx.bad_request(&format!(
                    "Could not find a navigation property named '{v}'."
                )));
            }
            _ => unreachable!(),
        }
    }
    Ok(q)
}

/// Keeps only the selected properties (and `id`), in the entity's own order.
fn project(e: &Value, select: Option<&[String]>) -> Value {
    match (select, e.as_object()) {
        (Some(sel), Some(obj)) => Value::Object(
            obj.iter()
                .filter(|(k, _)| k.as_str() == "id" || sel.iter().any(|s| s == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => e.clone(),
    }
}

fn id_eq(e: &Value, id: &str) -> bool {
    e.get("id")
        .and_then(Value::as_str)
        .is_some_and(|x| x.eq_ignore_ascii_case(id))
}

/// Hyphenated GUID, any case.
fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Intune's JSON-inside-`error.message`; the human text is its `Message` member.
fn intune_message(human: &str, activity_id: &str, url: Option<&str>) -> String {
    let mut msg = format!(
        "{human} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {activity_id}"
    );
    if let Some(u) = url {
        msg.push_str(&format!(" - Url: {u}"));
    }
    json!({
        "_version": 3,
        "Message": msg,
        "CustomApiErrorPhrase": "",
        "RetryAfter": null,
        "ErrorSourceService": "",
        "HttpHeaders": "{}"
    })
    .to_string()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex)?;
            let lo = b.get(i + 2).copied().and_then(hex)?;
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Opaque, base64-looking, always containing characters (`+`, `/`, `=`) that must stay
/// percent-encoded in the nextLink: a client that decodes and re-encodes it carelessly
/// (e.g. `+` -> space) presents an unknown token and gets 400.
fn new_skiptoken() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut t = String::from("RFNwdAIAAQAAAC");
    for _ in 0..18 {
        t.push(ALPHABET[fastrand::usize(..ALPHABET.len())] as char);
    }
    t.push('+');
    for _ in 0..4 {
        t.push(ALPHABET[fastrand::usize(..ALPHABET.len())] as char);
    }
    t.push('/');
    for _ in 0..3 {
        t.push(ALPHABET[fastrand::usize(..ALPHABET.len())] as char);
    }
    t.push_str("==");
    t
}

/// `innerError.date`: UTC, no fraction, no zone.
fn inner_error_date() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    format_secs(secs)
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the Unix epoch (UTC).
fn format_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3_600,
        (rem % 3_600) / 60,
        rem % 60
    )
}
