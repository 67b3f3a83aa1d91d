//! The tenant budget kept in this process: a sliding-window log per tenant and bucket, and
//! the tenant's pause after a 429. Used alone by one replica, and as the fallback share of a
//! replica whose Redis is unreachable.
//!
//! Why a log and not a token bucket or GCRA: a bucket that holds a full budget and refills at
//! budget/window lets through twice the budget in one window (a full bucket, then a window's
//! refill). Intune counts requests in a window, so the log grants a request only while fewer
//! than the budget were granted in the window before it, and it knows exactly when the next
//! slot frees: the oldest grant's time plus the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Ask, Decision};

/// Most tenants tracked at once; a new tenant beyond it waits a window (see [`Ledger::take`]).
pub(crate) const MAX_TENANTS: usize = 10_000;

#[derive(Default)]
struct Tenant {
    /// Grant times, oldest first, per bucket (the index of [`super::Bucket`]).
    grants: [VecDeque<Instant>; 2],
    paused_until: Option<Instant>,
}

impl Tenant {
    fn idle(&self, now: Instant, window: Duration) -> bool {
        self.paused_until.is_none_or(|until| until <= now)
            && self
                .grants
                .iter()
                .all(|g| g.back().is_none_or(|last| *last + window <= now))
    }
}

/// Tenants' windows and pauses in this process.
pub(crate) struct Ledger {
    window: Duration,
    tenants: Mutex<HashMap<String, Tenant>>,
}

impl Ledger {
    /// A ledger counting over `window`.
    pub(crate) fn new(window: Duration) -> Self {
        Ledger {
            window,
            tenants: Mutex::default(),
        }
    }

    /// Grants `ask` now, or says how long until it could be.
    pub(crate) fn take(&self, ask: &Ask<'_>, now: Instant) -> Decision {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if !tenants.contains_key(ask.tenant) && tenants.len() >= MAX_TENANTS {
            tenants.retain(|_, t| !t.idle(now, self.window));
            if tenants.len() >= MAX_TENANTS {
                return Decision::Wait(self.window);
            }
        }
        let tenant = tenants.entry(ask.tenant.to_owned()).or_default();
        if let Some(until) = tenant.paused_until.filter(|until| *until > now) {
            return Decision::Wait(until - now);
        }
        let mut wait = Duration::ZERO;
        for bucket in &ask.buckets {
            let grants = &mut tenant.grants[bucket.kind as usize];
            while grants.front().is_some_and(|t| *t + self.window <= now) {
                grants.pop_front();
            }
            let count = ask.count as usize;
            let cap = bucket.cap as usize;
            if grants.len() + count > cap {
                let needed = match (grants.len() + count - cap).checked_sub(1) {
                    Some(k) if count <= cap => grants[k] + self.window - now,
                    _ => self.window,
                };
                wait = wait.max(needed.max(Duration::from_millis(1)));
            }
        }
        if !wait.is_zero() {
            return Decision::Wait(wait);
        }
        for bucket in &ask.buckets {
            let grants = &mut tenant.grants[bucket.kind as usize];
            grants.extend(std::iter::repeat_n(now, ask.count as usize));
        }
        let first = &ask.buckets[0];
        let used = tenant.grants[first.kind as usize].len() as u32;
        Decision::Granted {
            left: first.limit.saturating_sub(used),
        }
    }

    /// Holds every request of `tenant` until `until` (a later pause already set stands).
    pub(crate) fn pause(&self, tenant: &str, until: Instant) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if !tenants.contains_key(tenant) && tenants.len() >= MAX_TENANTS {
            let now = Instant::now();
            tenants.retain(|_, t| !t.idle(now, self.window));
        }
        if tenants.len() < MAX_TENANTS || tenants.contains_key(tenant) {
            let entry = tenants.entry(tenant.to_owned()).or_default();
            entry.paused_until = entry.paused_until.max(Some(until));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Bucket, Kind};
    use super::*;

    fn ask(tenant: &str, count: u32, caps: &[(Kind, u32)]) -> Ask<'static> {
        Ask {
            tenant: Box::leak(tenant.to_owned().into_boxed_str()),
            count,
            buckets: caps
                .iter()
                .map(|&(kind, cap)| Bucket {
                    kind,
                    cap,
                    limit: 10,
                })
                .collect(),
        }
    }

    #[test]
    fn never_more_than_the_cap_in_any_window_and_the_wait_is_exact() {
        let ledger = Ledger::new(Duration::from_secs(20));
        let t0 = Instant::now();
        let reads = ask("t", 1, &[(Kind::Read, 3)]);
        for i in 0..3 {
            let now = t0 + Duration::from_secs(i);
            assert!(matches!(ledger.take(&reads, now), Decision::Granted { .. }));
        }
        let now = t0 + Duration::from_secs(5);
        match ledger.take(&reads, now) {
            Decision::Wait(wait) => assert_eq!(wait, Duration::from_secs(15)),
            Decision::Granted { .. } => panic!("a fourth grant in the window"),
        }
        // The first grant leaves the window at t0 + 20 s: exactly one slot frees.
        let later = t0 + Duration::from_secs(20);
        assert!(matches!(
            ledger.take(&reads, later),
            Decision::Granted { .. }
        ));
        assert!(matches!(ledger.take(&reads, later), Decision::Wait(_)));
        // Another tenant has its own window.
        assert!(matches!(
            ledger.take(&ask("u", 3, &[(Kind::Read, 3)]), later),
            Decision::Granted { left: 7 }
        ));
    }

    #[test]
    fn a_write_needs_room_in_both_buckets_and_takes_from_both() {
        let ledger = Ledger::new(Duration::from_secs(20));
        let now = Instant::now();
        let write = ask("t", 1, &[(Kind::Read, 5), (Kind::Write, 1)]);
        assert!(matches!(ledger.take(&write, now), Decision::Granted { .. }));
        assert!(matches!(ledger.take(&write, now), Decision::Wait(_)));
        let reads = ask("t", 4, &[(Kind::Read, 5)]);
        assert!(matches!(
            ledger.take(&reads, now),
            Decision::Granted { left: 5 }
        ));
        assert!(matches!(
            ledger.take(&ask("t", 1, &[(Kind::Read, 5)]), now),
            Decision::Wait(_)
        ));
    }

    #[test]
    fn more_than_the_cap_at_once_waits_a_whole_window() {
        let ledger = Ledger::new(Duration::from_secs(20));
        let decision = ledger.take(&ask("t", 4, &[(Kind::Read, 3)]), Instant::now());
        assert!(matches!(decision, Decision::Wait(w) if w == Duration::from_secs(20)));
    }

    #[test]
    fn a_pause_holds_the_tenant_and_the_longest_pause_wins() {
        let ledger = Ledger::new(Duration::from_secs(20));
        let now = Instant::now();
        ledger.pause("t", now + Duration::from_secs(10));
        ledger.pause("t", now + Duration::from_secs(2));
        let reads = ask("t", 1, &[(Kind::Read, 3)]);
        match ledger.take(&reads, now) {
            Decision::Wait(wait) => assert_eq!(wait, Duration::from_secs(10)),
            Decision::Granted { .. } => panic!("granted while paused"),
        }
        assert!(matches!(
            ledger.take(&reads, now + Duration::from_secs(10)),
            Decision::Granted { .. }
        ));
    }

    #[test]
    fn the_tenant_table_is_bounded_and_idle_tenants_make_room() {
        let ledger = Ledger::new(Duration::from_secs(1));
        let now = Instant::now();
        for i in 0..MAX_TENANTS {
            let decision = ledger.take(&ask(&format!("t{i}"), 1, &[(Kind::Read, 3)]), now);
            assert!(matches!(decision, Decision::Granted { .. }));
        }
        let newcomer = ask("new", 1, &[(Kind::Read, 3)]);
        assert!(matches!(ledger.take(&newcomer, now), Decision::Wait(_)));
        let later = now + Duration::from_secs(1);
        assert!(matches!(
            ledger.take(&newcomer, later),
            Decision::Granted { .. }
        ));
    }
}
