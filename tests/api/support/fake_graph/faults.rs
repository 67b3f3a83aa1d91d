//! What a test makes the fake do instead of its normal work: canned answers (errors,
//! throttling, unreadable bodies) for the next few matching requests, and delays.

use std::time::Duration;

use serde_json::{Value, json};

use crate::FakeGraph;
use crate::odata::intune_message;
use crate::recording::Recorded;
use crate::serve::IncomingRequest;

/// Selects requests, for [`FakeGraph::inject`], [`FakeGraph::set_delay`] and
/// [`FakeGraph::count`]. All set criteria must hold; an empty `Match` matches everything
/// (including the outer `$batch` POST: add `.in_batch(true)` to aim at sub-requests only).
#[derive(Clone, Debug, Default)]
pub struct Match {
    /// HTTP method, compared case-insensitively.
    pub method: Option<String>,
    /// Substring of the raw (percent-encoded) path, see [`Recorded::path`].
    pub path_contains: Option<String>,
    /// Substring of the raw query string (a request without a query never matches).
    pub query_contains: Option<String>,
    /// Only plain requests (`false`) or only batch sub-requests (`true`).
    pub in_batch: Option<bool>,
}

impl Match {
    /// Matches every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Matches requests with this HTTP method.
    pub fn method(method: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            ..Match::default()
        }
    }

    /// Matches requests whose raw path contains `fragment`.
    pub fn path(fragment: &str) -> Match {
        Match::any().path_contains(fragment)
    }

    /// Additionally require the raw path to contain `fragment`.
    pub fn path_contains(mut self, fragment: &str) -> Match {
        self.path_contains = Some(fragment.to_string());
        self
    }

    /// Additionally require the raw query to contain `fragment`.
    pub fn query_contains(mut self, fragment: &str) -> Match {
        self.query_contains = Some(fragment.to_string());
        self
    }

    /// Additionally require the request to be (or not be) a batch sub-request.
    pub fn in_batch(mut self, yes: bool) -> Match {
        self.in_batch = Some(yes);
        self
    }

    /// Whether a recorded request satisfies this match.
    pub fn matches(&self, r: &Recorded) -> bool {
        self.matches_parts(&r.method, &r.path, r.query.as_deref(), r.in_batch)
    }

    fn matches_request(&self, req: &IncomingRequest) -> bool {
        self.matches_parts(
            &req.method,
            &req.raw_path,
            req.query.as_deref(),
            req.in_batch,
        )
    }

    fn matches_parts(&self, method: &str, path: &str, query: Option<&str>, in_batch: bool) -> bool {
        let method_ok = self
            .method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = self
            .path_contains
            .as_ref()
            .is_none_or(|p| path.contains(p.as_str()));
        let query_ok = self
            .query_contains
            .as_ref()
            .is_none_or(|q| query.is_some_and(|query| query.contains(q.as_str())));
        let batch_ok = self.in_batch.is_none_or(|b| b == in_batch);
        method_ok && path_ok && query_ok && batch_ok
    }
}

/// A canned response served instead of normal handling (see [`FakeGraph::inject`]).
///
/// For a batch sub-request it becomes that sub-response: `status`, `headers` and `body`
/// (a `raw_body` appears there as a JSON string).
#[derive(Clone, Debug)]
pub struct Canned {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (a `Content-Type` here replaces the default one).
    pub headers: Vec<(String, String)>,
    /// JSON body. If it contains `error.innerError` whose `request-id`,
    /// `client-request-id` or `date` is an empty string, those are filled in when served.
    pub body: Option<Value>,
    /// Raw body text; wins over `body` when set (for unreadable-body tests).
    pub raw_body: Option<String>,
}

impl Canned {
    /// A response with a JSON body.
    pub fn json(status: u16, body: Value) -> Canned {
        Canned {
            body: Some(body),
            ..Canned::empty(status)
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: None,
            raw_body: None,
        }
    }

    /// A response whose body is `text` verbatim, labelled `Content-Type: application/json`
    /// (as a truncated or corrupt JSON answer would be); override with `.header(..)`.
    pub fn raw(status: u16, text: &str) -> Canned {
        Canned {
            raw_body: Some(text.to_string()),
            ..Canned::empty(status)
        }
    }

    /// Graph's error envelope
    /// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`;
    /// the innerError values are filled in per request when served.
    pub fn graph_error(status: u16, code: &str, message: &str) -> Canned {
        Canned::json(
            status,
            json!({"error": {"code": code, "message": message,
                "innerError": {"date": "", "request-id": "", "client-request-id": ""}}}),
        )
    }

    /// Like [`Canned::graph_error`], but with Intune's habit of a JSON document inside
    /// `error.message`; its `Message` member starts with `human`.
    pub fn intune_error(status: u16, code: &str, human: &str) -> Canned {
        Canned::graph_error(
            status,
            code,
            &intune_message(human, &uuid::Uuid::new_v4().to_string(), None),
        )
    }

    /// 429 `TooManyRequests` with `Retry-After: <retry_after>` (verbatim, so `"2.128"` or
    /// an HTTP date can be tested too).
    pub fn throttled(retry_after: &str) -> Canned {
        Canned::graph_error(
            429,
            "TooManyRequests",
            "Too many requests from Identifier: tenant + app under category: IntuneGroupPolicy. Please try again later.",
        )
        .header("Retry-After", retry_after)
    }

    /// 429 without `Retry-After`, as Intune sometimes sends (IntuneCD crashed on these).
    pub fn throttled_without_retry_after() -> Canned {
        Canned::graph_error(
            429,
            "TooManyRequests",
            "Too many requests from Identifier: tenant + app under category: IntuneGroupPolicy. Please try again later.",
        )
    }

    /// Adds (or replaces, case-insensitively) a response header.
    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A canned answer waiting for its next `remaining` matching requests.
pub(crate) struct Injection {
    selector: Match,
    answer: Canned,
    remaining: usize,
}

impl FakeGraph {
    /// The next `times` requests matching `m` get `resp` instead of normal handling (no
    /// auth check, no state change). Applies to batch sub-requests too (the canned answer
    /// becomes the sub-response) and to the outer `$batch` POST. When several injections
    /// match, the earliest queued one is used first.
    pub fn inject(&self, m: Match, resp: Canned, times: usize) {
        if times > 0 {
            self.lock().injections.push(Injection {
                selector: m,
                answer: resp,
                remaining: times,
            });
        }
    }

    /// How many injected responses are still waiting to be served (summed over all).
    pub fn pending_injections(&self) -> usize {
        self.lock().injections.iter().map(|i| i.remaining).sum()
    }

    /// Drops all queued injections.
    pub fn clear_injections(&self) {
        self.lock().injections.clear();
    }

    /// Every request matching `m` is answered only after `d` (the request is recorded on
    /// arrival). The first matching delay applies and stays in force for the fake's life.
    pub fn set_delay(&self, m: Match, d: Duration) {
        self.lock().delays.push((m, d));
    }

    /// The delay a test set for this request, if any.
    pub(crate) fn delay_for(&self, req: &IncomingRequest) -> Option<Duration> {
        self.lock()
            .delays
            .iter()
            .find(|(m, _)| m.matches_request(req))
            .map(|(_, d)| *d)
    }

    /// Takes one use of the first injection matching this request.
    pub(crate) fn take_injection(&self, req: &IncomingRequest) -> Option<Canned> {
        let mut state = self.lock();
        let idx = state
            .injections
            .iter()
            .position(|i| i.selector.matches_request(req))?;
        let injection = &mut state.injections[idx];
        injection.remaining -= 1;
        let answer = injection.answer.clone();
        if injection.remaining == 0 {
            state.injections.remove(idx);
        }
        Some(answer)
    }
}
