//! The envelopes Graph wraps entities in, as typed serde structs: a list page
//! ([`ODataPage`]), the error envelope (with Intune's habit of nesting a JSON document inside
//! `error.message`, and the `innererror` chain), and the Graph `$batch` request and response;
//! and the one way a Graph body becomes a typed value ([`read`]), a request body becomes JSON
//! ([`to_value`]), and a body the gateway cannot use becomes `UPSTREAM_ERROR` ([`unusable`]).

use std::collections::HashMap;

use reqwest::StatusCode;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Code, Error, UpstreamDetail};

/// A typed Graph answer body, and how an error names it when Graph's JSON does not fit.
pub(crate) trait Body: DeserializeOwned {
    /// E.g. "an operation", as in "Graph returned an operation the gateway cannot read".
    const WHAT: &'static str;
}

/// Any body at all, for calls whose answer is not read (a delete).
impl Body for IgnoredAny {
    const WHAT: &'static str = "an answer";
}

/// Reads a Graph body (`&Value`, or a `Value` taken apart so its strings move rather than
/// being copied) as `T`; a body that does not fit is an upstream error naming `T`.
pub(crate) fn read<'a, T: Body>(
    body: impl serde::Deserializer<'a, Error = serde_json::Error>,
) -> Result<T, Error> {
    T::deserialize(body).map_err(|e| {
        unusable(format!(
            "Graph returned {} the gateway cannot read: {e}",
            T::WHAT
        ))
    })
}

/// The `UPSTREAM_ERROR` for an answer from Graph the gateway cannot use.
pub(crate) fn unusable(message: impl Into<String>) -> Error {
    Error::upstream(Code::UpstreamError, message)
}

/// Serializes a request body. Fails only for `UNKNOWN_FUTURE_VALUE`, which Graph never
/// accepts and resolvers refuse before a backend is reached.
pub(crate) fn to_value(body: impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(body).map_err(|e| Error::Internal(format!("request body: {e}")))
}

/// One page of a Graph collection: its items and the link to the next page, if any.
#[derive(Debug, Deserialize)]
pub(crate) struct ODataPage<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// Graph's error envelope, reduced to what a client can use.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GraphError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// Intune's `CustomApiErrorPhrase` (e.g. `ContentParsingException`), found at any depth.
    pub intune_code: Option<String>,
    /// The codes of the `innererror` chain, outermost first.
    pub inner_codes: Vec<String>,
}

/// `{"error": {...}}`.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

/// `error` and each level of its `innerError` / `innererror` chain (Graph writes both
/// spellings; the camelCase one wins when a level has both).
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    #[serde(rename = "innerError")]
    inner_camel: Option<Box<ErrorBody>>,
    #[serde(rename = "innererror")]
    inner_lower: Option<Box<ErrorBody>>,
}

impl ErrorBody {
    fn inner(&self) -> Option<&ErrorBody> {
        self.inner_camel.as_deref().or(self.inner_lower.as_deref())
    }
}

/// The JSON document Intune puts inside `error.message`.
#[derive(Deserialize)]
struct IntuneMessage {
    #[serde(rename = "Message", alias = "message")]
    message: Option<String>,
    #[serde(rename = "CustomApiErrorPhrase")]
    phrase: Option<String>,
}

/// How deep nested messages and `innererror` chains are followed.
const MAX_NESTING: usize = 8;

/// Unwraps Intune's JSON-in-`message` habit at any depth: the human text is the innermost
/// `Message`; the first non-empty `CustomApiErrorPhrase` on the way is its machine code.
fn unwrap_message(raw: &str) -> (String, Option<String>) {
    let mut text = raw.to_owned();
    let mut phrase = None;
    for _ in 0..MAX_NESTING {
        let Ok(nested) = serde_json::from_str::<IntuneMessage>(&text) else {
            break;
        };
        if phrase.is_none() {
            phrase = nested.phrase.filter(|p| !p.is_empty());
        }
        match nested.message {
            Some(inner) => text = inner,
            None => break,
        }
    }
    (text, phrase)
}

/// Reads `{"error":{"code","message","innerError":{"request-id", "innererror": ...}}}`; a body
/// of another shape gives an empty [`GraphError`].
pub(crate) fn graph_error(body: &Value) -> GraphError {
    let Ok(ErrorEnvelope { error }) = ErrorEnvelope::deserialize(body) else {
        return GraphError::default();
    };
    let (message, intune_code) = match error.message.as_deref().map(unwrap_message) {
        Some((text, phrase)) => (Some(text), phrase),
        None => (None, None),
    };
    let inner_codes = std::iter::successors(error.inner(), |level| level.inner())
        .take(MAX_NESTING)
        .filter_map(|level| level.code.clone())
        .collect();
    GraphError {
        request_id: error.inner().and_then(|inner| inner.request_id.clone()),
        code: error.code,
        message,
        intune_code,
        inner_codes,
    }
}

/// Builds the gateway error for a failed Graph answer.
pub(crate) fn error_for(
    code: Code,
    status: Option<StatusCode>,
    graph: GraphError,
    detail: UpstreamDetail,
) -> Error {
    let message = graph.message.unwrap_or_else(|| match status {
        Some(status) => format!("Microsoft Graph answered HTTP {}", status.as_u16()),
        None => "Microsoft Graph could not be reached".to_owned(),
    });
    Error::Upstream {
        code,
        message,
        detail: Box::new(UpstreamDetail {
            status: status.map(|s| s.as_u16()),
            graph_code: graph.code,
            request_id: detail.request_id.or(graph.request_id),
            intune_code: graph.intune_code,
            inner_codes: graph.inner_codes,
            ..detail
        }),
    }
}

/// The body of a Graph `$batch` request.
#[derive(Serialize)]
pub(crate) struct BatchRequest<'a> {
    pub requests: Vec<SubRequest<'a>>,
}

/// One sub-request of a Graph `$batch`: a GET of `url`, relative to the version root.
#[derive(Serialize)]
pub(crate) struct SubRequest<'a> {
    pub id: String,
    pub method: &'static str,
    pub url: String,
    pub headers: SubRequestHeaders<'a>,
}

/// The headers each sub-request carries.
#[derive(Serialize)]
pub(crate) struct SubRequestHeaders<'a> {
    #[serde(rename = "client-request-id")]
    pub client_request_id: &'a str,
    pub accept: &'static str,
}

/// The body of a Graph `$batch` answer: the sub-responses, in any order.
#[derive(Deserialize)]
pub(crate) struct BatchResponse {
    #[serde(default)]
    pub responses: Vec<SubResponse>,
}

/// One sub-response of a Graph `$batch` answer.
#[derive(Deserialize)]
pub(crate) struct SubResponse {
    pub id: String,
    pub status: u16,
    /// Values are strings, save a few (`Retry-After`) Graph writes as numbers.
    #[serde(default)]
    pub headers: HashMap<String, Value>,
    /// `None` when absent or `null`.
    pub body: Option<Value>,
}

impl SubResponse {
    /// The header `name` (any case) as text.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let (_, value) = self
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))?;
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_intune_messages_are_unwrapped() {
        let body = json!({ "error": {
            "code": "BadRequest",
            "message": "{\"_version\":3,\"Message\":\"An error has occurred - Operation ID: 1\",\"CustomApiErrorPhrase\":\"\",\"RetryAfter\":null}",
            "innerError": { "date": "2025-02-13T10:17:05", "request-id": "r-1", "client-request-id": "c-1" }
        }});
        let e = graph_error(&body);
        assert_eq!(e.code.as_deref(), Some("BadRequest"));
        assert_eq!(
            e.message.as_deref(),
            Some("An error has occurred - Operation ID: 1")
        );
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        let plain = graph_error(
            &json!({ "error": { "code": "ResourceNotFound", "message": "Not found" } }),
        );
        assert_eq!(plain.message.as_deref(), Some("Not found"));
    }

    #[test]
    fn twice_nested_intune_messages_and_innererror_chains_are_read() {
        let innermost = json!({"_version": 3, "Message": "Bad ADMX - Operation ID: 7", "CustomApiErrorPhrase": "ContentParsingException"});
        let middle = json!({"ErrorCode": "BadRequest", "Message": innermost.to_string(), "CustomApiErrorPhrase": ""});
        let body = json!({ "error": {
            "code": "BadRequest",
            "message": middle.to_string(),
            "innerError": { "request-id": "r-2", "code": "badRequest",
                "innererror": { "code": "invalidContent", "innererror": { "code": "admxParse" } } }
        }});
        let e = graph_error(&body);
        assert_eq!(e.message.as_deref(), Some("Bad ADMX - Operation ID: 7"));
        assert_eq!(e.intune_code.as_deref(), Some("ContentParsingException"));
        assert_eq!(
            e.inner_codes,
            vec!["badRequest", "invalidContent", "admxParse"]
        );
        assert_eq!(e.request_id.as_deref(), Some("r-2"));
    }

    #[test]
    fn list_pages_and_batch_answers_read_typed() {
        let page: ODataPage<Value> = ODataPage::deserialize(&json!({
            "@odata.context": "x", "value": [1, 2], "@odata.nextLink": "https://g/next"
        }))
        .expect("a page");
        assert_eq!(page.value.len(), 2);
        assert_eq!(page.next_link.as_deref(), Some("https://g/next"));
        let answer = BatchResponse::deserialize(&json!({ "responses": [
            { "id": "2", "status": 429, "headers": { "Retry-After": 2.5 }, "body": null }
        ]}))
        .expect("an answer");
        assert_eq!(
            answer.responses[0].header("retry-after").as_deref(),
            Some("2.5")
        );
        assert_eq!(answer.responses[0].body, None);
    }
}
