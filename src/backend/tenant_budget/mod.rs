//! One tenant's Microsoft Graph budget, shared by every user, poller and replica.
//!
//! Intune throttles per app and tenant (about 1,000 requests and 100 writes per 20 s for one
//! app), so every request the gateway sends to Graph (a plain call, each `$batch` sub-request,
//! a list page, a poll, a retry, a write) takes a slot from its tenant's budget before it is
//! sent. A write takes one from both the request and the write budget, as Intune counts writes
//! among all requests. When there is no slot, the request waits in line (people before
//! pollers, first come first served) for at most `--graph-budget-wait`, then its field fails
//! with `THROTTLED` and a `retryAfter` saying when a slot frees: a request Graph would refuse
//! is never sent. Pollers may use only `--poller-budget-share` of each budget and stand aside
//! while a person's request waits. A 429 from Graph pauses the whole tenant for its
//! `Retry-After`.
//!
//! Where the count lives: in this process ([`window`]), or in Redis when replicas share one
//! ([`crate::shared_state`]); while Redis is unreachable, each replica falls back to its own
//! share (`--replicas`).
//!
//! Which tenant: `--tenant-id` when set; else the token's `tid`, but only once Graph has
//! accepted that exact token (see [`identity`](super::identity)), so a made-up claim cannot
//! spend another tenant's budget; else the token's fingerprint.

pub(crate) mod window;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::BearerToken;
use super::budget::Priority;
use super::identity::{self, Vouched};
use crate::config::cluster::BudgetConfig;
use crate::error::{Code, Error, UpstreamDetail};
use crate::shared_state::{Redis, budget::SharedLedger};
use crate::telemetry::budget_metrics::BudgetFigures;

/// The two budgets of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Every request (writes count here too).
    Read = 0,
    /// Writes only.
    Write = 1,
}

impl Kind {
    /// The metric label and the Redis key suffix.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

/// One budget an ask takes from: `cap` slots for this priority, out of `limit`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub kind: Kind,
    pub cap: u32,
    pub limit: u32,
}

/// `count` slots from each of `buckets` of `tenant`, all or none.
#[derive(Debug, Clone)]
pub(crate) struct Ask<'a> {
    pub tenant: &'a str,
    pub count: u32,
    pub buckets: Vec<Bucket>,
}

/// What a ledger answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    /// Taken; `left` slots remain in the first bucket for interactive requests.
    Granted { left: u32 },
    /// No room (or paused) for this long at least.
    Wait(Duration),
}

/// The budget's settings.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub reads: u32,
    pub writes: u32,
    pub window: Duration,
    pub wait: Duration,
    pub poller_share: f64,
}

impl Limits {
    /// The limits `config` sets.
    pub(crate) fn new(config: &BudgetConfig) -> Self {
        Limits {
            reads: config.tenant_read_budget,
            writes: config.tenant_write_budget,
            window: config.tenant_budget_window,
            wait: config.graph_budget_wait,
            poller_share: config.poller_budget_share,
        }
    }

    /// These limits divided among `replicas` (each keeps at least one slot).
    fn share_of(&self, replicas: u32) -> Limits {
        let part = |n: u32| (n / replicas.max(1)).max(1);
        Limits {
            reads: part(self.reads),
            writes: part(self.writes),
            ..self.clone()
        }
    }

    fn buckets(&self, write: bool, priority: Priority) -> Vec<Bucket> {
        let cap = |limit: u32| match priority {
            Priority::Interactive => limit,
            Priority::Poller => ((f64::from(limit) * self.poller_share) as u32).max(1),
        };
        let mut buckets = vec![Bucket {
            kind: Kind::Read,
            cap: cap(self.reads),
            limit: self.reads,
        }];
        if write {
            buckets.push(Bucket {
                kind: Kind::Write,
                cap: cap(self.writes),
                limit: self.writes,
            });
        }
        buckets
    }
}

/// The line of one tenant in this process: people and pollers each wait in their own
/// first-come-first-served line; pollers also stand aside while a person waits. Nobody
/// queues while their line is empty: the line only forms once the budget says "wait".
#[derive(Default)]
struct Line {
    interactive: tokio::sync::Mutex<()>,
    pollers: tokio::sync::Mutex<()>,
    people_waiting: AtomicUsize,
    pollers_waiting: AtomicUsize,
    /// When the head of the line expects room, for the `retryAfter` of those behind it.
    room_at: Mutex<Option<Instant>>,
}

/// Counts one in line while held.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every tenant's budget, as one process sees it.
pub(crate) struct TenantBudget {
    limits: Limits,
    tenant_id: Option<String>,
    /// This process' count: the whole budget alone, a replica's share behind Redis.
    local: window::Ledger,
    local_limits: Limits,
    shared: Option<SharedLedger>,
    lines: Mutex<lru::LruCache<String, Arc<Line>>>,
    /// Where waits, refusals and pauses count: Redis' figures when shared through it.
    figures: BudgetFigures,
}

impl TenantBudget {
    /// The budget `config` describes, shared through `redis` when given.
    pub(crate) fn new(config: &BudgetConfig, redis: Option<Arc<Redis>>) -> Self {
        let limits = Limits::new(config);
        let local_limits = match (&redis, config.replicas) {
            (Some(_), Some(replicas)) => limits.share_of(replicas),
            _ => limits.clone(),
        };
        let figures = redis
            .as_ref()
            .map_or_else(BudgetFigures::default, |redis| redis.figures().clone());
        TenantBudget {
            local: window::Ledger::new(limits.window),
            shared: redis.map(|redis| SharedLedger::new(redis, limits.window)),
            tenant_id: config.tenant_id.clone(),
            lines: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(window::MAX_TENANTS).expect("non-zero"),
            )),
            limits,
            local_limits,
            figures,
        }
    }

    /// What this budget counts (and Redis, when it is shared through it).
    pub(crate) fn figures(&self) -> &BudgetFigures {
        &self.figures
    }

    /// The key `token`'s requests are counted under (see the module header).
    pub(crate) fn tenant_of(&self, token: Option<&BearerToken>, vouched: &Vouched) -> String {
        if let Some(id) = &self.tenant_id {
            return format!("tid:{id}");
        }
        let Some(token) = token else {
            return "anonymous".to_owned();
        };
        match vouched.claims(token).and_then(|c| c.tenant.clone()) {
            Some(tid) => format!("tid:{tid}"),
            None => format!("token:{}", identity::fingerprint(token)),
        }
    }

    fn line(&self, tenant: &str) -> Arc<Line> {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(lines.get_or_insert(tenant.to_owned(), Arc::default))
    }

    async fn take(&self, tenant: &str, write: bool, count: u32, priority: Priority) -> Decision {
        if let Some(shared) = &self.shared {
            let ask = Ask {
                tenant,
                count,
                buckets: self.limits.buckets(write, priority),
            };
            if let Ok(decision) = shared.take(&ask).await {
                return decision;
            }
        }
        let ask = Ask {
            tenant,
            count,
            buckets: self.local_limits.buckets(write, priority),
        };
        self.local.take(&ask, Instant::now())
    }

    /// Takes `count` slots for `tenant` (from the write budget too when `write`), waiting in
    /// line until `deadline` or `--graph-budget-wait`, whichever is sooner. Returns how long
    /// it waited; `THROTTLED` with a `retryAfter` when the slots cannot be had in time.
    pub(crate) async fn acquire(
        &self,
        tenant: &str,
        write: bool,
        count: u32,
        priority: Priority,
        deadline: Instant,
    ) -> Result<Duration, Error> {
        let started = Instant::now();
        let give_up = deadline.min(started + self.limits.wait);
        let line = self.line(tenant);
        // Nobody of this priority or above in line: ask at once, without queueing (the
        // usual case, and one round trip to Redis at most).
        let (mine, ahead) = match priority {
            Priority::Interactive => (&line.people_waiting, 0),
            Priority::Poller => (
                &line.pollers_waiting,
                line.people_waiting.load(Ordering::SeqCst),
            ),
        };
        if mine.load(Ordering::SeqCst) == 0 && ahead == 0 {
            match self.take(tenant, write, count, priority).await {
                Decision::Granted { left } => {
                    self.figures.granted(write, priority, left, None);
                    return Ok(started.elapsed());
                }
                Decision::Wait(wait) if Instant::now() + wait > give_up => {
                    return Err(self.refuse(write, priority, wait));
                }
                Decision::Wait(_) => {}
            }
        }
        mine.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(mine);
        let queue = match priority {
            Priority::Interactive => &line.interactive,
            Priority::Poller => &line.pollers,
        };
        let Ok(_turn) = tokio::time::timeout_at(give_up.into(), queue.lock()).await else {
            let room_at = *line.room_at.lock().unwrap_or_else(|p| p.into_inner());
            let wait = room_at.map_or(self.limits.wait, |at| {
                at.saturating_duration_since(Instant::now())
            });
            return Err(self.refuse(write, priority, wait));
        };
        loop {
            if priority == Priority::Poller && line.people_waiting.load(Ordering::SeqCst) > 0 {
                if Instant::now() + STAND_ASIDE > give_up {
                    return Err(self.refuse(write, priority, STAND_ASIDE));
                }
                tokio::time::sleep(STAND_ASIDE).await;
                continue;
            }
            match self.take(tenant, write, count, priority).await {
                Decision::Granted { left } => {
                    // In line means waited: for room in the window, or behind others.
                    let took = started.elapsed();
                    self.figures.granted(write, priority, left, Some(took));
                    tracing::info!(
                        waited_ms = took.as_millis() as u64,
                        write,
                        ?priority,
                        "waited for the tenant's Graph budget"
                    );
                    return Ok(took);
                }
                Decision::Wait(wait) => {
                    let room_at = Instant::now() + wait;
                    *line.room_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(room_at);
                    if room_at > give_up {
                        return Err(self.refuse(write, priority, wait));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Graph answered 429 for `tenant`: hold every request of the tenant for `wait`, here and,
    /// through Redis, on every replica.
    pub(crate) async fn pause(&self, tenant: &str, wait: Duration) {
        self.figures.paused(wait);
        tracing::warn!(
            wait_ms = wait.as_millis() as u64,
            "Microsoft Graph throttled the tenant: pausing its requests"
        );
        self.local.pause(tenant, Instant::now() + wait);
        if let Some(shared) = &self.shared {
            // Unreachable Redis: the local pause above still holds this replica.
            let _ = shared.pause(tenant, wait).await;
        }
    }

    fn refuse(&self, write: bool, priority: Priority, wait: Duration) -> Error {
        self.figures.refused(write, priority);
        let (limit, what) = if write {
            (self.limits.writes, "writes")
        } else {
            (self.limits.reads, "requests")
        };
        let wait = wait.max(Duration::from_millis(1));
        Error::Upstream {
            code: Code::Throttled,
            message: format!(
                "The tenant's Microsoft Graph budget ({limit} {what} per {}s, shared by every \
                 user of this gateway) has no room now, or Graph asked the tenant to slow down; \
                 try again in {} s",
                self.limits.window.as_secs(),
                wait.as_secs_f64().ceil()
            ),
            detail: Box::new(UpstreamDetail {
                retry_after: Some(wait),
                ..Default::default()
            }),
        }
    }
}

/// How long a poller steps back while a person waits for the same tenant's budget.
const STAND_ASIDE: Duration = Duration::from_millis(10);

#[cfg(test)]
mod tests;
