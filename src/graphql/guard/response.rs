//! Bounds on what goes back to a client: bytes per operation, bytes per HTTP batch, and the
//! number of errors in one response.
//!
//! Over HTTP the byte caps count the body as it is serialised to be sent ([`http_body`],
//! [`http_batch_body`]): the response is serialised once, not once more to be measured. Other
//! paths (WebSocket messages) are measured by [`ResponseLimits::bound`].

use std::io;

use async_graphql::{Response, ServerError, Value};

use super::refused;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

/// Caps on responses.
#[derive(Debug, Clone, Copy)]
pub struct ResponseLimits {
    /// Largest serialised response of one operation (or one subscription event).
    pub max_response_bytes: usize,
    /// Largest serialised answer to one HTTP batch.
    pub max_batch_response_bytes: usize,
    /// Most errors in one response; the rest are summed up in one more error.
    pub max_errors: usize,
}

/// Request data saying the response goes back over HTTP, which holds it to the byte cap as it
/// serialises it ([`http_body`], [`http_batch_body`]), so the guard need not measure it first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoundWhenSent;

impl ResponseLimits {
    /// Trims `response` to the error cap, then replaces it with one `LIMIT_EXCEEDED` error if
    /// it is still larger than the byte cap.
    pub fn bound(&self, response: &mut Response, metrics: &Metrics) {
        self.bound_errors(response, metrics);
        if serialised_len(response, self.max_response_bytes).is_none() {
            self.refuse_size(response, metrics);
        }
    }

    /// Trims `response` to the error cap: the rest are summed up in one more error.
    pub fn bound_errors(&self, response: &mut Response, metrics: &Metrics) {
        if response.errors.len() > self.max_errors {
            let dropped = response.errors.len() - self.max_errors;
            response.errors.truncate(self.max_errors);
            let refusal = Refusal::Errors {
                dropped,
                limit: self.max_errors,
            };
            response.errors.push(refused(metrics, refusal, None));
        }
    }

    /// Replaces `response` with the one error saying it was larger than the byte cap.
    fn refuse_size(&self, response: &mut Response, metrics: &Metrics) {
        response.data = Value::Null;
        response.extensions.clear();
        let refusal = Refusal::ResponseBytes {
            limit: self.max_response_bytes,
        };
        response.errors = vec![refused(metrics, refusal, None)];
    }
}

/// The JSON body answering one HTTP request: `response` serialised once, or, when that goes
/// over `max_response_bytes` (serialising stops there), the `LIMIT_EXCEEDED` error that
/// `response` is then replaced with.
pub(crate) fn http_body(
    response: &mut Response,
    limits: &ResponseLimits,
    metrics: &Metrics,
) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::new();
    if write_within(&mut body, response, limits.max_response_bytes)? {
        return Ok(body);
    }
    limits.refuse_size(response, metrics);
    body.clear();
    serde_json::to_writer(&mut body, response)?;
    Ok(body)
}

/// The JSON array answering an HTTP batch. Each response is held to `max_response_bytes` as in
/// [`http_body`]; responses are kept in order while the total stays within
/// `max_batch_response_bytes`, and each one that would go over is replaced by a
/// `LIMIT_EXCEEDED` error, so the client still gets one answer per operation.
pub(crate) fn http_batch_body(
    responses: &mut [Response],
    limits: &ResponseLimits,
    metrics: &Metrics,
) -> serde_json::Result<Vec<u8>> {
    let mut body = vec![b'['];
    for (i, response) in responses.iter_mut().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let start = body.len();
        if !write_within(&mut body, response, limits.max_response_bytes)? {
            body.truncate(start);
            limits.refuse_size(response, metrics);
            serde_json::to_writer(&mut body, response)?;
        }
        // Room is kept for the closing bracket.
        if body.len() >= limits.max_batch_response_bytes {
            body.truncate(start);
            let refusal = Response::from_errors(vec![http_batch_refusal(limits, metrics)]);
            serde_json::to_writer(&mut body, &refusal)?;
        }
    }
    body.push(b']');
    Ok(body)
}

/// Appends `response` to `body` unless it takes more than `cap` bytes: `false` then (with
/// whatever part was written left for the caller to cut off).
fn write_within(body: &mut Vec<u8>, response: &Response, cap: usize) -> serde_json::Result<bool> {
    let start = body.len();
    let mut writer = Capped {
        body,
        end: start.saturating_add(cap),
    };
    match serde_json::to_writer(&mut writer, response) {
        Ok(()) => Ok(true),
        Err(e) if e.is_io() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A writer into a `Vec` that refuses to grow it past `end`.
struct Capped<'a> {
    body: &'a mut Vec<u8>,
    end: usize,
}

impl io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    // serde_json writes through `write_all`: one check per fragment, not a loop over `write`.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.body.len() + buf.len() > self.end {
            return Err(io::Error::other("over the cap"));
        }
        self.body.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn http_batch_refusal(limits: &ResponseLimits, metrics: &Metrics) -> ServerError {
    let refusal = Refusal::BatchResponseBytes {
        limit: limits.max_batch_response_bytes,
    };
    refused(metrics, refusal, None)
}

/// The serialised length of `response`, or `None` once it exceeds `cap` (serialising stops
/// there, so an oversized response costs no more than `cap` bytes of work).
fn serialised_len(response: &Response, cap: usize) -> Option<usize> {
    let mut counter = Counter { len: 0, cap };
    serde_json::to_writer(&mut counter, response).ok()?;
    Some(counter.len)
}

struct Counter {
    len: usize,
    cap: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len += buf.len();
        if self.len > self.cap {
            return Err(io::Error::other("over the cap"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
