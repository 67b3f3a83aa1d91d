//! The fake's JSON `$batch`: the envelope is checked as strictly as Graph checks it, each
//! sub-request then goes the same way as a plain request (so injections, delays and
//! recording reach it), and the sub-responses come back shuffled unless a test says not to.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use serde_json::{Map, Value, json};

use crate::FakeGraph;
use crate::serve::{
    IncomingRequest, Reply, ReplyBody, RequestIds, check_json_content_type, check_token, finish,
    method_not_allowed,
};

/// Graph's cap on sub-requests in one `$batch`.
const MAX_SUB_REQUESTS: usize = 20;

/// One entry of the `requests` array, checked.
struct SubRequest {
    id: String,
    method: String,
    url: String,
    headers: HeaderMap,
    body: Option<Value>,
}

impl FakeGraph {
    /// Answers a `$batch` POST: 200 with every sub-response, or the error for the envelope.
    pub(crate) async fn batch(
        &self,
        ids: &RequestIds,
        req: &IncomingRequest,
    ) -> Result<Reply, Reply> {
        let subs = parse_batch(ids, req)?;
        let outer_auth = req.headers.get(header::AUTHORIZATION);
        let mut responses = Vec::with_capacity(subs.len());
        for sub in subs {
            let id = sub.id.clone();
            let reply = self.run_sub_request(sub, outer_auth).await;
            responses.push(sub_response(id, reply));
        }
        if self.lock().shuffle_batch {
            shuffle(&mut responses);
        }
        Ok(Reply::json(200, json!({ "responses": responses })))
    }

    async fn run_sub_request(&self, sub: SubRequest, outer_auth: Option<&HeaderValue>) -> Reply {
        if sub.url.starts_with("http://") || sub.url.starts_with("https://") {
            let ids = RequestIds::new(&sub.headers);
            let refusal =
                ids.bad_request("Batch request URLs must be relative to the version root.");
            return finish(&ids, refusal, true);
        }
        let relative = sub.url.strip_prefix('/').unwrap_or(&sub.url);
        let (path, query) = match relative.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (relative, None),
        };
        // Graph authenticates a sub-request with the outer request's token only.
        let mut headers = sub.headers;
        headers.remove(header::AUTHORIZATION);
        if let Some(auth) = outer_auth {
            headers.insert(header::AUTHORIZATION, auth.clone());
        }
        let body = sub
            .body
            .map(|b| serde_json::to_vec(&b).unwrap_or_default())
            .unwrap_or_default();
        self.serve_plain(IncomingRequest {
            method: sub.method,
            raw_path: format!("/beta/{path}"),
            query,
            headers,
            body,
            in_batch: true,
        })
        .await
    }
}

/// Checks the envelope (method, query, Content-Type, the `requests` array) and each entry.
fn parse_batch(ids: &RequestIds, req: &IncomingRequest) -> Result<Vec<SubRequest>, Reply> {
    check_token(ids, &req.headers)?;
    if req.method != "POST" {
        return Err(method_not_allowed(
            ids,
            "The batch endpoint only accepts POST.",
        ));
    }
    if req.query.as_deref().is_some_and(|q| !q.is_empty()) {
        return Err(ids.bad_request("Query options are not supported on $batch."));
    }
    check_json_content_type(ids, &req.headers)?;
    let payload: Value = serde_json::from_slice(&req.body)
        .map_err(|e| malformed(ids, &format!("Body is not JSON: {e}")))?;
    let list = payload
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ids, "Expected an object with a 'requests' array."))?;
    if list.is_empty() {
        return Err(malformed(ids, "The 'requests' array is empty."));
    }
    if list.len() > MAX_SUB_REQUESTS {
        return Err(malformed(
            ids,
            &format!(
                "Number of batch requests ({}) exceeds the limit of {MAX_SUB_REQUESTS}.",
                list.len()
            ),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut subs = Vec::with_capacity(list.len());
    for item in list {
        let sub = parse_sub_request(ids, item)?;
        let lower = sub.id.to_lowercase();
        if seen.contains(&lower) {
            return Err(malformed(
                ids,
                &format!(
                    "Request Id '{}' is not unique (ids are compared case-insensitively).",
                    sub.id
                ),
            ));
        }
        seen.push(lower);
        subs.push(sub);
    }
    Ok(subs)
}

fn malformed(ids: &RequestIds, why: &str) -> Reply {
    ids.bad_request(&format!("Invalid batch payload format. {why}"))
}

fn parse_sub_request(ids: &RequestIds, item: &Value) -> Result<SubRequest, Reply> {
    let obj = item
        .as_object()
        .ok_or_else(|| malformed(ids, "Each request must be an object."))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(malformed(
                ids,
                "Each request needs a non-empty string 'id'.",
            ));
        }
    };
    let text = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(ids, &format!("Request '{id}' needs a string '{name}'.")))
    };
    let method = text("method")?.to_ascii_uppercase();
    let url = text("url")?.to_string();
    let headers = parse_sub_headers(ids, &id, obj.get("headers"))?;
    let body = obj.get("body").filter(|b| !b.is_null()).cloned();
    if body.is_some() && !headers.contains_key(header::CONTENT_TYPE) {
        return Err(malformed(
            ids,
            &format!("Request '{id}' has a body but no Content-Type header."),
        ));
    }
    Ok(SubRequest {
        id,
        method,
        url,
        headers,
        body,
    })
}

fn parse_sub_headers(
    ids: &RequestIds,
    id: &str,
    value: Option<&Value>,
) -> Result<HeaderMap, Reply> {
    let mut headers = HeaderMap::new();
    let entries = match value {
        None | Some(Value::Null) => return Ok(headers),
        Some(Value::Object(h)) => h,
        Some(_) => {
            return Err(malformed(
                ids,
                &format!("Request '{id}': 'headers' must be an object."),
            ));
        }
    };
    for (k, v) in entries {
        let v = v.as_str().ok_or_else(|| {
            malformed(
                ids,
                &format!("Request '{id}': header '{k}' must be a string."),
            )
        })?;
        let (Ok(name), Ok(value)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v))
        else {
            return Err(malformed(
                ids,
                &format!("Request '{id}': invalid header '{k}'."),
            ));
        };
        headers.append(name, value);
    }
    Ok(headers)
}

/// One entry of the `responses` array; a raw body appears as a JSON string.
fn sub_response(id: String, reply: Reply) -> Value {
    let headers: Map<String, Value> = reply
        .headers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut response = Map::new();
    response.insert("id".into(), Value::String(id));
    response.insert("status".into(), json!(reply.status));
    response.insert("headers".into(), Value::Object(headers));
    match reply.body {
        ReplyBody::None => {}
        ReplyBody::Json(v) => {
            response.insert("body".into(), v);
        }
        ReplyBody::Raw(s) => {
            response.insert("body".into(), Value::String(s));
        }
    }
    Value::Object(response)
}

/// Random order, and never the request order when there are two or more (so a client that
/// relies on the order fails every time, not now and then).
fn shuffle(responses: &mut [Value]) {
    if responses.len() < 2 {
        return;
    }
    let before: Vec<Value> = responses.iter().map(|r| r["id"].clone()).collect();
    fastrand::shuffle(responses);
    let after: Vec<Value> = responses.iter().map(|r| r["id"].clone()).collect();
    if before == after {
        responses.rotate_left(1);
    }
}
