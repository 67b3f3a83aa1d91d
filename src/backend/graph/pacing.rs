//! How the Graph client paces itself, as Microsoft asks: how long before a retry (`Retry-After`
//! in each of its forms, else a backoff), and for the tenant: every request takes a
//! slot from its tenant's budget before it is sent ([`GraphClient::admit`]); a 429 pauses the
//! whole tenant, not only the caller that got it ([`GraphClient::pause_tenant`]), so no request
//! or poller of that tenant goes out before `Retry-After` has passed; without `Retry-After`,
//! the wait is Microsoft's SDKs' backoff ([`throttle_backoff`]); and each retry carries
//! `Retry-Attempt: n`.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::client::GraphClient;
use crate::backend::Caller;
use crate::error::Error;

/// Most retries of one call (or of one key inside a Graph `$batch`).
pub(crate) const MAX_RETRIES: u32 = 3;
const BASE_BACKOFF: Duration = Duration::from_millis(500);

/// Microsoft's header telling Graph which retry a request is.
pub(crate) const RETRY_ATTEMPT: HeaderName = HeaderName::from_static("retry-attempt");

/// Parses `Retry-After`: whole or fractional seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(3600.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(3600)),
    )
}

/// Exponential backoff with full jitter around the doubling base.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF * 2u32.saturating_pow(attempt);
    base.mul_f64(0.5 + fastrand::f64())
}

/// What Kiota's retry handler waits after a 429 without `Retry-After`: 3 s x 2^n (n from 0
/// for the first retry) plus up to 1 s of jitter.
pub(crate) fn throttle_backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(3).saturating_mul(2u32.saturating_pow(attempt.min(10)));
    base + Duration::from_secs_f64(fastrand::f64())
}

/// `headers`, with `Retry-Attempt: n` from the first retry on.
pub(crate) fn retry_headers(headers: &HeaderMap, attempt: u32) -> HeaderMap {
    let mut headers = headers.clone();
    if attempt > 0 {
        headers.insert(RETRY_ATTEMPT, HeaderValue::from(attempt));
    }
    headers
}

impl GraphClient {
    /// Takes `count` slots (writes: from the write budget too) for `caller`'s tenant, waiting
    /// at most until `deadline`; `THROTTLED` with a `retryAfter` when there is no room in time.
    pub(crate) async fn admit(
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
    pub(crate) async fn pause_tenant(&self, caller: &Caller, wait: Duration) {
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
    fn retry_after_accepts_seconds_fractions_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128))
        );
        let soon = SystemTime::now() + Duration::from_secs(5);
        let date = httpdate::fmt_http_date(soon);
        let parsed = parse_retry_after(&date).expect("a date");
        assert!(
            parsed <= Duration::from_secs(5) && parsed >= Duration::from_secs(3),
            "{parsed:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn backoff_grows_and_jitters() {
        let first = backoff(0);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(750));
        let third = backoff(2);
        assert!(third >= Duration::from_millis(1000) && third <= Duration::from_millis(3000));
    }

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
