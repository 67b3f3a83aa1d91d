//! Logs on stderr, as text or JSON lines, and the request line: one span per HTTP request that
//! carries its trace id and its `client-request-id`, never a header's value or a query string
//! (either may hold a token or personal data).
//!
//! The gateway's other spans (an operation, a root field, a Graph call) are there for traces:
//! the log layer does not see them, so with traces off they are never created, and no request
//! pays for formatting fields that no line would print. A line logged inside one of them is
//! printed in its request's span, with the trace id that leads to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use tracing::Span;
use tracing_subscriber::EnvFilter;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::traces::{self, Tracing};
use crate::config::LogFormat;
use crate::http::CLIENT_REQUEST_ID;

/// Whether spans go to an OpenTelemetry exporter (set once by [`init`]).
static TRACES_ON: AtomicBool = AtomicBool::new(false);

/// Whether spans go to an OpenTelemetry exporter: when they do not, no per-field span is
/// wanted, and an operation may run without the schema's per-field hooks.
pub fn traces_on() -> bool {
    TRACES_ON.load(Ordering::Relaxed)
}

/// Installs the process' log subscriber (`RUST_LOG` filters, default `info`) and, when the
/// environment asks for them, OpenTelemetry traces. Call before the async runtime starts; keep
/// the returned exporter until exit.
pub fn init(format: LogFormat) -> Result<Option<Tracing>, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Text => fmt
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let (tracing, traces) = if traces::requested() {
        let (tracing, layer) = traces::layer()?;
        // The gateway's own spans only: not every span of hyper, reqwest or h2.
        let ours = Targets::new().with_target("gpo_gateway", tracing::Level::INFO);
        TRACES_ON.store(true, Ordering::Relaxed);
        (Some(tracing), Some(layer.with_filter(ours)))
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(traces)
        .with(fmt.with_filter(filter.and(filter_fn(logged))))
        .init();
    Ok(tracing)
}

/// What the log layer sees: every event, other crates' spans (as `RUST_LOG` allows), and of the
/// gateway's own spans only the request's.
fn logged(metadata: &tracing::Metadata<'_>) -> bool {
    !metadata.is_span()
        || metadata.name() == "request"
        || !metadata.target().starts_with("gpo_gateway")
}

/// The span of one HTTP request: method, path, and the trace id (the caller's W3C
/// `traceparent` when it sent a valid one, else a new one). The `client-request-id` is
/// recorded when the answer is known, as the gateway echoes it. Its trace span's name
/// (`otel.name`, method and path again) is formatted only when traces are on.
pub fn request_span(request: &Request) -> Span {
    let span = if TRACES_ON.load(Ordering::Relaxed) {
        // A string field, not a formatted one: text logs print it quoted with quotes, control
        // characters and escapes escaped, so a path cannot forge a log line or a field.
        let otel_name = format!("{} {}", request.method(), request.uri().path());
        tracing::info_span!(
            "request",
            otel.name = otel_name.as_str(),
            method = %request.method(),
            path = request.uri().path(),
            trace_id = tracing::field::Empty,
            client_request_id = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            trace_id = tracing::field::Empty,
            client_request_id = tracing::field::Empty,
        )
    };
    let trace_id = traces::continue_trace(&span, request.headers())
        .unwrap_or_else(|| trace_id(request.headers()));
    span.record("trace_id", trace_id);
    span
}

/// A request taking this long or longer is always logged, whatever the sampling.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Writes the request line ([`on_response`]) for one in `sample` ordinary requests (an answer
/// under 400, faster than [`SLOW_REQUEST`]) and for every other one: at a high rate, the line
/// is a large share of a small request's cost.
#[derive(Clone)]
pub struct RequestLines {
    sample: u64,
    seen: Arc<AtomicU64>,
}

impl RequestLines {
    /// Every request line when `sample` is 1 (or 0); one ordinary line in `sample` otherwise.
    pub fn new(sample: u64) -> Self {
        RequestLines {
            sample: sample.max(1),
            seen: Arc::new(AtomicU64::new(0)),
        }
    }

    fn wanted_for(&self, status: u16, latency: Duration) -> bool {
        self.sample == 1
            || status >= 400
            || latency >= SLOW_REQUEST
            || self
                .seen
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(self.sample)
    }
}

impl<B> tower_http::trace::OnResponse<B> for RequestLines {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        if self.wanted_for(response.status().as_u16(), latency) {
            on_response(response, latency, span);
        }
    }
}

/// The request line: status, latency and the `client-request-id` the gateway answered with.
pub fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    if let Some(id) = response
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        // Only ever a GUID: the gateway echoes the client's id when it is one, else its own.
        span.record("client_request_id", id);
    }
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "request finished"
    );
}

/// The trace id of an incoming W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or a new
/// random one when it is absent or malformed.
pub fn trace_id(headers: &HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_traceparent)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

fn parse_traceparent(value: &str) -> Option<String> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && hex(flags, 2);
    valid.then(|| trace.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_inside_an_operation_is_printed_in_its_request_span_and_operation_spans_are_not_made()
    {
        let lines = Lines::default();
        let writer = lines.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(EnvFilter::new("info").and(filter_fn(logged)));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", path = "/graphql");
            let _request = request.enter();
            let operation = tracing::info_span!("graphql", graphql.operation.name = "Secretive");
            assert!(operation.is_disabled(), "no layer wants the operation span");
            let _operation = operation.enter();
            tracing::warn!("retrying");
        });
        let text = String::from_utf8(lines.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(text.contains("request{path=\"/graphql\"}: "), "{text}");
        assert!(text.contains("retrying"), "{text}");
        assert!(!text.contains("Secretive"), "{text}");
    }

    #[test]
    fn a_valid_traceparent_gives_its_trace_id_and_anything_else_a_new_one() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(good).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(parse_traceparent("00-xyz-00f067aa0ba902b7-01"), None);
        assert_eq!(parse_traceparent("Bearer secret"), None);
    }
}

#[cfg(test)]
mod sampling_tests {
    use super::*;

    #[test]
    fn one_ordinary_line_in_n_and_every_error_and_slow_request() {
        let lines = RequestLines::new(3);
        let fast = Duration::from_millis(2);
        let kept: Vec<bool> = (0..7).map(|_| lines.wanted_for(200, fast)).collect();
        assert_eq!(kept, [true, false, false, true, false, false, true]);
        for _ in 0..5 {
            assert!(lines.wanted_for(400, fast));
            assert!(lines.wanted_for(503, fast));
            assert!(lines.wanted_for(200, SLOW_REQUEST));
        }
        let every = RequestLines::new(1);
        assert!((0..5).all(|_| every.wanted_for(200, fast)));
    }
}
