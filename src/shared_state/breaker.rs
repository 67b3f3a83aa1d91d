//! A circuit breaker for Redis: after a failure, commands fail at once (no timeout paid per
//! request) until a cool-down has passed; then one probe goes through, and its success closes
//! the circuit again. Every change is logged once and shown in `/metrics`, so "degraded" is
//! a state an operator can see, not a stream of errors.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::telemetry::budget_metrics::BudgetFigures;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed,
    /// Failing; the next probe may go at this time.
    Open {
        probe_at: Instant,
    },
    /// One probe is out.
    Probing,
}

/// Whether Redis may be asked now.
pub(crate) struct Breaker {
    state: Mutex<State>,
    cool_down: Duration,
    /// Where Redis' state and failures count.
    figures: BudgetFigures,
}

impl Breaker {
    /// A closed breaker that waits `cool_down` after a failure before probing.
    pub(crate) fn new(cool_down: Duration, figures: BudgetFigures) -> Self {
        figures.redis_up(true);
        Breaker {
            state: Mutex::new(State::Closed),
            cool_down,
            figures,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when a command may be sent now (closed, or this call is the probe).
    pub(crate) fn allow(&self) -> bool {
        let mut state = self.state();
        match *state {
            State::Closed => true,
            State::Open { probe_at } if Instant::now() >= probe_at => {
                *state = State::Probing;
                true
            }
            State::Open { .. } | State::Probing => false,
        }
    }

    /// The command sent after [`allow`](Self::allow) succeeded.
    pub(crate) fn succeeded(&self) {
        let mut state = self.state();
        if *state != State::Closed {
            *state = State::Closed;
            self.figures.redis_up(true);
            tracing::warn!(
                "Redis is reachable again: shared budgets, persisted queries and idempotency keys are back"
            );
        }
    }

    /// The command sent after [`allow`](Self::allow) failed or timed out.
    pub(crate) fn failed(&self, error: &str) {
        let mut state = self.state();
        if *state == State::Closed {
            self.figures.redis_up(false);
            tracing::warn!(
                %error,
                "Redis is unreachable: degraded (each replica spends its own share of the tenant budget, persisted queries miss, requests with an Idempotency-Key get 503)"
            );
        }
        self.figures.redis_failure();
        *state = State::Open {
            probe_at: Instant::now() + self.cool_down,
        };
    }

    /// True while commands are refused.
    pub(crate) fn is_open(&self) -> bool {
        *self.state() != State::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_opens_then_one_probe_after_the_cool_down_closes() {
        let breaker = Breaker::new(Duration::from_millis(50), BudgetFigures::default());
        assert!(breaker.allow());
        breaker.failed("refused");
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open: fail fast");
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow(), "the probe");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.failed("still down");
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow());
        breaker.succeeded();
        assert!(!breaker.is_open());
        assert!(
            breaker.allow() && breaker.allow(),
            "closed: everything goes"
        );
    }
}
