//! gpo-gateway: a GraphQL gateway over Microsoft Graph's Intune `groupPolicyOperation`.
//!
//! Layers, from the outside in: [`http`] (routes, limits, protocols) -> [`graphql`] (schema,
//! resolvers, per-request loader) -> [`backend`](mod@backend) (the seam; the in-process store
//! or Graph REST) over the [`domain`] types. [`app`] wires them from a [`Config`], each layer
//! handed its own group of flags when it is built.
//!
//! # The path of one request
//!
//! A GraphQL request over HTTP passes these steps, in this order; each may answer early, and
//! every early answer is shaped in one place (`http::response`, from a `refusal::Refusal` or an
//! [`error::Error`]):
//!
//! 1. **Connection** ([`http::serve`]): the connection counts against the total and per-address
//!    caps; headers and body must arrive within their read timeouts; an answer nobody reads is
//!    cut after the write timeout, and answers waiting for slow readers share one byte budget.
//! 2. **Request span and line** (`telemetry::logs`, the router's outermost layer): ids only,
//!    never headers; the line is written when the answer is done (sampled when asked).
//! 3. **CORS** (`http::cors`): a preflight is answered here; a refused origin goes no further.
//! 4. **Body admission** (`http::admission::admit_body`, then axum's body limit): a declared
//!    length over the cap is refused at once; a large upload needs a large-body slot and must
//!    keep flowing.
//! 5. **Compression** (the `/graphql` route's outermost layer) wraps whatever comes back.
//! 6. **Load shedding** (`http::admission::shed_load`): an in-flight permit or 503, and the
//!    request timeout (504).
//! 7. **Idempotency** (`http::idempotency`, over the [`idempotency`] key store, local or Redis):
//!    a mutation with an `Idempotency-Key` runs once per caller and key; a repeat gets the
//!    stored answer.
//! 8. **Handler** (`http::handlers`): media type and CSRF rule, the JSON body, the batch cap;
//!    then for each operation the persisted query (`http::apq`, with Redis as a second tier)
//!    and its request data: the caller, the per-request loaders, one Graph request budget.
//! 9. **Execution** (`graphql::execute`): a document the guard has already validated runs on
//!    the schema's twin without extensions when traces are off; anything else runs on the
//!    schema with its two extensions, the operation telemetry (metric, span) and the guard.
//! 10. **Guard** (`graphql::guard`): tokens counted before parsing, the document parsed once and
//!     cached, depth, cost, aliases, root fields and directives measured, validation run or a
//!     remembered success reused; afterwards every error gets its contract code and the error
//!     count is capped.
//! 11. **Resolvers** (`graphql::resolvers`): arguments become [`domain`] inputs (checked there),
//!     lookups go through the loaders, which batch one execution step's keys into one call.
//! 12. **Backend** ([`backend::Backend`]): the store answers in process (durable in SQLite when
//!     asked); Graph mode waits for the tenant's budget (shared through Redis), then calls Graph
//!     (`$expand` reads, `$batch`, nextLinks followed under the version root) and maps its
//!     answers back to domain types.
//! 13. **Answer**: serialised once, straight into the body, stopping at the response byte cap;
//!     then compressed, counted in the metrics, and logged by step 2.
//!
//! A WebSocket (`graphql-transport-ws` or `graphql-ws`) passes steps 1 to 3, then runs each
//! operation from step 9 on (always on the schema with extensions), with its own caps on
//! subscriptions, queued bytes and stalls.

pub mod backend;
pub mod config;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub(crate) mod refusal;
pub mod shared_state;
pub mod telemetry;

use std::sync::Arc;

pub use config::{BackendKind, Config};

use backend::Backend;
use backend::cursor::CursorCodec;
use backend::store::{DEMO_SEED, Store};
use idempotency::KeyStore;

/// A ready-to-serve gateway: its router and the state to mark it draining on shutdown.
pub struct App {
    /// The public router: `/graphql` (HTTP and WebSocket), `/healthz`, `/readyz`, the
    /// playground, and `/metrics` with `--metrics-on-main-port`.
    pub router: axum::Router,
    /// `/metrics` alone, for the separate metrics listener.
    pub metrics: axum::Router,
    /// The router's state; mark it draining on shutdown so `/readyz` fails.
    pub state: http::AppState,
}

/// Builds the backend chosen by `config`.
pub fn backend(config: &Config) -> Result<Arc<dyn Backend>, String> {
    backend_sharing(config, shared_state::Redis::new(&config.redis)?)
}

/// Builds the backend chosen by `config`; a Graph backend shares its tenant budgets through
/// `redis` when given.
fn backend_sharing(
    config: &Config,
    redis: Option<Arc<shared_state::Redis>>,
) -> Result<Arc<dyn Backend>, String> {
    match config.backend {
        BackendKind::Store => Ok(Arc::new(store(config)?)),
        BackendKind::Graph => Ok(Arc::new(backend::graph::GraphBackend::new(
            &config.graph,
            &config.budget,
            cursors(config),
            redis,
        )?)),
    }
}

fn cursors(config: &Config) -> CursorCodec {
    CursorCodec::new(config.cursor_secret.as_ref().map(|s| s.0.as_str()))
}

/// Builds the in-process store `config` describes, seeded unless told otherwise.
pub fn store(config: &Config) -> Result<Store, String> {
    let flags = &config.store;
    let (store, never_seeded) = match &flags.store_path {
        Some(path) => Store::open(path, flags, cursors(config))?,
        None => (Store::new(flags, cursors(config)), true),
    };
    let seed = match (&flags.seed, flags.no_seed || !never_seeded) {
        (_, true) => None,
        (Some(path), false) => Some(backend::store::read_seed_file(path)?),
        (None, false) => Some(DEMO_SEED.to_owned()),
    };
    match seed {
        Some(seed) => {
            let count = store.load_seed(&seed)?;
            tracing::info!(operations = count, "store seeded");
        }
        // A database started empty stays unseeded for good.
        None if never_seeded && flags.store_path.is_some() => store.mark_seeded()?,
        None => {}
    }
    Ok(store)
}

/// `export-store FILE` (or the deprecated `--export-store FILE`): builds the store `config`
/// describes and writes it to `path` as a seed.
pub fn export_store(config: &Config, path: &std::path::Path) -> Result<(), String> {
    store(config)?.export_to(path)
}

/// Builds the whole gateway from `config`.
pub fn app(config: &Config) -> Result<App, String> {
    if config.backend == BackendKind::Store {
        let store = store(config)?;
        // The persisted queries' Redis counts on this gateway's page, with the store.
        let figures = Backend::figures(&store);
        let app = app_with_store(config, store);
        share_through(
            &app,
            shared_state::Redis::counting_in(&config.redis, figures.budget().clone())?,
        );
        return Ok(app);
    }
    let redis = shared_state::Redis::new(&config.redis)?;
    let backend = backend_sharing(config, redis.clone())?;
    // Replicas share the keys too, so a retry that reaches another replica is recognised.
    let keys = redis.clone().map(|redis| {
        let limits = config.idempotency.limits();
        let keys = shared_state::keys::RedisKeys::new(redis);
        Arc::new(shared_state::key_store::SharedKeys::new(keys, limits)) as Arc<dyn KeyStore>
    });
    let app = build_app(config, backend, keys);
    share_through(&app, redis);
    Ok(app)
}

/// Adds what replicas share through `redis`, if any, to `app` (the persisted queries' tier).
fn share_through(app: &App, redis: Option<Arc<shared_state::Redis>>) {
    if let Some(redis) = redis {
        app.state
            .persisted_queries()
            .share_through(shared_state::apq::SharedQueries::new(redis));
    }
}

/// Builds the gateway over a given store; a durable store also keeps the idempotency keys.
pub fn app_with_store(config: &Config, store: Store) -> App {
    let keys = store
        .durable_keys(config.idempotency.limits())
        .map(|keys| Arc::new(keys) as Arc<dyn KeyStore>);
    build_app(config, Arc::new(store), keys)
}

/// Builds the gateway over a given backend (tests use this to share one store).
pub fn app_with_backend(config: &Config, backend: Arc<dyn Backend>) -> App {
    build_app(config, backend, None)
}

/// Idempotency keys live in `keys`, or in a table in this process.
fn build_app(config: &Config, backend: Arc<dyn Backend>, keys: Option<Arc<dyn KeyStore>>) -> App {
    let schema = graphql::build_schema(Arc::clone(&backend), graphql::Limits::new(&config.query));
    let http_config = http_config(config);
    let keys =
        keys.unwrap_or_else(|| Arc::new(idempotency::MemoryKeys::new(http_config.idempotency)));
    let state = http::AppState::with_keys(schema, backend, http_config, keys);
    App {
        router: http::router(state.clone()),
        metrics: http::metrics_router(state.clone()),
        state,
    }
}

/// The HTTP layer's settings: its own group and the idempotency keys', plus the few values it
/// takes from the backend, Graph and telemetry groups.
pub fn http_config(config: &Config) -> http::HttpConfig {
    http::HttpConfig::new(
        &config.http,
        &config.idempotency,
        config.backend,
        config.graph.graph_request_budget,
        &config.telemetry,
    )
}
