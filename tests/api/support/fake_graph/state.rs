//! What the fake Graph holds: the stored entities, the answers a test asked for, and the
//! switches that pick between the behaviours Graph is documented (or observed) to have.
//! Tests seed and read entities here directly, without going through HTTP.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::FakeGraph;
use crate::faults::{Injection, Match};
use crate::odata::{id_eq, is_guid};
use crate::recording::Recorded;

/// Where a `$skiptoken` resumes a listing.
pub(crate) struct PageCursor {
    /// The lower-cased file id whose operations are listed, or [`FILE_LIST`].
    pub(crate) list: String,
    /// Index of the first entity on the next page.
    pub(crate) offset: usize,
}

/// [`PageCursor::list`] of the definition files' own listing.
pub(crate) const FILE_LIST: &str = "files";

pub(crate) struct GraphState {
    /// Lower-cased file id -> operations in list order.
    pub(crate) operations: HashMap<String, Vec<Value>>,
    /// Definition file entities in list order (see `files.rs`).
    pub(crate) files: Vec<Value>,
    /// Uploads finish on their own after this long (`None`: they stay in progress).
    pub(crate) auto_process: Option<Duration>,
    pub(crate) requests: Vec<Recorded>,
    pub(crate) injections: Vec<Injection>,
    pub(crate) delays: Vec<(Match, Duration)>,
    pub(crate) page_size: usize,
    pub(crate) patch_no_content: bool,
    pub(crate) create_status: u16,
    pub(crate) create_location: bool,
    pub(crate) navigation_reads: bool,
    pub(crate) nested_route_errors: bool,
    pub(crate) shuffle_batch: bool,
    pub(crate) leading_empty_page: bool,
    pub(crate) skiptokens: HashMap<String, PageCursor>,
    /// Last timestamp handed out, in 100 ns ticks since the epoch (keeps them increasing).
    last_ticks: i128,
}

impl Default for GraphState {
    fn default() -> GraphState {
        GraphState {
            operations: HashMap::new(),
            files: Vec::new(),
            auto_process: None,
            requests: Vec::new(),
            injections: Vec::new(),
            delays: Vec::new(),
            page_size: 100,
            patch_no_content: true,
            create_status: 201,
            create_location: true,
            navigation_reads: false,
            nested_route_errors: false,
            shuffle_batch: true,
            leading_empty_page: false,
            skiptokens: HashMap::new(),
            last_ticks: 0,
        }
    }
}

impl GraphState {
    /// "now" in Graph's format (UTC, 7 fractional digits, `Z`), strictly increasing.
    pub(crate) fn next_timestamp(&mut self) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 100;
        let ticks = now.max(self.last_ticks + 1);
        self.last_ticks = ticks;
        let at = OffsetDateTime::from_unix_timestamp_nanos(ticks * 100)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
        );
        at.format(format).unwrap_or_default()
    }

    /// The stored operation `id` of file `file_id`, for changing it in place.
    pub(crate) fn operation_mut(&mut self, file_id: &str, id: &str) -> Option<&mut Value> {
        self.operations
            .get_mut(&file_id.to_ascii_lowercase())?
            .iter_mut()
            .find(|e| id_eq(e, id))
    }
}

/// Copies `changes` over `entity` and stamps `lastModifiedDateTime`, as Graph does on
/// every change.
pub(crate) fn merge_changes(
    entity: &mut Value,
    changes: impl IntoIterator<Item = (String, Value)>,
    timestamp: String,
) {
    if let Some(obj) = entity.as_object_mut() {
        obj.extend(changes);
        obj.insert("lastModifiedDateTime".into(), Value::String(timestamp));
    }
}

/// Seeding and reading the stored operations.
impl FakeGraph {
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
        self.lock()
            .operations
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
            .operations
            .get(&file_id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// One stored entity, if present.
    pub fn entity(&self, file_id: &str, id: &str) -> Option<Value> {
        self.lock().operation_mut(file_id, id).cloned()
    }

    /// Merges `changes` (a JSON object, unvalidated) into a stored entity, as the service
    /// itself would when work progresses (e.g. `{"operationStatus":"success"}`), and bumps
    /// `lastModifiedDateTime`. Returns false if the entity does not exist.
    pub fn update(&self, file_id: &str, id: &str, changes: Value) -> bool {
        let mut state = self.lock();
        let ts = state.next_timestamp();
        let Some(entity) = state.operation_mut(file_id, id) else {
            return false;
        };
        if let Value::Object(changes) = changes {
            merge_changes(entity, changes, ts);
        }
        true
    }
}

/// The switches between Graph's documented and observed behaviours.
impl FakeGraph {
    /// Server-driven page size cap (default 100, minimum 1); a smaller `$top` wins.
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = n.max(1);
    }

    /// PATCH answers 204 with no body (`true`, the default, as Intune does) or 200 with the
    /// updated entity (`false`, as the docs say).
    pub fn set_patch_no_content(&self, yes: bool) {
        self.lock().patch_no_content = yes;
    }

    /// Status of a successful create of an operation: 201 (default) or 200 carry the entity;
    /// 204 (what the seed page documents) and 202 carry no body.
    pub fn set_create_status(&self, status: u16) {
        self.lock().create_status = status;
    }

    /// Whether a create of an operation answers with a `Location` header (default `true`).
    pub fn set_create_location(&self, yes: bool) {
        self.lock().create_location = yes;
    }

    /// Serve `GET .../groupPolicyOperations[/{id}]` (default `false`: answered like any route
    /// Intune does not serve, 400 "No method match route template"). Whether the real
    /// service serves them is unverified; the gateway's default never needs them.
    pub fn set_navigation_reads(&self, yes: bool) {
        self.lock().navigation_reads = yes;
    }

    /// Unserved routes answer with Intune's JSON document inside `error.message` (default
    /// `false`: the plain message).
    pub fn set_nested_route_errors(&self, yes: bool) {
        self.lock().nested_route_errors = yes;
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
}
