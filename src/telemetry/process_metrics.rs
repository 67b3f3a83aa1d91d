//! The figures of what a process shares among the gateways it runs: the Graph client, the
//! in-process store, the pollers, the lookups of operations, and the refusals of the serving
//! loop and of parts built without a gateway (a request's Graph budget, the lookup cap).
//!
//! These parts are built before (and independently of) a gateway's app state and may serve
//! several gateways at once (tests share one store), so they count here, once per process;
//! every gateway's `/metrics` page shows them beside its own figures
//! ([`Metrics`](super::metrics::Metrics)).

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::refusal_counts::{RefusalCounts, Refusals};
use crate::refusal::Limit;

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

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms to about 33 s.
pub(super) fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// What the process counts once for all its gateways.
struct Shared {
    refusals: RefusalCounts,
    upstream: Family<UpstreamLabels, Counter>,
    upstream_seconds: Histograms<RouteLabels>,
    retries: Counter,
    throttles: Counter,
    last_retry_after: Gauge<f64, std::sync::atomic::AtomicU64>,
    batch_size: Histogram,
    lookups: Histogram,
    pollers: Gauge,
    store_operations: Gauge,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        refusals: RefusalCounts::default(),
        upstream: Family::default(),
        upstream_seconds: Family::new_with_constructor(latency_histogram),
        retries: Counter::default(),
        throttles: Counter::default(),
        last_retry_after: Gauge::default(),
        batch_size: Histogram::new([1.0, 2.0, 5.0, 10.0, 15.0, 20.0]),
        lookups: Histogram::new([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]),
        pollers: Gauge::default(),
        store_operations: Gauge::default(),
    })
}

/// The refusals counted for the whole process, to add to a gateway's own.
pub(super) fn shared_refusals() -> RefusalCounts {
    shared().refusals.clone()
}

/// Adds the shared figures (all but the refusals, which a gateway merges with its own) to `r`.
// One registration per metric, name and help text side by side: the list of what is exported.
pub(super) fn register(r: &mut Registry) {
    let m = shared();
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
        "graph_pollers_live",
        "Operations polled on Microsoft Graph for subscribers now",
        m.pollers.clone(),
    );
    r.register(
        "store_operations",
        "Group policy operations held by the in-process store",
        m.store_operations.clone(),
    );
    super::budget_metrics::register(r);
}

/// The process' shared figures (and its refusals counted outside any gateway) in Prometheus'
/// text format, and its content type; a gateway's `/metrics` adds its own figures
/// ([`Metrics::render`](super::metrics::Metrics::render)).
pub fn render() -> (String, &'static str) {
    let mut registry = Registry::with_prefix("gpo_gateway");
    super::metrics::register_refusals(&mut registry, Refusals::of([shared_refusals()]));
    register(&mut registry);
    super::metrics::encode(&registry)
}

/// A limit refused something outside any gateway's request path (the serving loop, a
/// request's Graph budget, the lookup cap).
pub fn refused(what: impl Into<Limit>) {
    shared().refusals.count(what.into());
}

/// One more poller runs until the guard is dropped.
pub fn poller_running() -> super::metrics::Held {
    super::metrics::Held::new(&shared().pollers)
}

/// One HTTP exchange with Graph ended: `status` 0 when no answer came.
pub fn graph_request(method: &'static str, route: &'static str, status: u16, took: Duration) {
    let m = shared();
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
    shared().retries.inc_by(count as u64);
}

/// Graph answered 429, asking to wait `retry_after` when it said.
pub fn graph_throttled(retry_after: Option<Duration>) {
    let m = shared();
    m.throttles.inc();
    if let Some(wait) = retry_after {
        m.last_retry_after.set(wait.as_secs_f64());
    }
}

/// A `$batch` of `size` sub-requests is being sent.
pub fn graph_batch(size: usize) {
    shared().batch_size.observe(size as f64);
}

/// A GraphQL operation ended having looked up `count` distinct operations.
pub fn lookups(count: usize) {
    shared().lookups.observe(count as f64);
}

/// The store now holds `count` operations.
pub fn store_operations(count: usize) {
    shared()
        .store_operations
        .set(super::metrics::saturating(count));
}
