//! Which browser pages may use the gateway: the CORS layer for HTTP and the same rule for
//! WebSocket upgrades, which browsers never preflight (a page on any site may open a WebSocket
//! to `127.0.0.1`; only the server can refuse it, by its `Origin`).
//!
//! The rule comes from `--cors-origins`; unset, store mode (a laptop with demo data) allows
//! local development servers on any port, and graph mode (real tenants, users' tokens) allows
//! no other site. A refused preflight is the one thing a developer sees only in the browser
//! ("Failed to fetch"), so the first refusal of each origin is logged at WARN with the flag to
//! set.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::BackendKind;
use crate::config::origins::{Origin, OriginPattern};

/// Origins store mode allows when `--cors-origins` is not set.
const LOCAL_DEVELOPMENT: [&str; 2] = ["http://localhost:*", "http://127.0.0.1:*"];

/// Distinct refused origins logged; later ones are counted in one last line, not each logged,
/// so a client sending random origins cannot fill the log or the memory.
const MAX_LOGGED_ORIGINS: usize = 64;

/// Request headers a browser page may send: the ones Apollo Client, `Idempotency-Key` and W3C
/// trace context need.
const ALLOWED_HEADERS: [&str; 11] = [
    "content-type",
    "authorization",
    "accept",
    "client-request-id",
    "idempotency-key",
    "traceparent",
    "tracestate",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
];

/// Response headers a page's JavaScript may read.
const EXPOSED_HEADERS: [&str; 4] = [
    "client-request-id",
    "request-id",
    "idempotent-replayed",
    "retry-after",
];

/// The browser origins the gateway serves.
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    any: bool,
    patterns: Vec<OriginPattern>,
    /// Said in the start-up banner.
    summary: String,
    refused: Arc<RefusedOrigins>,
}

impl AllowedOrigins {
    /// From `--cors-origins` (already checked by its parser), or `backend`'s default.
    pub fn new(cors_origins: &[String], backend: BackendKind) -> Self {
        let configured: Vec<&str> = cors_origins
            .iter()
            .map(String::as_str)
            .filter(|value| !value.is_empty())
            .collect();
        let (values, summary): (Vec<&str>, String) = if !configured.is_empty() {
            let values = configured;
            let summary = format!("{} (--cors-origins)", values.join(", "));
            (values, summary)
        } else if backend == BackendKind::Store {
            let summary = format!(
                "{} (store mode default; --cors-origins to choose others)",
                LOCAL_DEVELOPMENT.join(" and ")
            );
            (LOCAL_DEVELOPMENT.to_vec(), summary)
        } else {
            let summary = "none but this gateway's own pages (graph mode default); allow an \
                           app with --cors-origins https://admin.example.com"
                .to_owned();
            (Vec::new(), summary)
        };
        AllowedOrigins {
            any: values.contains(&"*"),
            patterns: values
                .iter()
                .filter_map(|value| OriginPattern::parse(value).ok())
                .collect(),
            summary,
            refused: Arc::new(RefusedOrigins::default()),
        }
    }

    /// Which origins may call, in words.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Whether a page at `origin` (an `Origin` header) may call the gateway.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        self.any
            || origin
                .to_str()
                .ok()
                .and_then(Origin::parse)
                .is_some_and(|origin| self.patterns.iter().any(|p| p.matches(&origin)))
    }

    /// Whether a WebSocket upgrade with these headers may go on: no `Origin` (not a browser),
    /// an allowed origin, or the gateway's own site (the playground). Logs a refusal.
    pub fn allows_websocket(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let own_site = origin
            .to_str()
            .ok()
            .and_then(Origin::parse)
            .zip(headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .is_some_and(|(origin, host)| origin.is_host(host));
        let allowed = own_site || self.allows(origin);
        if !allowed {
            self.refused.warn(origin, "a WebSocket");
        }
        allowed
    }

    /// The CORS layer for these origins.
    pub fn layer(&self) -> CorsLayer {
        let origins = self.clone();
        let allow_origin = AllowOrigin::predicate(move |origin: &HeaderValue, parts: &Parts| {
            let allowed = origins.allows(origin);
            let preflight = parts.method == Method::OPTIONS
                && parts
                    .headers
                    .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
            if !allowed && preflight {
                origins.refused.warn(origin, "a CORS preflight");
            }
            allowed
        });
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(Duration::from_secs(600))
    }
}

/// The refused origins already logged.
#[derive(Debug, Default)]
struct RefusedOrigins {
    seen: Mutex<HashSet<String>>,
}

impl RefusedOrigins {
    /// Logs the first refusal of `origin` at WARN, with the flag that would allow it.
    fn warn(&self, origin: &HeaderValue, what: &str) {
        // Only a well-formed origin is logged, in its normal form: header bytes never reach the
        // log as they came.
        let shown = origin
            .to_str()
            .ok()
            .and_then(Origin::parse)
            .map_or_else(|| "(not an origin)".to_owned(), |o| o.to_string());
        if !self.first_time(&shown) {
            return;
        }
        tracing::warn!(
            origin = %shown,
            "refused {what} from a browser page at {shown}: to allow it, start the gateway with \
             --cors-origins {shown} (or GPO_GATEWAY_CORS_ORIGINS); further refusals of this \
             origin are not logged"
        );
    }

    /// Whether `origin` is logged now: its first refusal, while fewer than the cap were logged.
    fn first_time(&self, origin: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > MAX_LOGGED_ORIGINS || seen.contains(origin) {
            return false;
        }
        if seen.len() == MAX_LOGGED_ORIGINS {
            seen.insert(String::new());
            tracing::warn!(
                "refused browser requests from {MAX_LOGGED_ORIGINS} origins; further origins \
                 are not logged"
            );
            return false;
        }
        seen.insert(origin.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_origin_is_logged_once_and_the_log_is_bounded() {
        let refused = RefusedOrigins::default();
        assert!(refused.first_time("http://a.example"));
        assert!(!refused.first_time("http://a.example"));
        for n in 1..MAX_LOGGED_ORIGINS {
            assert!(refused.first_time(&format!("http://{n}.example")));
        }
        assert!(!refused.first_time("http://one-too-many.example"));
        assert!(!refused.first_time("http://another.example"));
        let held = refused.seen.lock().expect("lock").len();
        assert_eq!(held, MAX_LOGGED_ORIGINS + 1, "memory stays bounded");
    }
}
