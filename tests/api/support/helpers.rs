//! Shared test plumbing: build the gateway, post GraphQL through the real router (`oneshot`,
//! no socket) or over TCP, and read the answers.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use gpo_gateway::backend::cursor::CursorCodec;
use gpo_gateway::backend::store::Store;
use gpo_gateway::config::StoreConfig;
use gpo_gateway::domain::files::{DefinitionFile, FileStatus, LanguageFile, PolicyType};
use gpo_gateway::domain::{Guid, Timestamp};
use gpo_gateway::{BackendKind, Config};
use serde_json::{Value, json};
use tower::ServiceExt;

use fake_graph::FakeGraph;

pub(crate) use super::net::{AllBytes, AnswerJson, assert_healthy, serve_tcp, serve_tcp_with};

/// Demo definition file with three operations.
pub(crate) const DEMO_FILE: &str = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01";
/// Demo operation (UPLOAD / SUCCESS) in `DEMO_FILE`.
pub(crate) const DEMO_OP: &str = "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01";
/// The token the tests send in Graph mode.
pub(crate) const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJub25jZSI6InRlc3QtdG9rZW4tc2VjcmV0In0";

/// Instantiates each `async fn name(mode: Mode)` of the calling module once per backend:
/// `store_mode::name` (`Mode::Store`), `durable_store_mode::name` (`Mode::Durable`, the store
/// kept in SQLite) and `graph_mode::name` (`Mode::Graph`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod store_mode {
            $(#[tokio::test] async fn $name() { super::$name(super::Mode::Store).await })*
        }
        mod durable_store_mode {
            $(#[tokio::test] async fn $name() { super::$name(super::Mode::Durable).await })*
        }
        mod graph_mode {
            $(#[tokio::test] async fn $name() { super::$name(super::Mode::Graph).await })*
        }
    };
}
pub(crate) use on_both_backends;

/// A fresh database path under the system's temporary directory.
pub(crate) fn temp_store_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gpo-gateway-test-{}.db", uuid::Uuid::new_v4()))
}

/// Which backend a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    /// The in-process store, kept in memory.
    Store,
    /// The in-process store, kept in a fresh SQLite file (`--store-path`).
    Durable,
    /// Graph mode, over a fresh fake Graph.
    Graph,
}

impl Mode {
    /// Whether the backend is the in-process store, in memory or durable.
    pub(crate) fn is_store(self) -> bool {
        self != Mode::Graph
    }
}

/// A gateway under test, plus the fake Graph behind it in Graph mode.
pub(crate) struct TestApp {
    pub router: Router,
    pub mode: Mode,
    pub graph: Option<FakeGraph>,
    /// The store behind a store-mode app.
    pub store: Option<Store>,
    /// Sent as `Authorization` on every request (Graph mode sets it by default).
    pub token: Option<String>,
}

pub(crate) fn config() -> Config {
    let mut config = Config::defaults();
    config.store.no_seed = true;
    config.store.store_processing_delay = std::time::Duration::ZERO;
    config
}

/// Raises the query guard's caps (tokens, aliases, root fields, cost, errors) so that a test can reach
/// the line of defence behind it: the loader's lookup cap or the Graph request budget.
pub(crate) fn lift_query_caps(config: &mut Config) {
    config.query.max_tokens = 50_000;
    config.query.max_aliases = 10_000;
    config.query.max_root_fields = 10_000;
    config.query.max_complexity = 1_000_000;
    config.query.max_errors = 10_000;
}

impl TestApp {
    /// An empty store-mode gateway.
    pub(crate) async fn store() -> TestApp {
        TestApp::with_config(Mode::Store, config()).await
    }

    /// A store-mode gateway with the demo data.
    pub(crate) async fn demo() -> TestApp {
        let mut config = config();
        config.store.no_seed = false;
        TestApp::with_config(Mode::Store, config).await
    }

    /// A gateway over an empty backend of `mode`.
    pub(crate) async fn new(mode: Mode) -> TestApp {
        TestApp::with_config(mode, config()).await
    }

    /// A gateway of `mode` built from `config` (Graph mode points it at a fresh fake Graph).
    pub(crate) async fn with_config(mode: Mode, mut config: Config) -> TestApp {
        let graph = match mode {
            Mode::Store => None,
            Mode::Durable => {
                config.store.store_path = Some(temp_store_path());
                None
            }
            Mode::Graph => {
                let graph = FakeGraph::spawn().await;
                config.backend = BackendKind::Graph;
                config.graph.graph_url = graph.base_url();
                Some(graph)
            }
        };
        let store = mode
            .is_store()
            .then(|| gpo_gateway::store(&config).expect("the store builds"));
        let app = match &store {
            Some(store) => gpo_gateway::app_with_store(&config, store.clone()),
            None => gpo_gateway::app(&config).expect("the gateway builds"),
        };
        TestApp {
            router: app.router,
            mode,
            graph,
            store,
            token: (mode == Mode::Graph).then(|| TOKEN.to_owned()),
        }
    }

    /// The fake Graph (Graph mode only).
    pub(crate) fn graph(&self) -> &FakeGraph {
        self.graph.as_ref().unwrap_or_else(|| {
            panic!(
                "only a Graph-mode app has a fake Graph; this one is {:?}",
                self.mode
            )
        })
    }

    /// Sends one HTTP request through the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().all_bytes().await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }

    /// A POST /graphql request builder with JSON content type and the app's token.
    pub(crate) fn post_request(&self) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        builder
    }

    /// POSTs a JSON body to /graphql.
    pub(crate) async fn post(&self, body: Value) -> (StatusCode, HeaderMap, Value) {
        let request = self
            .post_request()
            .body(Body::from(body.to_string()))
            .expect("a request");
        self.send(request).await
    }

    /// Runs a GraphQL operation and returns the whole response body.
    pub(crate) async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, _, body) = self
            .post(json!({ "query": query, "variables": variables }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub(crate) async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Updates an operation (the update must succeed) and returns it as the gateway answered.
    pub(crate) async fn update(&self, file: &str, id: &str, input: Value) -> Value {
        self.data(UPDATE, json!({ "f": file, "id": id, "input": input }))
            .await["updateGroupPolicyOperation"]
            .clone()
    }

    /// A new, empty definition file (no operations) in the backend; returns its id.
    pub(crate) async fn new_file(&self) -> String {
        let id = guid();
        match self.mode {
            Mode::Store | Mode::Durable => self
                .store
                .as_ref()
                .expect("a store-mode app")
                .insert_file(bare_file(&id))
                .expect("the file is stored"),
            Mode::Graph => self.graph().insert_file(&id),
        }
        id
    }

    /// Creates an operation from `input` (the create must succeed) and returns it as the
    /// gateway answered.
    pub(crate) async fn create_op(&self, file: &str, input: Value) -> Value {
        self.data(CREATE, json!({ "f": file, "input": input }))
            .await["createGroupPolicyOperation"]
            .clone()
    }

    /// Creates an operation and returns its id.
    pub(crate) async fn create(
        &self,
        file: &str,
        op_type: &str,
        status: &str,
        details: Option<&str>,
    ) -> String {
        let input = json!({ "operationType": op_type, "operationStatus": status, "statusDetails": details });
        self.create_op(file, input).await["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }
}

/// The ids of a `groupPolicyOperations` connection's `nodes`, in order.
pub(crate) fn node_ids(data: &Value) -> Vec<String> {
    data["groupPolicyOperations"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The first error's `extensions.code`.
pub(crate) fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A definition file record: AVAILABLE, test.admx with an en-US test.adml, no default language.
pub(crate) fn bare_file(id: &str) -> DefinitionFile {
    DefinitionFile {
        id: Guid::parse("id", id).expect("a GUID"),
        display_name: None,
        description: None,
        file_name: Some("test.admx".to_owned()),
        language_codes: vec!["en-US".to_owned()],
        target_prefix: None,
        target_namespace: None,
        policy_type: PolicyType::AdmxIngested,
        revision: None,
        status: FileStatus::Available,
        upload_date_time: None,
        last_modified: Timestamp::now(),
        default_language_code: None,
        language_files: vec![LanguageFile {
            file_name: Some("test.adml".to_owned()),
            language_code: Some("en-US".to_owned()),
            last_modified: None,
        }],
    }
}

/// A fresh random GUID.
pub(crate) fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A store with the demo data and a known cursor key.
pub(crate) fn demo_store() -> Store {
    let store = Store::new(&StoreConfig::immediate(100_000), CursorCodec::new(None));
    store
        .load_seed(gpo_gateway::backend::store::DEMO_SEED)
        .expect("demo seed");
    store
}

pub(crate) const CREATE: &str =
    "mutation Create($f: ID!, $input: CreateGroupPolicyOperationInput!) {
  createGroupPolicyOperation(definitionFileId: $f, input: $input) {
    id definitionFileId operationType operationStatus statusDetails lastModifiedDateTime
  }
}";

pub(crate) const GET: &str = "query Get($f: ID!, $id: ID!) {
  groupPolicyOperation(definitionFileId: $f, id: $id) {
    id definitionFileId operationType operationStatus statusDetails lastModifiedDateTime
  }
}";

pub(crate) const LIST: &str = "query List($f: ID!, $first: Int, $after: String) {
  groupPolicyOperations(definitionFileId: $f, first: $first, after: $after) {
    edges { cursor node { id operationStatus } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

pub(crate) const UPDATE: &str =
    "mutation Update($f: ID!, $id: ID!, $input: UpdateGroupPolicyOperationInput!) {
  updateGroupPolicyOperation(definitionFileId: $f, id: $id, input: $input) {
    id definitionFileId operationType operationStatus statusDetails lastModifiedDateTime
  }
}";

pub(crate) const DELETE: &str = "mutation Delete($f: ID!, $id: ID!) {
  deleteGroupPolicyOperation(definitionFileId: $f, id: $id)
}";

/// Pages through a whole list `first` at a time; returns every id in order and the number of pages.
pub(crate) async fn list_all(app: &TestApp, file: &str, first: i64) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app
            .data(LIST, json!({ "f": file, "first": first, "after": after }))
            .await;
        pages += 1;
        let conn = &data["groupPolicyOperations"];
        for edge in conn["edges"].as_array().expect("edges") {
            ids.push(edge["node"]["id"].as_str().expect("id").to_owned());
        }
        if !conn["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            return (ids, pages);
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(pages < 10_000, "paging does not end");
    }
}
