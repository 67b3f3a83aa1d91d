//! What one answer from Graph (a plain reply or a Graph `$batch` sub-response) means: success,
//! worth another try, or a final failure with the gateway's error code.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::envelope::{self, GraphError};
use crate::backend::Caller;
use crate::error::{Code, Error, UpstreamDetail};

/// Graph's answer to one request (or one Graph `$batch` sub-request).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Option<Value>,
    /// The body was present but not JSON.
    pub unreadable: bool,
}

/// What a reply means.
pub enum ReplyOutcome {
    /// Success, with the body if any.
    Success(Option<Value>),
    /// Worth another try after the given wait (or a backoff when `None`).
    Retry(Option<Duration>, Error),
    /// Final failure.
    Failure(Error),
}

impl ReplyOutcome {
    /// What `reply` means for a request of `method`: a GET's 404 is "absent", and a POST is
    /// not retried after a 503 or 504 (Graph may have done it already).
    pub fn of(reply: &Reply, method: &Method, caller: &Caller) -> Self {
        let status = reply.status;
        let detail = UpstreamDetail {
            status: Some(status),
            request_id: reply.request_id.clone(),
            client_request_id: Some(caller.client_request_id.clone()),
            retry_after: reply.retry_after.map(|d| d.as_secs_f64()),
            ..Default::default()
        };
        let graph = reply
            .body
            .as_ref()
            .map(envelope::graph_error)
            .unwrap_or_default();
        let fail = |code| envelope::error_for(code, Some(status), graph.clone(), detail.clone());
        match StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY) {
            s if s.is_success() => {
                if reply.unreadable {
                    ReplyOutcome::Failure(envelope::error_for(
                        Code::UpstreamError,
                        Some(status),
                        GraphError {
                            message: Some(
                                "Microsoft Graph returned a body that is not JSON".into(),
                            ),
                            ..Default::default()
                        },
                        detail,
                    ))
                } else {
                    ReplyOutcome::Success(reply.body.clone())
                }
            }
            StatusCode::TOO_MANY_REQUESTS => {
                ReplyOutcome::Retry(reply.retry_after, fail(Code::Throttled))
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                if method != Method::POST =>
            {
                let code = if status == 504 {
                    Code::UpstreamTimeout
                } else {
                    Code::UpstreamError
                };
                ReplyOutcome::Retry(reply.retry_after, fail(code))
            }
            StatusCode::UNAUTHORIZED => ReplyOutcome::Failure(fail(Code::Unauthenticated)),
            StatusCode::FORBIDDEN => ReplyOutcome::Failure(fail(Code::Forbidden)),
            StatusCode::NOT_FOUND if method == Method::GET => ReplyOutcome::Success(None),
            StatusCode::NOT_FOUND => ReplyOutcome::Failure(fail(Code::NotFound)),
            StatusCode::BAD_REQUEST => ReplyOutcome::Failure(fail(Code::BadUserInput)),
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
                ReplyOutcome::Failure(fail(Code::Conflict))
            }
            StatusCode::GATEWAY_TIMEOUT => ReplyOutcome::Failure(fail(Code::UpstreamTimeout)),
            _ => ReplyOutcome::Failure(fail(Code::UpstreamError)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RequestBudget;

    fn reply(status: u16) -> Reply {
        Reply {
            status,
            request_id: None,
            retry_after: None,
            body: None,
            unreadable: false,
        }
    }

    fn caller() -> Caller {
        Caller {
            token: None,
            client_request_id: "c-1".into(),
            budget: RequestBudget::unmetered(),
        }
    }

    #[test]
    fn the_method_decides_what_a_404_and_a_503_mean() {
        let of = |status, method| ReplyOutcome::of(&reply(status), &method, &caller());
        assert!(matches!(of(404, Method::GET), ReplyOutcome::Success(None)));
        for method in [Method::PATCH, Method::DELETE, Method::POST] {
            match of(404, method) {
                ReplyOutcome::Failure(e) => assert_eq!(e.code(), Code::NotFound),
                _ => panic!("a 404 on a write is NOT_FOUND"),
            }
        }
        assert!(matches!(of(503, Method::GET), ReplyOutcome::Retry(..)));
        assert!(matches!(of(503, Method::PATCH), ReplyOutcome::Retry(..)));
        assert!(matches!(of(503, Method::POST), ReplyOutcome::Failure(_)));
        assert!(matches!(of(429, Method::POST), ReplyOutcome::Retry(..)));
    }
}
