//! The figures of the parts a gateway is built on: the Graph client, the in-process store, the
//! pollers, the lookups of operations, the tenant budget and Redis, and the refusals of parts
//! that are not the gateway's own layers (a request's Graph budget, the lookup cap).
//!
//! These parts are built before (and independently of) a gateway's app state and may serve
//! several gateways at once (tests share one store), so they count in a [`BackendFigures`]
//! handle made by the code that builds them and registered on the `/metrics` page of every
//! gateway that uses them, beside its own figures ([`Metrics`](super::metrics::Metrics)).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::budget_metrics::BudgetFigures;
use super::refusal_counts::RefusalCounts;
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

/// What the parts a gateway is built on count (see the module's header). Cloning it shares
/// the figures; two handles made apart count apart.
#[derive(Clone)]
pub struct BackendFigures(Arc<Shared>);

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
    budget: BudgetFigures,
}

impl Default for BackendFigures {
    fn default() -> Self {
        BackendFigures::with_budget(BudgetFigures::default())
    }
}

impl BackendFigures {
    /// Figures at zero, showing `budget` as the tenant budget's and Redis'.
    pub fn with_budget(budget: BudgetFigures) -> Self {
        BackendFigures(Arc::new(Shared {
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
            budget,
        }))
    }
}

impl BackendFigures {
    /// The tenant budget's and Redis' figures, part of these.
    pub fn budget(&self) -> &BudgetFigures {
        &self.0.budget
    }

    /// The refusals counted by these parts, to add to a gateway's own.
    pub(super) fn refusals(&self) -> RefusalCounts {
        self.0.refusals.clone()
    }

    /// Adds these figures (all but the refusals, which a gateway merges with its own) to `r`.
    // One registration per metric, name and help text side by side: the list of what is exported.
    pub(super) fn register(&self, r: &mut Registry) {
        let m = &self.0;
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
        m.budget.register(r);
    }

    /// A limit refused something outside any gateway's request path (the serving loop, a
    /// request's Graph budget, the lookup cap).
    pub fn refused(&self, what: impl Into<Limit>) {
        self.0.refusals.count(what.into());
    }

    /// One more poller runs until the guard is dropped.
    pub fn poller_running(&self) -> super::metrics::Held {
        super::metrics::Held::new(&self.0.pollers)
    }

    /// One HTTP exchange with Graph ended: `status` 0 when no answer came.
    pub fn graph_request(
        &self,
        method: &'static str,
        route: &'static str,
        status: u16,
        took: Duration,
    ) {
        let m = &self.0;
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
    pub fn graph_retries(&self, count: usize) {
        self.0.retries.inc_by(count as u64);
    }

    /// Graph answered 429, asking to wait `retry_after` when it said.
    pub fn graph_throttled(&self, retry_after: Option<Duration>) {
        let m = &self.0;
        m.throttles.inc();
        if let Some(wait) = retry_after {
            m.last_retry_after.set(wait.as_secs_f64());
        }
    }

    /// A `$batch` of `size` sub-requests is being sent.
    pub fn graph_batch(&self, size: usize) {
        self.0.batch_size.observe(size as f64);
    }

    /// A GraphQL operation ended having looked up `count` distinct operations.
    pub fn lookups(&self, count: usize) {
        self.0.lookups.observe(count as f64);
    }

    /// The store now holds `count` operations.
    pub fn store_operations(&self, count: usize) {
        self.0
            .store_operations
            .set(super::metrics::saturating(count));
    }
}
