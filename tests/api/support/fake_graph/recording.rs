//! What the fake received, kept so tests can assert what the gateway sent (paths, query
//! options, headers, bodies), not only what it made of the answers.

use axum::http::HeaderMap;
use serde_json::Value;

use crate::FakeGraph;
use crate::faults::Match;
use crate::serve::IncomingRequest;

/// One request the fake received: a plain HTTP request, or one sub-request of a `$batch`
/// (`in_batch == true`). The outer `$batch` POST is recorded first, then its
/// sub-requests in the order they appear in the batch body.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Upper-case HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// The raw path as received, still percent-encoded, without the query, e.g.
    /// `/beta/deviceManagement/...`. For a batch sub-request it is `/beta/` followed by the
    /// sub-request's `url` up to `?` (one leading `/` in that url is not doubled).
    pub path: String,
    /// The raw query string (without `?`), if the request had one.
    pub query: Option<String>,
    /// Request headers. For a batch sub-request: its own `headers` plus the outer
    /// request's `Authorization` (which is what Graph authenticates a sub-request with).
    pub headers: HeaderMap,
    /// The body parsed as JSON, when there was a body and it parsed.
    pub body: Option<Value>,
    /// The body as (lossy UTF-8) text, when there was a non-empty body.
    pub body_text: Option<String>,
    /// True for a sub-request unpacked from a `$batch`.
    pub in_batch: bool,
}

impl Recorded {
    /// The value of header `name` (case-insensitive), if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl FakeGraph {
    /// Every request received so far (outer `$batch` POSTs and, flagged `in_batch`, each
    /// of their sub-requests), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// How many recorded requests satisfy `m`.
    pub fn count(&self, m: &Match) -> usize {
        self.lock().requests.iter().filter(|r| m.matches(r)).count()
    }

    pub(crate) fn record(&self, req: &IncomingRequest) {
        let has_body = !req.body.is_empty();
        let body_text = has_body.then(|| String::from_utf8_lossy(&req.body).into_owned());
        let body = has_body
            .then(|| serde_json::from_slice(&req.body).ok())
            .flatten();
        self.lock().requests.push(Recorded {
            method: req.method.clone(),
            path: req.raw_path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body,
            body_text,
            in_batch: req.in_batch,
        });
    }
}
