//! How the Graph client paces itself for the tenant, as Microsoft asks: every request takes a
//! slot from its tenant's budget before it is sent ([`GraphClient::admit`]); a 429 pauses the
//! whole tenant, not only the caller that got it ([`GraphClient::pause_tenant`]), so no request
//! or poller of that tenant goes out before `Retry-After` has passed; without `Retry-After`,
//! the wait is Microsoft's SDKs' backoff ([`throttle_backoff`]); and each retry carries
//! `Retry-Attempt: n`.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::client::GraphClient;
use crate::backend::Caller;
use crate::error::Error;

/// Microsoft's header telling Graph which retry a request is.
pub const RETRY_ATTEMPT: HeaderName = HeaderName::from_static("retry-attempt");

/// What Kiota's retry handler waits after a 429 without `Retry-After`: 3 s x 2^n (n from 0
/// for the first retry) plus up to 1 s of jitter.
pub fn throttle_backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(3).saturating_mul(2u32.saturating_pow(attempt.min(10)));
    base + Duration::from_secs_f64(fastrand::f64())
}

/// `headers`, with `Retry-Attempt: n` from the first retry on.
pub fn retry_headers(headers: &HeaderMap, attempt: u32) -> HeaderMap {
    let mut headers = headers.clone();
    if attempt > 0 {
        headers.insert(RETRY_ATTEMPT, HeaderValue::from(attempt));
    }
    headers
}

impl GraphClient {
    /// Takes `count` slots (writes: from the write budget too) for `caller`'s tenant, waiting
    /// at most until `deadline`; `THROTTLED` with a `retryAfter` when there is no room in time.
    pub async fn admit(
        &self,
        caller: &Caller,
        write: bool,
        count: usize,
        deadline: Instant,
    ) -> Result<(), Error> {
        let Some(budget) = self.tenant_budget() else {
            return Ok(());
        };
        let tenant = budget.tenant_of(caller.token.as_ref(), self.vouched());
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        budget
            .acquire(&tenant, write, count, caller.budget.priority(), deadline)
            .await
            .map(|_| ())
    }

    /// Graph answered `caller` with a 429 asking for `wait`: the tenant waits, everywhere.
    pub async fn pause_tenant(&self, caller: &Caller, wait: Duration) {
        if let Some(budget) = self.tenant_budget() {
            let tenant = budget.tenant_of(caller.token.as_ref(), self.vouched());
            budget.pause(&tenant, wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_backoff_is_three_seconds_doubling_with_up_to_a_second_of_jitter() {
        for (attempt, base) in [(0, 3), (1, 6), (2, 12)] {
            let wait = throttle_backoff(attempt);
            let base = Duration::from_secs(base);
            assert!(
                wait >= base && wait <= base + Duration::from_secs(1),
                "{wait:?}"
            );
        }
    }

    #[test]
    fn only_retries_say_which_attempt_they_are() {
        let headers = HeaderMap::new();
        assert!(retry_headers(&headers, 0).get(RETRY_ATTEMPT).is_none());
        assert_eq!(retry_headers(&headers, 2).get(RETRY_ATTEMPT).unwrap(), "2");
    }
}
