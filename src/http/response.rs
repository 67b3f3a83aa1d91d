//! Response shaping: the one place an [`Error`] becomes the error a client sees (over HTTP and
//! WebSocket alike), the one rejection type for requests stopped before any operation runs, and
//! the status code each media type gives a GraphQL response.

use async_graphql::{ErrorExtensions, Pos, Response as GqlResponse, ServerError};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::CLIENT_REQUEST_ID;
use super::negotiation::ResponseMedia;
use crate::backend::Caller;
use crate::error::{Code, Error};

/// The client-facing GraphQL error for `error`: its client message and `extensions.code`
/// (internal details are logged, never sent).
pub(crate) fn client_error(error: &Error) -> ServerError {
    let mut server_error = error.extend().into_server_error(Pos::default());
    // A request-level error points at no place in the document.
    server_error.locations.clear();
    server_error
}

/// The GraphQL response for a request stopped before execution.
pub(crate) fn failed(error: &Error) -> GqlResponse {
    GqlResponse::from_errors(vec![client_error(error)])
}

/// A request refused before any operation runs, answered in GraphQL's response shape, in the
/// media type the client accepts, with its `client-request-id` echoed.
pub(crate) struct Rejection {
    status: StatusCode,
    error: Error,
    media: ResponseMedia,
    client_request_id: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Rejection {
    /// Refuses `caller`'s request with `status` and `error`.
    pub(crate) fn new(
        status: StatusCode,
        error: Error,
        media: ResponseMedia,
        caller: &Caller,
    ) -> Self {
        Rejection {
            status,
            error,
            media,
            client_request_id: caller.client_request_id.clone(),
            headers: Vec::new(),
        }
    }

    /// Adds a header to the answer.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&failed(&self.error));
        let mut response = respond(self.status, self.media, &self.client_request_id, body);
        response.headers_mut().extend(self.headers);
        response
    }
}

/// A JSON body in `media`, with the `client-request-id` echoed.
pub(crate) fn respond(
    status: StatusCode,
    media: ResponseMedia,
    client_request_id: &str,
    body: serde_json::Result<Vec<u8>>,
) -> Response {
    let mut response = match body {
        Ok(body) => (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    if let Ok(id) = HeaderValue::from_str(client_request_id) {
        response.headers_mut().insert(CLIENT_REQUEST_ID, id);
    }
    response
}

/// The answer to a single (not batched) GraphQL request, held to `schema`'s response cap.
pub(crate) fn single_response(
    schema: &crate::graphql::GatewaySchema,
    mut responses: Vec<GqlResponse>,
    media: ResponseMedia,
    caller: &Caller,
) -> Response {
    let mut response = responses
        .pop()
        .unwrap_or_else(|| failed(&Error::Internal("no response".into())));
    // Serialised first: a response over the cap is replaced, and its status is the refusal's.
    let body = crate::graphql::http_body(schema, &mut response);
    let status = status_of(&response, media);
    respond(status, media, &caller.client_request_id, body)
}

/// The status of a single GraphQL response in each media type.
fn status_of(response: &GqlResponse, media: ResponseMedia) -> StatusCode {
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let only_pq_miss = response
        .errors
        .iter()
        .all(|e| error_code(e) == Some(Code::PersistedQueryNotFound.as_str()));
    if media == ResponseMedia::Json || !request_failed || only_pq_miss {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// The `extensions.code` of a GraphQL error, when it has one.
pub(crate) fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}
