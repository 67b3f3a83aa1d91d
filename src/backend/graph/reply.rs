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
pub(crate) struct Reply {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Option<Value>,
    /// The body was present but not JSON.
    pub unreadable: bool,
    /// The `Location` header, on a create.
    pub location: Option<String>,
    /// The method and route template, for errors that blame the route.
    pub route: String,
    /// The request carried a body built from the user's input: only then can a 400 be the
    /// user's fault.
    pub shaped_by_user: bool,
}

/// Graph's codes that mean "no such resource" (a 404 with another code, or none, is a
/// failure of the route, not an answer about the resource).
const NOT_FOUND_CODES: [&str; 4] = [
    "ResourceNotFound",
    "NotFound",
    "Request_ResourceNotFound",
    "itemNotFound",
];

/// Intune's code for a route it does not serve.
const NO_ROUTE: &str = "No method match route template";

/// Whether Graph's code says the resource does not exist.
fn says_not_found(graph: &GraphError) -> bool {
    graph
        .code
        .as_deref()
        .is_some_and(|code| NOT_FOUND_CODES.iter().any(|c| c.eq_ignore_ascii_case(code)))
}

/// Whether Graph says it has no such route (in `error.code` or the message).
fn says_no_route(graph: &GraphError) -> bool {
    let no_route =
        |text: &str| text.eq_ignore_ascii_case(NO_ROUTE) || text.contains("No OData route exists");
    graph.code.as_deref().is_some_and(no_route) || graph.message.as_deref().is_some_and(no_route)
}

/// What a reply means.
pub(crate) enum ReplyOutcome {
    /// Success, with the body if any.
    Success(Option<Value>),
    /// Worth another try after the given wait (or a backoff when `None`).
    Retry(Option<Duration>, Error),
    /// Final failure.
    Failure(Error),
}

impl ReplyOutcome {
    /// What `reply` means for a request of `method`: a GET's 404 is "absent", and a POST is
    /// not retried after a 503 or 504 (Graph may have done it already). A success takes the
    /// body out of `reply` (an expanded file is tens of kilobytes: never copied).
    pub(crate) fn of(reply: &mut Reply, method: &Method, caller: &Caller) -> Self {
        let status = reply.status;
        if status.is_success() && !reply.unreadable {
            return ReplyOutcome::Success(reply.body.take());
        }
        let detail = UpstreamDetail {
            status: Some(status.as_u16()),
            request_id: reply.request_id.clone(),
            client_request_id: Some(caller.client_request_id.clone()),
            retry_after: reply.retry_after,
            ..Default::default()
        };
        let graph = reply
            .body
            .as_ref()
            .map(envelope::graph_error)
            .unwrap_or_default();
        let fail = |code| envelope::error_for(code, Some(status), graph.clone(), detail.clone());
        match status {
            // A readable success returned above: this one's body is not JSON.
            s if s.is_success() => ReplyOutcome::Failure(envelope::error_for(
                Code::UpstreamError,
                Some(status),
                GraphError {
                    message: Some("Microsoft Graph returned a body that is not JSON".into()),
                    ..Default::default()
                },
                detail,
            )),
            StatusCode::TOO_MANY_REQUESTS => {
                ReplyOutcome::Retry(reply.retry_after, fail(Code::Throttled))
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                if method != Method::POST =>
            {
                let code = if status == StatusCode::GATEWAY_TIMEOUT {
                    Code::UpstreamTimeout
                } else {
                    Code::UpstreamError
                };
                ReplyOutcome::Retry(reply.retry_after, fail(code))
            }
            StatusCode::UNAUTHORIZED => ReplyOutcome::Failure(fail(Code::Unauthenticated)),
            StatusCode::FORBIDDEN => ReplyOutcome::Failure(fail(Code::Forbidden)),
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST if says_no_route(&graph) => {
                ReplyOutcome::Failure(no_route(reply, graph, detail))
            }
            StatusCode::NOT_FOUND if !says_not_found(&graph) => {
                ReplyOutcome::Failure(fail(Code::UpstreamError))
            }
            StatusCode::NOT_FOUND if method == Method::GET => ReplyOutcome::Success(None),
            StatusCode::NOT_FOUND => ReplyOutcome::Failure(fail(Code::NotFound)),
            // Ids are checked GUIDs and query options are the gateway's: a 400 to a request
            // without the user's body is Graph refusing the gateway, not the user.
            StatusCode::BAD_REQUEST if reply.shaped_by_user => {
                ReplyOutcome::Failure(fail(Code::BadUserInput))
            }
            StatusCode::BAD_REQUEST => ReplyOutcome::Failure(fail(Code::UpstreamError)),
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
                ReplyOutcome::Failure(fail(Code::Conflict))
            }
            StatusCode::GATEWAY_TIMEOUT => ReplyOutcome::Failure(fail(Code::UpstreamTimeout)),
            _ => ReplyOutcome::Failure(fail(Code::UpstreamError)),
        }
    }
}

/// The `UPSTREAM_ERROR` for a route Graph does not serve, naming it.
fn no_route(reply: &Reply, graph: GraphError, detail: UpstreamDetail) -> Error {
    let said = graph.message.clone().unwrap_or_default();
    let message = format!(
        "Microsoft Graph does not serve {} ({NO_ROUTE}): {said}",
        reply.route
    );
    envelope::error_for(
        Code::UpstreamError,
        Some(reply.status),
        GraphError {
            message: Some(message),
            ..graph
        },
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RequestBudget;

    fn reply(status: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            request_id: None,
            retry_after: None,
            body: None,
            unreadable: false,
            location: None,
            route: "GET /x".into(),
            shaped_by_user: false,
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
        let not_found = |status| Reply {
            body: Some(serde_json::json!({"error": {"code": "ResourceNotFound", "message": "x"}})),
            ..reply(status)
        };
        let of = |status, method| ReplyOutcome::of(&mut not_found(status), &method, &caller());
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

#[cfg(test)]
mod route_tests {
    use super::*;
    use crate::backend::RequestBudget;
    use serde_json::json;

    fn reply(status: u16, body: serde_json::Value, shaped_by_user: bool) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            request_id: None,
            retry_after: None,
            body: Some(body),
            unreadable: false,
            location: None,
            route: "GET /deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations".into(),
            shaped_by_user,
        }
    }

    fn code_of(reply: &Reply, method: Method) -> Option<Code> {
        let mut reply = Reply {
            body: reply.body.clone(),
            route: reply.route.clone(),
            request_id: None,
            location: None,
            ..*reply
        };
        let caller = Caller {
            token: None,
            client_request_id: "c".into(),
            budget: RequestBudget::unmetered(),
        };
        match ReplyOutcome::of(&mut reply, &method, &caller) {
            ReplyOutcome::Failure(e) => Some(e.code()),
            _ => None,
        }
    }

    #[test]
    fn a_route_graph_does_not_serve_is_upstream_never_the_users_fault() {
        let plain = json!({"error": {"code": NO_ROUTE, "message": "No OData route exists that match template ~/x"}});
        let nested = json!({"error": {"code": "BadRequest", "message": "{\"_version\":3,\"Message\":\"No OData route exists that match template ~/y\"}"}});
        for body in [plain, nested] {
            for shaped in [false, true] {
                let r = reply(400, body.clone(), shaped);
                assert_eq!(
                    code_of(&r, Method::POST),
                    Some(Code::UpstreamError),
                    "{body}"
                );
            }
        }
        let mut r = reply(
            400,
            json!({"error": {"code": NO_ROUTE, "message": "m"}}),
            false,
        );
        let caller = Caller {
            token: None,
            client_request_id: "c".into(),
            budget: RequestBudget::unmetered(),
        };
        let ReplyOutcome::Failure(error) = ReplyOutcome::of(&mut r, &Method::GET, &caller) else {
            panic!("a failure");
        };
        assert!(
            error.to_string().contains("/groupPolicyOperations"),
            "{error}"
        );
    }

    #[test]
    fn a_400_is_bad_user_input_only_for_a_body_the_user_shaped() {
        let bad = json!({"error": {"code": "BadRequest", "message": "Invalid value"}});
        assert_eq!(
            code_of(&reply(400, bad.clone(), false), Method::GET),
            Some(Code::UpstreamError)
        );
        assert_eq!(
            code_of(&reply(400, bad, true), Method::POST),
            Some(Code::BadUserInput)
        );
    }

    #[test]
    fn a_get_404_is_absent_only_when_graph_says_not_found() {
        for code in NOT_FOUND_CODES {
            let r = reply(404, json!({"error": {"code": code, "message": "m"}}), false);
            assert_eq!(code_of(&r, Method::GET), None, "{code}");
        }
        let odd = reply(
            404,
            json!({"error": {"code": "UnknownError", "message": "m"}}),
            false,
        );
        assert_eq!(code_of(&odd, Method::GET), Some(Code::UpstreamError));
        let mut empty = reply(404, json!(null), false);
        empty.body = None;
        assert_eq!(code_of(&empty, Method::GET), Some(Code::UpstreamError));
    }
}
