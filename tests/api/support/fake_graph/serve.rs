//! One request's way through the fake: recorded, delayed, answered by an injection or
//! routed to a resource, then given Graph's transport headers. A `$batch` sub-request
//! takes the same way (see `batch.rs`), so injections and delays reach it too.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use crate::FakeGraph;
use crate::faults::Canned;
use crate::odata::inner_error_date;

/// The Content-Type Graph actually sends on JSON bodies (a client must not compare it
/// for equality with `application/json`).
const GRAPH_JSON_CONTENT_TYPE: &str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request, plain or unpacked from a `$batch`.
pub(crate) struct IncomingRequest {
    pub(crate) method: String,
    pub(crate) raw_path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) in_batch: bool,
}

pub(crate) enum ReplyBody {
    None,
    Json(Value),
    Raw(String),
}

/// An answer before it becomes an HTTP response or a `$batch` sub-response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: ReplyBody,
}

impl Reply {
    pub(crate) fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(v),
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::None,
        }
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

/// The identifiers Graph gives each (sub-)request and echoes in headers and error bodies.
pub(crate) struct RequestIds {
    pub(crate) request_id: String,
    client_request_id: Option<String>,
}

impl RequestIds {
    pub(crate) fn new(headers: &HeaderMap) -> RequestIds {
        RequestIds {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }

    /// The echoed `client-request-id`, or the request's own id when none was sent.
    fn client_request_id(&self) -> String {
        self.client_request_id
            .clone()
            .unwrap_or_else(|| self.request_id.clone())
    }

    /// Graph's error envelope.
    pub(crate) fn error(&self, status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": {"code": code, "message": message, "innerError": {
                "date": inner_error_date(),
                "request-id": self.request_id,
                "client-request-id": self.client_request_id(),
            }}}),
        )
    }

    pub(crate) fn bad_request(&self, message: &str) -> Reply {
        self.error(400, "BadRequest", message)
    }
}

pub(crate) async fn entry(State(fake): State<FakeGraph>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let req = IncomingRequest {
        method: parts.method.as_str().to_ascii_uppercase(),
        raw_path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        in_batch: false,
    };
    let is_batch =
        req.raw_path == "/beta/$batch" || req.raw_path.eq_ignore_ascii_case("/beta/%24batch");
    let reply = if is_batch {
        fake.serve_batch(req).await
    } else {
        fake.serve_plain(req).await
    };
    to_response(reply)
}

fn to_response(reply: Reply) -> Response {
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            b = b.header(k, v);
        }
    }
    let body = match reply.body {
        ReplyBody::None => Body::empty(),
        ReplyBody::Json(v) => Body::from(serde_json::to_vec(&v).unwrap_or_default()),
        ReplyBody::Raw(s) => Body::from(s),
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

impl FakeGraph {
    /// Record, delay, injection: what every request goes through first. Returns the
    /// canned reply if an injection fired.
    async fn prologue(&self, req: &IncomingRequest, ids: &RequestIds) -> Option<Reply> {
        self.record(req);
        if let Some(d) = self.delay_for(req) {
            tokio::time::sleep(d).await;
        }
        self.take_injection(req).map(|c| canned_reply(c, ids))
    }

    /// A plain request or a batch sub-request.
    pub(crate) async fn serve_plain(&self, req: IncomingRequest) -> Reply {
        let ids = RequestIds::new(&req.headers);
        let reply = match self.prologue(&req, &ids).await {
            Some(r) => r,
            None => self.route(&ids, &req).unwrap_or_else(|r| r),
        };
        finish(&ids, reply, req.in_batch)
    }

    async fn serve_batch(&self, req: IncomingRequest) -> Reply {
        let ids = RequestIds::new(&req.headers);
        let reply = match self.prologue(&req, &ids).await {
            Some(r) => r,
            None => self.batch(&ids, &req).await.unwrap_or_else(|r| r),
        };
        finish(&ids, reply, false)
    }

    /// Auth, then the resource the path names (no record/delay/injection here).
    fn route(&self, ids: &RequestIds, req: &IncomingRequest) -> Result<Reply, Reply> {
        let token = check_token(ids, &req.headers)?;
        let Some(rest) = req.raw_path.strip_prefix("/beta/") else {
            return Err(self.no_route(ids, req));
        };
        // Segments are decoded one by one, so an encoded `/` stays inside its segment.
        let segs: Vec<String> = rest
            .split('/')
            .map(|raw| percent_decode_str(raw).decode_utf8_lossy().into_owned())
            .collect();
        if segs.len() == 1 && segs[0].eq_ignore_ascii_case("$batch") {
            return Err(ids.bad_request("Nested $batch requests are not supported."));
        }
        if let Some(reply) = self.route_files(ids, req, &segs, &token) {
            return reply;
        }
        self.route_operations(ids, req, &segs, &token)
    }
}

impl FakeGraph {
    /// Intune's answer to a route (path template and method) it does not serve: 400 with
    /// `error.code` "No method match route template", as captured in public reports on other
    /// Intune resources. With [`FakeGraph::set_nested_route_errors`] the message is Intune's
    /// JSON-in-message form instead (a shape seen on other Intune errors; for this code it is
    /// unverified).
    pub(crate) fn no_route(&self, ids: &RequestIds, req: &IncomingRequest) -> Reply {
        let template = format!(
            "No OData route exists that match template ~/{} with http verb {} for request {}.",
            route_template(&req.raw_path),
            req.method,
            req.raw_path
        );
        let message = if self.lock().nested_route_errors {
            json!({"_version": 3, "Message": template, "CustomApiErrorPhrase": "", "RetryAfter": null})
                .to_string()
        } else {
            template
        };
        ids.error(400, "No method match route template", &message)
    }
}

/// The OData template of a path, as Intune's message names it: keys become `{key}`.
fn route_template(raw_path: &str) -> String {
    raw_path
        .trim_start_matches("/beta/")
        .split('/')
        .map(|segment| {
            let decoded = percent_decode_str(segment).decode_utf8_lossy();
            if crate::odata::is_guid(&decoded) {
                "{key}".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Graph's 405 for a method the resource does not have.
pub(crate) fn method_not_allowed(ids: &RequestIds, message: &str) -> Reply {
    ids.error(405, "BadRequest", message)
}

/// Adds the transport headers. Top-level replies get `request-id`, the echoed
/// `client-request-id` and a Content-Type for bodies; sub-responses get the Content-Type
/// and the echoed `client-request-id`.
pub(crate) fn finish(ids: &RequestIds, mut reply: Reply, in_batch: bool) -> Reply {
    if !in_batch {
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("request-id"));
        reply
            .headers
            .push(("request-id".into(), ids.request_id.clone()));
    }
    if let Some(c) = &ids.client_request_id
        && !reply.has_header("client-request-id")
    {
        reply.headers.push(("client-request-id".into(), c.clone()));
    }
    if !matches!(reply.body, ReplyBody::None) && !reply.has_header("content-type") {
        reply
            .headers
            .push(("Content-Type".into(), GRAPH_JSON_CONTENT_TYPE.into()));
    }
    reply
}

fn canned_reply(canned: Canned, ids: &RequestIds) -> Reply {
    let body = match (canned.raw_body, canned.body) {
        (Some(raw), _) => ReplyBody::Raw(raw),
        (None, Some(mut v)) => {
            if let Some(inner) = v
                .pointer_mut("/error/innerError")
                .and_then(Value::as_object_mut)
            {
                fill_blank(inner, "date", inner_error_date());
                fill_blank(inner, "request-id", ids.request_id.clone());
                fill_blank(inner, "client-request-id", ids.client_request_id());
            }
            ReplyBody::Json(v)
        }
        (None, None) => ReplyBody::None,
    };
    let mut reply = Reply {
        status: canned.status,
        headers: canned.headers,
        body,
    };
    if matches!(reply.body, ReplyBody::Raw(_)) && !reply.has_header("content-type") {
        reply
            .headers
            .push(("Content-Type".into(), "application/json".into()));
    }
    reply
}

/// Sets `key` to `value` where a canned body left it as an empty string.
fn fill_blank(object: &mut Map<String, Value>, key: &str, value: String) {
    if object.get(key).and_then(Value::as_str) == Some("") {
        object.insert(key.to_string(), Value::String(value));
    }
}

/// Returns the bearer token, or the 401 reply.
pub(crate) fn check_token(ids: &RequestIds, headers: &HeaderMap) -> Result<String, Reply> {
    let unauthorized = |msg: &str| {
        let mut r = ids.error(401, "InvalidAuthenticationToken", msg);
        r.headers
            .push(("WWW-Authenticate".into(), "Bearer realm=\"\"".into()));
        r
    };
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized("Access token is empty."));
    };
    let token = match v.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => {
            return Err(unauthorized(
                "Access token validation failure. Invalid audience.",
            ));
        }
    };
    if token.is_empty() {
        return Err(unauthorized("Access token is empty."));
    }
    if token == "expired" {
        return Err(unauthorized(
            "Lifetime validation failed, the token is expired.",
        ));
    }
    Ok(token.to_string())
}

pub(crate) fn check_json_content_type(ids: &RequestIds, headers: &HeaderMap) -> Result<(), Reply> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(ids.error(
            415,
            "UnsupportedMediaType",
            "The request body must be sent with Content-Type: application/json.",
        ))
    }
}

/// Parses a write's JSON body, which must be an object.
pub(crate) fn json_object_body(
    ids: &RequestIds,
    req: &IncomingRequest,
) -> Result<Map<String, Value>, Reply> {
    check_json_content_type(ids, &req.headers)?;
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ids.bad_request(&format!("Unable to read JSON request payload: {e}")))?;
    match v {
        Value::Object(obj) => Ok(obj),
        _ => Err(ids.bad_request("The request payload must be a JSON object.")),
    }
}
