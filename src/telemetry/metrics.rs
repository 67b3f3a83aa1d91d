//! Prometheus metrics: one registry for the process, and small typed functions the other layers
//! call where something worth counting happens. No label ever holds a token, an id or free text:
//! every label value comes from a fixed set (a limit's name, a route template, an error code)
//! or from the bounded set of operation names seen first (see [`OPERATION_NAMES`]).
//!
//! The registry is process-wide, as Prometheus scrapes a process: several routers in one
//! process (as in tests) count into the same figures.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::labels::OperationNames;
pub use super::labels::{Cache, Limit, graph_route, method_label};

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
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn count_histogram() -> Histogram {
    Histogram::new([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0])
}

/// Every figure the gateway exports.
struct Metrics {
    registry: Registry,
    requests: Family<OperationLabels, Counter>,
    request_seconds: Histograms<TypeLabels>,
    in_flight: Gauge,
    refusals: Family<LimitLabels, Counter>,
    upstream: Family<UpstreamLabels, Counter>,
    upstream_seconds: Histograms<RouteLabels>,
    retries: Counter,
    throttles: Counter,
    last_retry_after: Gauge<f64, std::sync::atomic::AtomicU64>,
    batch_size: Histogram,
    lookups: Histogram,
    subscriptions: Gauge,
    pollers: Gauge,
    websockets: Gauge,
    cache: Family<CacheLabels, Counter>,
    store_operations: Gauge,
    names: Mutex<OperationNames>,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    // Long on purpose: one registration per metric, name and help text side by side, read
    // as the list of what the process exports; split up, the list would only be scattered.
    fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("gpo_gateway"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            refusals: Family::default(),
            upstream: Family::default(),
            upstream_seconds: Family::new_with_constructor(latency_histogram),
            retries: Counter::default(),
            throttles: Counter::default(),
            last_retry_after: Gauge::default(),
            batch_size: Histogram::new([1.0, 2.0, 5.0, 10.0, 15.0, 20.0]),
            lookups: count_histogram(),
            subscriptions: Gauge::default(),
            pollers: Gauge::default(),
            websockets: Gauge::default(),
            cache: Family::default(),
            store_operations: Gauge::default(),
            names: Mutex::new(OperationNames::default()),
        };
        let r = &mut m.registry;
        r.register(
            "graphql_requests",
            "GraphQL operations executed, by type, name and outcome (OK or the first error's code)",
            m.requests.clone(),
        );
        r.register(
            "graphql_request_duration_seconds",
            "Time to execute one GraphQL operation",
            m.request_seconds.clone(),
        );
        r.register(
            "graphql_requests_in_flight",
            "GraphQL requests over HTTP being served now",
            m.in_flight.clone(),
        );
        r.register(
            "refusals",
            "Requests, connections and operations refused by a limit, by the limit's flag",
            m.refusals.clone(),
        );
        r.register("graph_requests", "HTTP requests sent to Microsoft Graph, by method, route template and status (0: no answer)", m.upstream.clone());
        r.register(
            "graph_request_duration_seconds",
            "Time of one HTTP exchange with Microsoft Graph",
            m.upstream_seconds.clone(),
        );
        r.register(
            "graph_retries",
            "Microsoft Graph requests sent again after a 429, 503 or 504",
            m.retries.clone(),
        );
        r.register(
            "graph_throttles",
            "Answers from Microsoft Graph with status 429, $batch sub-responses included",
            m.throttles.clone(),
        );
        r.register(
            "graph_last_retry_after_seconds",
            "The Retry-After of the last throttled answer from Microsoft Graph",
            m.last_retry_after.clone(),
        );
        r.register(
            "graph_batch_size",
            "Sub-requests in one Microsoft Graph $batch",
            m.batch_size.clone(),
        );
        r.register(
            "lookups_per_operation",
            "Distinct operations one GraphQL operation looked up",
            m.lookups.clone(),
        );
        r.register(
            "subscriptions_live",
            "Subscriptions and WebSocket operations running now",
            m.subscriptions.clone(),
        );
        r.register(
            "graph_pollers_live",
            "Operations polled on Microsoft Graph for subscribers now",
            m.pollers.clone(),
        );
        r.register(
            "websockets_open",
            "WebSocket connections open now",
            m.websockets.clone(),
        );
        r.register(
            "cache_lookups",
            "Cache lookups, by cache (apq, document) and result (hit, miss)",
            m.cache.clone(),
        );
        r.register(
            "store_operations",
            "Group policy operations held by the in-process store",
            m.store_operations.clone(),
        );
        super::budget_metrics::register(r);
        m
    }
}

/// The metrics in Prometheus' text exposition format, and its content type.
pub fn render() -> (String, &'static str) {
    let mut text = String::new();
    if let Err(e) =
        prometheus_client::encoding::prometheus_text::encode(&mut text, &metrics().registry)
    {
        tracing::error!(error = %e, "could not encode the metrics");
    }
    (
        text,
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
    )
}

/// A GraphQL operation ran: its type (`query`, `mutation`, `subscription`), its name as written
/// in the document (`None` when anonymous or unknown), and its outcome (`OK` or an error code).
pub fn graphql_operation(
    kind: &'static str,
    name: Option<&str>,
    outcome: &'static str,
    took: Duration,
) {
    let m = metrics();
    let name = match name {
        None => ANONYMOUS.to_owned(),
        Some(name) => bounded_name(&m.names, name),
    };
    m.requests
        .get_or_create(&OperationLabels {
            operation_type: kind,
            operation_name: name,
            outcome,
        })
        .inc();
    m.request_seconds
        .get_or_create(&TypeLabels {
            operation_type: kind,
        })
        .observe(took.as_secs_f64());
}

fn bounded_name(names: &Mutex<OperationNames>, name: &str) -> String {
    let mut names = names.lock().unwrap_or_else(|p| p.into_inner());
    names.label(name, OPERATION_NAMES, OTHER_OPERATIONS)
}

/// One more GraphQL request over HTTP is being served until the guard is dropped.
pub fn in_flight() -> Held {
    Held::new(&metrics().in_flight)
}

/// One more poller runs until the guard is dropped.
pub fn poller_running() -> Held {
    Held::new(&metrics().pollers)
}

/// Counts one in a gauge while it is held.
pub struct Held(&'static Gauge);

impl Held {
    fn new(gauge: &'static Gauge) -> Self {
        gauge.inc();
        Held(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `limit` refused something.
pub fn refused(limit: Limit) {
    metrics()
        .refusals
        .get_or_create(&LimitLabels {
            limit: limit.as_str(),
        })
        .inc();
}

/// One HTTP exchange with Graph ended: `status` 0 when no answer came.
pub fn graph_request(method: &'static str, route: &'static str, status: u16, took: Duration) {
    let m = metrics();
    m.upstream
        .get_or_create(&UpstreamLabels {
            method,
            route,
            status,
        })
        .inc();
    m.upstream_seconds
        .get_or_create(&RouteLabels { method, route })
        .observe(took.as_secs_f64());
}

/// `count` Graph requests are being sent again.
pub fn graph_retries(count: usize) {
    metrics().retries.inc_by(count as u64);
}

/// Graph answered 429, asking to wait `retry_after` when it said.
pub fn graph_throttled(retry_after: Option<Duration>) {
    let m = metrics();
    m.throttles.inc();
    if let Some(wait) = retry_after {
        m.last_retry_after.set(wait.as_secs_f64());
    }
}

/// A `$batch` of `size` sub-requests is being sent.
pub fn graph_batch(size: usize) {
    metrics().batch_size.observe(size as f64);
}

/// A GraphQL operation ended having looked up `count` distinct operations.
pub fn lookups(count: usize) {
    metrics().lookups.observe(count as f64);
}

/// Live subscriptions and open WebSockets now (read when the metrics are scraped).
pub fn websocket_figures(websockets: usize, subscriptions: usize) {
    let m = metrics();
    m.websockets.set(saturating(websockets));
    m.subscriptions.set(saturating(subscriptions));
}

/// A cache lookup found (`hit`) or did not find what it looked for.
pub fn cache_lookup(cache: Cache, hit: bool) {
    let cache = match cache {
        Cache::Apq => "apq",
        Cache::Document => "document",
    };
    let result = if hit { "hit" } else { "miss" };
    metrics()
        .cache
        .get_or_create(&CacheLabels { cache, result })
        .inc();
}

/// The store now holds `count` operations.
pub fn store_operations(count: usize) {
    metrics().store_operations.set(saturating(count));
}

fn saturating(n: usize) -> i64 {
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
