//! Prometheus metrics of one gateway: a [`Metrics`] handle made with its app state and handed
//! to each layer when it is built (the HTTP layers, the GraphQL schema's extensions, the
//! WebSocket endpoint, the serving loop), so two gateways in one process count apart. What
//! the backend under a gateway counts (the Graph client, the store, the budgets) is its
//! [`BackendFigures`], registered on the page of each gateway built on it. No label
//! ever holds a token, an id or free text: every label value comes from a fixed set (a limit's
//! name, a route template, an error code) or from the bounded set of operation names seen first
//! (see [`OPERATION_NAMES`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::labels::OperationNames;
pub use super::labels::{Cache, Limit, graph_route, method_label};
pub use super::process_metrics::BackendFigures;
use super::process_metrics::latency_histogram;
use super::refusal_counts::{RefusalCounts, Refusals};

/// Distinct operation names kept as labels; operations named otherwise (or once the names take
/// `labels::OPERATION_NAME_LABEL_BYTES`) are counted under [`OTHER_OPERATIONS`], so a client
/// sending random or long names cannot grow the metrics. A name over 64 bytes is cut.
pub const OPERATION_NAMES: usize = 100;
/// The label of operations whose name is not among the first [`OPERATION_NAMES`].
pub const OTHER_OPERATIONS: &str = "__other";
/// The label of operations without a name.
pub const ANONYMOUS: &str = "__anonymous";
/// The name and type label of a request refused before its document was read.
pub const UNKNOWN: &str = "unknown";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation_type: &'static str,
    operation_name: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    operation_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The figures of one gateway, and the registry its `/metrics` page reads (its own figures and
/// the process' shared ones). Cloning it shares them.
#[derive(Clone)]
pub struct Metrics(Arc<Figures>);

struct Figures {
    registry: Registry,
    requests: Family<OperationLabels, Counter>,
    request_seconds: Histograms<TypeLabels>,
    in_flight: Gauge,
    refusals: RefusalCounts,
    subscriptions: Gauge,
    websockets: Gauge,
    cache: Family<CacheLabels, Counter>,
    names: Mutex<OperationNames>,
    backend: BackendFigures,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Figures for a new gateway, all at zero, over a backend that counts nothing.
    pub fn new() -> Self {
        Metrics::with_backend(BackendFigures::default())
    }

    /// Figures for a new gateway, all at zero, showing `backend`: the figures of the store,
    /// Graph client and budgets it is built on.
    // Long on purpose: one registration per metric, name and help text side by side, read
    // as the list of what a gateway exports; split up, the list would only be scattered.
    pub fn with_backend(backend: BackendFigures) -> Self {
        let mut f = Figures {
            registry: Registry::with_prefix("gpo_gateway"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            refusals: RefusalCounts::default(),
            subscriptions: Gauge::default(),
            websockets: Gauge::default(),
            cache: Family::default(),
            names: Mutex::new(OperationNames::default()),
            backend: backend.clone(),
        };
        let r = &mut f.registry;
        r.register(
            "graphql_requests",
            "GraphQL operations executed, by type, name and outcome (OK or the first error's code)",
            f.requests.clone(),
        );
        r.register(
            "graphql_request_duration_seconds",
            "Time to execute one GraphQL operation",
            f.request_seconds.clone(),
        );
        r.register(
            "graphql_requests_in_flight",
            "GraphQL requests over HTTP being served now",
            f.in_flight.clone(),
        );
        register_refusals(r, Refusals::of([f.refusals.clone(), backend.refusals()]));
        r.register(
            "subscriptions_live",
            "Subscriptions and WebSocket operations running now",
            f.subscriptions.clone(),
        );
        r.register(
            "websockets_open",
            "WebSocket connections open now",
            f.websockets.clone(),
        );
        r.register(
            "cache_lookups",
            "Cache lookups, by cache (apq, document) and result (hit, miss)",
            f.cache.clone(),
        );
        backend.register(r);
        Metrics(Arc::new(f))
    }

    /// The figures of the parts this gateway is built on (registered on its page).
    pub fn backend(&self) -> &BackendFigures {
        &self.0.backend
    }

    /// This gateway's metrics in Prometheus' text exposition format, and its content type.
    pub fn render(&self) -> (String, &'static str) {
        encode(&self.0.registry)
    }

    /// A GraphQL operation ran: its type (`query`, `mutation`, `subscription`), its name as
    /// written in the document (`None` when anonymous or unknown), and its outcome (`OK` or an
    /// error code).
    pub fn graphql_operation(
        &self,
        kind: &'static str,
        name: Option<&str>,
        outcome: &'static str,
        took: Duration,
    ) {
        let f = &self.0;
        let name = match name {
            None => ANONYMOUS.to_owned(),
            Some(name) => bounded_name(&f.names, name),
        };
        f.requests
            .get_or_create(&OperationLabels {
                operation_type: kind,
                operation_name: name,
                outcome,
            })
            .inc();
        f.request_seconds
            .get_or_create(&TypeLabels {
                operation_type: kind,
            })
            .observe(took.as_secs_f64());
    }

    /// One more GraphQL request over HTTP is being served until the guard is dropped.
    pub fn in_flight(&self) -> Held {
        Held::new(&self.0.in_flight)
    }

    /// A limit of this gateway refused something: counted under the limit's name (a
    /// [`Refusal`](crate::refusal::Refusal) says which limit it was).
    pub fn refused(&self, what: impl Into<Limit>) {
        self.0.refusals.count(what.into());
    }

    /// Live subscriptions and open WebSockets now (read when the metrics are scraped).
    pub fn websocket_figures(&self, websockets: usize, subscriptions: usize) {
        self.0.websockets.set(saturating(websockets));
        self.0.subscriptions.set(saturating(subscriptions));
    }

    /// A cache lookup found (`hit`) or did not find what it looked for.
    pub fn cache_lookup(&self, cache: Cache, hit: bool) {
        let cache = match cache {
            Cache::Apq => "apq",
            Cache::Document => "document",
        };
        let result = if hit { "hit" } else { "miss" };
        self.0
            .cache
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }
}

/// Registers the `refusals` counter, the sum of `refusals`.
pub(super) fn register_refusals(r: &mut Registry, refusals: Refusals) {
    r.register(
        "refusals",
        "Requests, connections and operations refused by a limit, by the limit's flag",
        refusals,
    );
}

/// `registry` in Prometheus' text exposition format, and its content type.
pub(super) fn encode(registry: &Registry) -> (String, &'static str) {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, registry) {
        tracing::error!(error = %e, "could not encode the metrics");
    }
    (
        text,
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
    )
}

fn bounded_name(names: &Mutex<OperationNames>, name: &str) -> String {
    let mut names = names.lock().unwrap_or_else(|p| p.into_inner());
    names.label(name, OPERATION_NAMES, OTHER_OPERATIONS)
}

/// Counts one in a gauge while it is held.
pub struct Held(Gauge);

impl Held {
    pub(super) fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Held(gauge.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub(super) fn saturating(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_past_the_bound_fold_into_one_label() {
        let names = Mutex::new(OperationNames::default());
        for i in 0..OPERATION_NAMES {
            assert_eq!(bounded_name(&names, &format!("Op{i}")), format!("Op{i}"));
        }
        assert_eq!(bounded_name(&names, "Op0"), "Op0");
        assert_eq!(bounded_name(&names, "Another"), OTHER_OPERATIONS);
    }
}
