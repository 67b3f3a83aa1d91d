//! The figures of the tenant's Graph budget and of Redis: slots left, waits, refusals, pauses,
//! and whether Redis is reachable. A [`BudgetFigures`] handle is part of a gateway's
//! [`BackendFigures`](super::process_metrics::BackendFigures) and registered on its `/metrics`
//! page; labels only from fixed sets (budget kind, priority).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::backend::budget::Priority;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    budget: &'static str,
    priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    budget: &'static str,
}

struct Figures {
    left: Family<KindLabels, Gauge>,
    waits: Family<BudgetLabels, Counter>,
    wait_seconds: Histogram,
    refusals: Family<BudgetLabels, Counter>,
    pauses: Counter,
    pause_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    redis_up: Gauge,
    redis_failures: Counter,
    redis_seconds: Histogram,
}

/// The tenant budget's and Redis' figures of one gateway. Cloning it shares them.
#[derive(Clone)]
pub struct BudgetFigures(Arc<Figures>);

impl Default for BudgetFigures {
    fn default() -> Self {
        BudgetFigures(Arc::new(Figures {
            left: Family::default(),
            waits: Family::default(),
            // 1 ms to about 65 s.
            wait_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            refusals: Family::default(),
            pauses: Counter::default(),
            pause_seconds: Gauge::default(),
            redis_up: Gauge::default(),
            redis_failures: Counter::default(),
            // 50 µs to about 0.8 s.
            redis_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 15)),
        }))
    }
}

impl BudgetFigures {
    /// Adds these figures to a gateway's registry.
    pub(super) fn register(&self, r: &mut Registry) {
        let f = &self.0;
        r.register(
        "tenant_budget_left",
        "Slots left in the last tenant budget a Graph request took from, by budget (read: every request, write: writes)",
        f.left.clone(),
    );
        r.register(
        "tenant_budget_waits",
        "Graph requests that waited in line for the tenant budget, by budget and priority (interactive, poller)",
        f.waits.clone(),
    );
        r.register(
            "tenant_budget_wait_seconds",
            "Time a Graph request waited for the tenant budget, among those that waited",
            f.wait_seconds.clone(),
        );
        r.register(
        "tenant_budget_refusals",
        "Graph requests never sent because the tenant budget had no room in time (THROTTLED), by budget and priority",
        f.refusals.clone(),
    );
        r.register(
            "tenant_pauses",
            "Times a 429 from Graph paused a whole tenant",
            f.pauses.clone(),
        );
        r.register(
            "tenant_last_pause_seconds",
            "Length of the last tenant pause",
            f.pause_seconds.clone(),
        );
        r.register(
            "redis_up",
            "1 while Redis answers, 0 while the gateway runs degraded without it (--redis-url set)",
            f.redis_up.clone(),
        );
        r.register(
            "redis_failures",
            "Redis commands that failed or timed out",
            f.redis_failures.clone(),
        );
        r.register(
            "redis_command_seconds",
            "Time of one Redis command (round trip)",
            f.redis_seconds.clone(),
        );
    }
}

fn labels(write: bool, priority: Priority) -> BudgetLabels {
    BudgetLabels {
        budget: if write { "write" } else { "read" },
        priority: match priority {
            Priority::Interactive => "interactive",
            Priority::Poller => "poller",
        },
    }
}

impl BudgetFigures {
    /// A request got its slots, after waiting in line for `waited` if it had to, leaving `left`
    /// in the request budget.
    pub fn granted(&self, write: bool, priority: Priority, left: u32, waited: Option<Duration>) {
        let f = &self.0;
        f.left
            .get_or_create(&KindLabels { budget: "read" })
            .set(i64::from(left));
        if let Some(waited) = waited {
            f.waits.get_or_create(&labels(write, priority)).inc();
            f.wait_seconds.observe(waited.as_secs_f64());
        }
    }

    /// A request was refused its slots.
    pub fn refused(&self, write: bool, priority: Priority) {
        self.0
            .refusals
            .get_or_create(&labels(write, priority))
            .inc();
    }

    /// A 429 paused a tenant for `wait`.
    pub fn paused(&self, wait: Duration) {
        let f = &self.0;
        f.pauses.inc();
        f.pause_seconds.set(wait.as_secs_f64());
    }

    /// Redis became reachable (`true`) or unreachable.
    pub fn redis_up(&self, up: bool) {
        self.0.redis_up.set(i64::from(up));
    }

    /// A Redis command failed or timed out.
    pub fn redis_failure(&self) {
        self.0.redis_failures.inc();
    }

    /// A Redis command took `took`.
    pub fn redis_command(&self, took: Duration) {
        self.0.redis_seconds.observe(took.as_secs_f64());
    }
}
