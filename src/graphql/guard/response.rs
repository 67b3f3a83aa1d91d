//! Bounds on what goes back to a client: bytes per operation, bytes per HTTP batch, and the
//! number of errors in one response.

use crate::telemetry::metrics::{self, Limit};
use std::io;

use async_graphql::{Response, ServerError, Value};

use super::limit_error;

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

impl ResponseLimits {
    /// Trims `response` to the error cap, then replaces it with one `LIMIT_EXCEEDED` error if
    /// it is still larger than the byte cap.
    pub fn bound(&self, response: &mut Response) {
        if response.errors.len() > self.max_errors {
            let dropped = response.errors.len() - self.max_errors;
            metrics::refused(Limit::MaxErrors);
            response.errors.truncate(self.max_errors);
            response.errors.push(limit_error(
                format!(
                    "Too many errors: {dropped} more were left out; the limit is {} per response",
                    self.max_errors
                ),
                None,
            ));
        }
        if serialised_len(response, self.max_response_bytes).is_none() {
            metrics::refused(Limit::MaxResponseBytes);
            response.data = Value::Null;
            response.extensions.clear();
            response.errors = vec![limit_error(
                format!(
                    "The response is larger than {} bytes, the limit per operation; select \
                     fewer fields or smaller pages",
                    self.max_response_bytes
                ),
                None,
            )];
        }
    }
}

/// The JSON array answering an HTTP batch. Responses are kept in order while the total stays
/// within `max_batch_response_bytes`; each one that would go over is replaced by a
/// `LIMIT_EXCEEDED` error, so the client still gets one answer per operation.
pub fn http_batch_body(
    responses: &[Response],
    limits: &ResponseLimits,
) -> serde_json::Result<Vec<u8>> {
    let mut body = vec![b'['];
    for (i, response) in responses.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let item = serde_json::to_vec(response)?;
        // Room is kept for the closing bracket.
        if body.len() + item.len() < limits.max_batch_response_bytes {
            body.extend_from_slice(&item);
        } else {
            let refusal = Response::from_errors(vec![http_batch_refusal(limits)]);
            serde_json::to_writer(&mut body, &refusal)?;
        }
    }
    body.push(b']');
    Ok(body)
}

fn http_batch_refusal(limits: &ResponseLimits) -> ServerError {
    metrics::refused(Limit::MaxBatchResponseBytes);
    limit_error(
        format!(
            "The batch's responses together are larger than {} bytes, the limit per batch; \
             this operation's response was left out",
            limits.max_batch_response_bytes
        ),
        None,
    )
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
