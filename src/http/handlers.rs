//! The `/graphql` handlers over HTTP: a POST (one request or an HTTP batch) and a GET (a query
//! in the URL, or the WebSocket upgrade). Each reads its caller, negotiates media types once,
//! refuses what it must with a [`Rejection`], and executes through [`AppState::execute`].

use async_graphql::Response as GqlResponse;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;

use super::negotiation::{BodyMedia, Negotiated};
use super::response::{Rejection, failed, respond, single_response};
use super::{AppState, CLIENT_REQUEST_ID, ws};
use crate::backend::{BearerToken, Caller, RequestBudget};
use crate::domain::Guid;
use crate::error::Error;
use crate::graphql::loader::with_operation_data;
use crate::refusal::Refusal;

/// The caller of an HTTP request: its bearer token and a correlation id (the client's own
/// `client-request-id` when it is a GUID, else a fresh one).
pub(crate) fn caller_from(headers: &HeaderMap) -> Caller {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(BearerToken::from_authorization);
    // The client's own id is kept exactly as sent (so it matches its logs), once it is known
    // to be a GUID and therefore safe to put in headers and logs.
    let client_request_id = headers
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| Guid::parse("client-request-id", v).is_ok())
        .map_or_else(|| Guid::new_v4().to_string(), str::to_owned);
    Caller {
        token,
        client_request_id,
        // Each operation gets its metered budget from `with_operation_data`.
        budget: RequestBudget::unmetered(),
    }
}

impl AppState {
    /// Resolves persisted queries and gives each operation its request data, then executes.
    async fn execute(
        &self,
        requests: Vec<Result<async_graphql::Request, Error>>,
        caller: &Caller,
    ) -> Vec<GqlResponse> {
        // One Graph budget for the whole HTTP request: the operations of an HTTP batch share
        // it, so a batch cannot spend one budget per operation.
        let budget = RequestBudget::new(self.inner.config.graph_request_budget);
        join_all(requests.into_iter().map(|request| async {
            let mut request = match request {
                Ok(request) => request,
                Err(error) => return failed(&error),
            };
            if let Err(error) = self.inner.apq.resolve_shared(&mut request).await {
                return failed(&error);
            }
            let request = with_operation_data(request, &self.inner.backend, caller, &budget)
                // The response's bytes are counted as it is serialised to be sent.
                .data(crate::graphql::BoundWhenSent);
            crate::graphql::execute(&self.inner.schema, request).await
        }))
        .await
    }
}

/// POST `/graphql`: one GraphQL request, or an HTTP batch (a JSON array of them).
pub(crate) async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = caller_from(&headers);
    let media = Negotiated::of(&headers);
    let refuse = |status, error| Rejection::new(status, error, media.response, &caller);
    let parsed = match read_post_body(&state, &media, body) {
        Ok(parsed) => parsed,
        Err(Refused::Invalid(status, error)) => return refuse(status, error).into_response(),
        Err(Refused::Over(refusal)) => {
            let metrics = &state.inner.metrics;
            return Rejection::over_limit(metrics, refusal, media.response, &caller)
                .into_response();
        }
    };
    match parsed {
        serde_json::Value::Array(items) => {
            let cap = state.inner.config.max_batch;
            if items.is_empty() || items.len() > cap {
                let refusal = Refusal::Batch {
                    found: items.len(),
                    limit: cap,
                };
                let metrics = &state.inner.metrics;
                return Rejection::over_limit(metrics, refusal, media.response, &caller)
                    .into_response();
            }
            let requests = items.into_iter().map(to_request).collect();
            let mut responses = state.execute(requests, &caller).await;
            let body = crate::graphql::http_batch_body(&state.inner.schema, &mut responses);
            respond(
                StatusCode::OK,
                media.response,
                &caller.client_request_id,
                body,
            )
        }
        single => match to_request(single) {
            Ok(request) => {
                let response = state.execute(vec![Ok(request)], &caller).await;
                single_response(&state.inner.schema, response, media.response, &caller)
            }
            Err(error) => refuse(StatusCode::BAD_REQUEST, error).into_response(),
        },
    }
}

/// Why a POST body is refused: it is invalid (the status and error to answer), or a limit
/// refused it.
enum Refused {
    Invalid(StatusCode, Error),
    Over(Refusal),
}

impl From<(StatusCode, Error)> for Refused {
    fn from((status, error): (StatusCode, Error)) -> Self {
        Refused::Invalid(status, error)
    }
}

/// The POST body as JSON, once the media type, CSRF rule and size limits allow it; else why
/// it is refused.
fn read_post_body(
    state: &AppState,
    media: &Negotiated,
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Value, Refused> {
    if media.csrf_refused() {
        let error = Error::bad_input(
            "This request has a content type a browser can send cross-site without a preflight. \
             Send Content-Type: application/json, or add an `apollo-require-preflight: true` header.",
        );
        return Err((StatusCode::BAD_REQUEST, error).into());
    }
    if media.body != BodyMedia::Json {
        let error = Error::bad_input("POST bodies must be JSON (Content-Type: application/json)");
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, error).into());
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let config = &state.inner.config;
            return Err(Refused::Over(Refusal::BodyBytesRead {
                plain: config.max_body_bytes,
                limit: config.body_limit(),
            }));
        }
        Err(rejection) => {
            let error = Error::bad_input(format!("Could not read the request body: {rejection}"));
            return Err((StatusCode::BAD_REQUEST, error).into());
        }
    };
    let parsed: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        let error = Error::bad_input(format!("The request body is not valid JSON: {e}"));
        Refused::Invalid(StatusCode::BAD_REQUEST, error)
    })?;
    if let Err(refusal) = state.inner.config.check_outside_variables(&parsed) {
        return Err(Refused::Over(refusal));
    }
    Ok(parsed)
}

fn to_request(value: serde_json::Value) -> Result<async_graphql::Request, Error> {
    if !value.is_object() {
        return Err(Error::bad_input(
            "Each GraphQL request must be a JSON object",
        ));
    }
    // Without a document there is nothing to parse: say so (400 in GraphQL over HTTP) rather
    // than report a parse failure of an empty string. A persisted query may leave it out.
    let has_query = value.get("query").is_some_and(serde_json::Value::is_string);
    let persisted = value
        .pointer("/extensions/persistedQuery")
        .is_some_and(serde_json::Value::is_object);
    if !has_query && !persisted {
        return Err(Error::bad_input(
            "The request has no `query`: send the GraphQL document as a string in `query`",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Error::bad_input(format!("Not a GraphQL request: {e}")))
}

/// GET `/graphql`: a query in the URL, or the upgrade to a GraphQL WebSocket.
pub(crate) async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    if ws::is_upgrade(request.headers()) {
        return ws::upgrade(state, request).await;
    }
    let headers = request.headers();
    let caller = caller_from(headers);
    let media = Negotiated::of(headers).response;
    let refuse = |status, error| Rejection::new(status, error, media, &caller);
    let query = request.uri().query().unwrap_or_default();
    let mut gql_request = match async_graphql::http::parse_query_string(query) {
        Ok(r) => r,
        Err(e) => {
            let error = Error::bad_input(format!(
                "Could not read the GraphQL request from the URL: {e}"
            ));
            return refuse(StatusCode::BAD_REQUEST, error).into_response();
        }
    };
    if let Err(error) = state.inner.apq.resolve_shared(&mut gql_request).await {
        if matches!(error, Error::PersistedQueryNotFound) {
            // As Apollo Server does: a cache in between must not keep the miss.
            return refuse(StatusCode::OK, error)
                .with_header(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache, must-revalidate"),
                )
                .into_response();
        }
        return refuse(StatusCode::BAD_REQUEST, error).into_response();
    }
    // GET must never change anything (GraphQL over HTTP): refuse mutations before executing.
    if selects_mutation(&state.inner.schema, &gql_request) {
        let error = Error::bad_input("Mutations must be sent with POST");
        return refuse(StatusCode::METHOD_NOT_ALLOWED, error)
            .with_header(header::ALLOW, HeaderValue::from_static("POST"))
            .into_response();
    }
    let responses = state.execute(vec![Ok(gql_request)], &caller).await;
    single_response(&state.inner.schema, responses, media, &caller)
}

/// Whether the operation a request would run is a mutation. The document is read through the
/// guard and its cache (counted before it is parsed, parsed once for this check and the
/// execution); one the guard refuses is left to the schema, which says why.
fn selects_mutation(
    schema: &crate::graphql::GatewaySchema,
    request: &async_graphql::Request,
) -> bool {
    let Some(document) = crate::graphql::checked_document(schema, &request.query) else {
        return false;
    };
    let is_mutation = |ty: OperationType| ty == OperationType::Mutation;
    match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => is_mutation(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).is_some_and(|op| is_mutation(op.node.ty))
        }
        // Ambiguous without a name: the schema refuses it; refuse early if any could mutate.
        (DocumentOperations::Multiple(ops), None) => ops.values().any(|op| is_mutation(op.node.ty)),
    }
}
