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
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

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

    /// Refuses `caller`'s request because a limit was reached: the status, `Retry-After` and
    /// error all follow from `refusal`, which is counted here, in `metrics`.
    pub(crate) fn over_limit(
        metrics: &Metrics,
        refusal: Refusal,
        media: ResponseMedia,
        caller: &Caller,
    ) -> Self {
        metrics.refused(&refusal);
        Rejection::answering(refusal, media, caller)
    }

    /// The answer to `refusal` without counting it again: for a refusal counted where it
    /// happened (a connection refused when accepted, answered on each request it sends).
    pub(crate) fn answering(refusal: Refusal, media: ResponseMedia, caller: &Caller) -> Self {
        // Refusals answered inside a GraphQL response have no status of their own; were one
        // sent here, 400 is what a request error gets.
        let (status, retry_after) = refusal.http_status().unwrap_or((400, None));
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let rejection = Rejection::new(status, refusal.into(), media, caller);
        match retry_after {
            Some(seconds) => rejection.with_header(header::RETRY_AFTER, HeaderValue::from(seconds)),
            None => rejection,
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
        let body = body_of(&failed(&self.error), self.media);
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
        Ok(body) => {
            let written = super::serve::AnswerBytes(body.len());
            let mut response =
                (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response();
            response.extensions_mut().insert(written);
            response
        }
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
    // A request error in `application/graphql-response+json` carries no `data` entry.
    let body = if media == ResponseMedia::GraphqlResponse && request_failed(&response) {
        body_of(&response, media)
    } else {
        body
    };
    respond(status, media, &caller.client_request_id, body)
}

/// Whether `response` is a request error: no data and no error inside the result (a document
/// that does not parse or validate, a request refused before it ran).
fn request_failed(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The JSON body of a single response. In `application/graphql-response+json` a request error
/// has no `data` entry at all, as GraphQL over HTTP says (`"data": null` would claim that
/// execution started); legacy `application/json` keeps the shape older clients expect.
fn body_of(response: &GqlResponse, media: ResponseMedia) -> serde_json::Result<Vec<u8>> {
    if media == ResponseMedia::GraphqlResponse && request_failed(response) {
        let mut value = serde_json::to_value(response)?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("data");
        }
        return serde_json::to_vec(&value);
    }
    serde_json::to_vec(response)
}

/// The status of a single GraphQL response in each media type.
fn status_of(response: &GqlResponse, media: ResponseMedia) -> StatusCode {
    let request_failed = request_failed(response);
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
