//! The HTTP face of the gateway: routes, request limits, content negotiation, CSRF and CORS.
//!
//! Data flows one way: a request is checked here (size, CSRF, batch cap, persisted query),
//! given its per-request data (caller, DataLoader), executed by the schema, and answered in the
//! media type the client accepts. Nothing below this layer sees HTTP.

mod admission;
pub mod apq;
mod body_limits;
pub mod idempotency;
pub mod playground;
pub mod serve;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Response as GqlResponse, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::join_all;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::backend::{Backend, BearerToken, Caller, RequestBudget};
use crate::domain::Guid;
use crate::error::{Code, Error};
use crate::graphql::loader::with_operation_data;
use crate::graphql::{GatewaySchema, ensure_code};
use apq::PersistedQueries;

pub use ws::WebSocketLimits;

/// The media type of the GraphQL-over-HTTP spec.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// Header that correlates a request with Graph's logs; echoed on every response.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// Limits and switches of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    /// Largest body when the excess over `max_body_bytes` is all in `variables` (uploads).
    pub max_variables_bytes: usize,
    pub max_batch: usize,
    pub apq_cache_size: usize,
    pub cors_origins: Vec<String>,
    pub max_subscriptions_per_connection: usize,
    pub max_subscriptions: usize,
    pub keepalive: Duration,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
    pub graph_request_budget: usize,
    pub websocket: WebSocketLimits,
}

impl HttpConfig {
    /// From the start-up configuration.
    pub fn from_config(config: &crate::Config) -> Self {
        HttpConfig {
            max_body_bytes: config.max_body_bytes,
            max_variables_bytes: config.max_variables_bytes,
            max_batch: config.max_batch,
            apq_cache_size: config.apq_cache_size,
            cors_origins: config.cors_origins.clone(),
            max_subscriptions_per_connection: config.max_subscriptions_per_connection,
            max_subscriptions: config.max_subscriptions,
            keepalive: config.keepalive,
            max_in_flight: config.max_in_flight,
            request_timeout: config.request_timeout,
            graph_request_budget: config.graph_request_budget,
            websocket: WebSocketLimits::from_config(config),
        }
    }
}

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    schema: GatewaySchema,
    backend: Arc<dyn Backend>,
    apq: PersistedQueries,
    config: HttpConfig,
    ready: AtomicBool,
    subscriptions: ws::Slots,
    websockets: ws::OpenWebSockets,
}

impl AppState {
    /// State for a router serving `schema` over `backend`.
    pub fn new(schema: GatewaySchema, backend: Arc<dyn Backend>, config: HttpConfig) -> Self {
        AppState {
            inner: Arc::new(Inner {
                apq: PersistedQueries::new(config.apq_cache_size, 16 * 1024 * 1024),
                subscriptions: ws::Slots::new(config.max_subscriptions),
                websockets: ws::OpenWebSockets::new(&config.websocket),
                schema,
                backend,
                config,
                ready: AtomicBool::new(true),
            }),
        }
    }

    /// Marks the gateway as draining: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        self.inner.ready.store(false, Ordering::SeqCst);
    }
}

/// The router: `/graphql` (POST, GET, WebSocket), `/healthz`, `/readyz` and the playground.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.inner.config.cors_origins);
    let body_limit = state.inner.config.body_limit();
    let shedder = admission::LoadShedder::new(&state.inner.config);
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .route_layer(from_fn_with_state(shedder, admission::shed_load)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(playground::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(
            body_limit,
            admission::refuse_oversized_body,
        ))
        .layer(cors)
        // The default span records method, URI and version only: never headers, so a bearer
        // token cannot reach the logs.
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            CLIENT_REQUEST_ID,
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
        ])
        .expose_headers([CLIENT_REQUEST_ID])
        .max_age(Duration::from_secs(600))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.inner.ready.load(Ordering::SeqCst) && state.inner.backend.ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// The caller of an HTTP request: its bearer token and a correlation id (the client's own
/// `client-request-id` when it is a GUID, else a fresh one).
fn caller_from(headers: &HeaderMap) -> Caller {
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

/// Which response media type the client asked for.
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    /// `application/graphql-response+json`: status codes follow the GraphQL-over-HTTP spec.
    GraphqlResponse,
    /// Legacy `application/json`: 200 for every well-formed GraphQL response.
    Json,
}

fn flavor(headers: &HeaderMap) -> Flavor {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Flavor)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => Flavor::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => Flavor::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, candidate));
        }
    }
    best.map_or(Flavor::Json, |(_, f)| f)
}

/// An error answered before any operation runs, in GraphQL's response shape.
fn request_error(status: StatusCode, error: &Error, flavor: Flavor, caller: &Caller) -> Response {
    let body = serde_json::json!({
        "errors": [{
            "message": error.client_message(),
            "extensions": { "code": error.code().as_str() },
        }]
    });
    respond(status, flavor, caller, serde_json::to_vec(&body))
}

fn respond(
    status: StatusCode,
    flavor: Flavor,
    caller: &Caller,
    body: serde_json::Result<Vec<u8>>,
) -> Response {
    let content_type = match flavor {
        Flavor::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
        Flavor::Json => "application/json",
    };
    let mut response = match body {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    if let Ok(id) = HeaderValue::from_str(&caller.client_request_id) {
        response.headers_mut().insert(CLIENT_REQUEST_ID, id);
    }
    response
}

/// The status of a single GraphQL response under each flavor.
fn status_of(response: &GqlResponse, flavor: Flavor) -> StatusCode {
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let only_pq_miss = response
        .errors
        .iter()
        .all(|e| error_code(e) == Some(Code::PersistedQueryNotFound.as_str()));
    if flavor == Flavor::Json || !request_failed || only_pq_miss {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// The GraphQL response for a request stopped before execution.
fn failed(error: Error) -> GqlResponse {
    let mut server_error = ServerError::new(error.client_message(), None);
    ensure_code(&mut server_error, error.code());
    GqlResponse::from_errors(vec![server_error])
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
                Err(error) => return failed(error),
            };
            if let Err(error) = self.inner.apq.resolve(&mut request) {
                return failed(error);
            }
            let request = with_operation_data(request, &self.inner.backend, caller, &budget);
            self.inner.schema.execute(request).await
        }))
        .await
    }
}

/// Apollo's CSRF rule: a request a browser could send cross-site without a preflight (no
/// content type, or a "simple" one) must carry a header that forces one.
fn csrf_refused(headers: &HeaderMap) -> bool {
    let simple = match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(value) => {
            let essence = value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            matches!(
                essence.as_str(),
                "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
            )
        }
    };
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()));
    simple && !preflighted
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence == GRAPHQL_RESPONSE_JSON
        })
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = caller_from(&headers);
    let flavor = flavor(&headers);
    if csrf_refused(&headers) {
        let error = Error::bad_input(
            "This request has a content type a browser can send cross-site without a preflight. \
             Send Content-Type: application/json, or add an `apollo-require-preflight: true` header.",
        );
        return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
    }
    if !is_json(&headers) {
        let error = Error::bad_input("POST bodies must be JSON (Content-Type: application/json)");
        return request_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &error, flavor, &caller);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let error = Error::LimitExceeded(format!(
                "The request body is larger than {} bytes",
                state.inner.config.body_limit()
            ));
            return request_error(StatusCode::PAYLOAD_TOO_LARGE, &error, flavor, &caller);
        }
        Err(rejection) => {
            let error = Error::bad_input(format!("Could not read the request body: {rejection}"));
            return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
        }
    };
    let parsed: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => {
            let error = Error::bad_input(format!("The request body is not valid JSON: {e}"));
            return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
        }
    };
    if let Err(error) = state.inner.config.check_outside_variables(&parsed) {
        return request_error(StatusCode::PAYLOAD_TOO_LARGE, &error, flavor, &caller);
    }
    match parsed {
        serde_json::Value::Array(items) => {
            let cap = state.inner.config.max_batch;
            if items.is_empty() || items.len() > cap {
                let error = Error::LimitExceeded(format!(
                    "A batch must hold 1 to {cap} operations; this one has {}",
                    items.len()
                ));
                return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
            }
            let requests = items.into_iter().map(to_request).collect();
            let responses = state.execute(requests, &caller).await;
            let body = crate::graphql::batch_body(&state.inner.schema, &responses);
            respond(StatusCode::OK, flavor, &caller, body)
        }
        single => {
            let request = match to_request(single) {
                Ok(request) => request,
                Err(error) => {
                    return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
                }
            };
            let response = state.execute(vec![Ok(request)], &caller).await;
            single_response(response, flavor, &caller)
        }
    }
}

fn single_response(mut responses: Vec<GqlResponse>, flavor: Flavor, caller: &Caller) -> Response {
    let response = responses
        .pop()
        .unwrap_or_else(|| failed(Error::Internal("no response".into())));
    let status = status_of(&response, flavor);
    respond(status, flavor, caller, serde_json::to_vec(&response))
}

fn to_request(value: serde_json::Value) -> Result<async_graphql::Request, Error> {
    if !value.is_object() {
        return Err(Error::bad_input(
            "Each GraphQL request must be a JSON object",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Error::bad_input(format!("Not a GraphQL request: {e}")))
}

async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    if ws::is_upgrade(request.headers()) {
        return ws::upgrade(state, request).await;
    }
    let headers = request.headers();
    let caller = caller_from(headers);
    let flavor = flavor(headers);
    let query = request.uri().query().unwrap_or_default();
    let mut gql_request = match async_graphql::http::parse_query_string(query) {
        Ok(r) => r,
        Err(e) => {
            let error = Error::bad_input(format!(
                "Could not read the GraphQL request from the URL: {e}"
            ));
            return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
        }
    };
    if let Err(error) = state.inner.apq.resolve(&mut gql_request) {
        if matches!(error, Error::PersistedQueryNotFound) {
            // As Apollo Server does: a cache in between must not keep the miss.
            let mut response = request_error(StatusCode::OK, &error, flavor, &caller);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache, must-revalidate"),
            );
            return response;
        }
        return request_error(StatusCode::BAD_REQUEST, &error, flavor, &caller);
    }
    // GET must never change anything (GraphQL over HTTP): refuse mutations before executing.
    if selects_mutation(&gql_request) {
        let error = Error::bad_input("Mutations must be sent with POST");
        let mut response = request_error(StatusCode::METHOD_NOT_ALLOWED, &error, flavor, &caller);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let responses = state.execute(vec![Ok(gql_request)], &caller).await;
    single_response(responses, flavor, &caller)
}

/// Whether the operation a request would run is a mutation. A document that does not parse
/// is left to the schema, which reports it as `GRAPHQL_PARSE_FAILED`.
fn selects_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
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
