//! Graph's JSON, in and out: entity bodies (whole, OData annotations ignored),
//! request bodies in Graph's camelCase, and the error envelope (including Intune's habit of
//! nesting a JSON document inside `error.message`).

use serde_json::{Map, Value, json};

use crate::domain::{
    Guid, NewOperation, Operation, OperationPatch, OperationStatus, OperationType, Timestamp,
};
use crate::error::{Code, Error, UpstreamDetail};

/// The `@odata.type` Graph expects on request bodies.
const ODATA_TYPE: &str = "#microsoft.graph.groupPolicyOperation";

fn upstream(message: String) -> Error {
    Error::upstream(Code::UpstreamError, message)
}

/// Reads an operation from a Graph entity body. Annotations and unknown properties are
/// ignored; a missing `statusDetails` is null; any other property Graph omitted is an upstream
/// error.
pub fn operation(definition_file_id: Guid, body: &Value) -> Result<Operation, Error> {
    let object = body
        .as_object()
        .ok_or_else(|| upstream("Graph returned an operation that is not a JSON object".into()))?;
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let required = |name: &str| -> Result<&str, Error> {
        text(name).ok_or_else(|| upstream(format!("Graph returned an operation without `{name}`")))
    };
    let id = required("id")?;
    let id = Guid::parse("id", id)
        .map_err(|_| upstream(format!("Graph returned a non-GUID id `{id}`")))?;
    Ok(Operation {
        id,
        definition_file_id,
        operation_type: OperationType::from_graph(required("operationType")?),
        operation_status: OperationStatus::from_graph(required("operationStatus")?),
        status_details: text("statusDetails").map(str::to_owned),
        last_modified: Timestamp::from_graph(required("lastModifiedDateTime")?)
            .map_err(upstream)?,
    })
}

/// The POST body that creates an operation.
pub fn create_body(input: &NewOperation) -> Result<Value, Error> {
    let mut body = Map::new();
    body.insert("@odata.type".into(), json!(ODATA_TYPE));
    body.insert(
        "operationType".into(),
        json!(wire_name(input.operation_type.graph_name())?),
    );
    body.insert(
        "operationStatus".into(),
        json!(wire_name(input.operation_status.graph_name())?),
    );
    if let Some(details) = &input.status_details {
        body.insert("statusDetails".into(), json!(details));
    }
    Ok(Value::Object(body))
}

/// The PATCH body: only the fields that change (`statusDetails: null` clears).
pub fn patch_body(patch: &OperationPatch) -> Result<Value, Error> {
    let mut body = Map::new();
    body.insert("@odata.type".into(), json!(ODATA_TYPE));
    if let Some(t) = patch.operation_type {
        body.insert("operationType".into(), json!(wire_name(t.graph_name())?));
    }
    if let Some(s) = patch.operation_status {
        body.insert("operationStatus".into(), json!(wire_name(s.graph_name())?));
    }
    if let Some(details) = &patch.status_details {
        body.insert("statusDetails".into(), json!(details));
    }
    Ok(Value::Object(body))
}

fn wire_name(name: Option<&'static str>) -> Result<&'static str, Error> {
    // Resolvers refuse UNKNOWN_FUTURE_VALUE before a backend is reached.
    name.ok_or_else(|| Error::Internal("UNKNOWN_FUTURE_VALUE reached the Graph backend".into()))
}

/// Graph's error envelope, reduced to what a client can use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// Intune's `CustomApiErrorPhrase` (e.g. `ContentParsingException`), found at any depth.
    pub intune_code: Option<String>,
    /// The codes of the `innererror` chain, outermost first.
    pub inner_codes: Vec<String>,
}

/// How deep nested messages and `innererror` chains are followed.
const MAX_NESTING: usize = 8;

/// Unwraps Intune's JSON-in-`message` habit at any depth: the human text is the innermost
/// `Message`; the first non-empty `CustomApiErrorPhrase` on the way is its machine code.
fn unwrap_message(raw: &str) -> (String, Option<String>) {
    let mut text = raw.to_owned();
    let mut phrase = None;
    for _ in 0..MAX_NESTING {
        let Ok(Value::Object(nested)) = serde_json::from_str::<Value>(&text) else {
            break;
        };
        if phrase.is_none() {
            phrase = nested
                .get("CustomApiErrorPhrase")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_owned);
        }
        match nested.get("Message").or_else(|| nested.get("message")) {
            Some(Value::String(inner)) => text = inner.clone(),
            _ => break,
        }
    }
    (text, phrase)
}

fn inner(error: &Value) -> &Value {
    match error.get("innerError") {
        Some(inner) if inner.is_object() => inner,
        _ => &error["innererror"],
    }
}

/// Reads `{"error":{"code","message","innerError":{"request-id", "innererror": ...}}}`.
pub fn graph_error(body: &Value) -> GraphError {
    let error = &body["error"];
    let (message, intune_code) = match error["message"].as_str() {
        Some(raw) => {
            let (text, phrase) = unwrap_message(raw);
            (Some(text), phrase)
        }
        None => (None, None),
    };
    let mut inner_codes = Vec::new();
    let mut level = inner(error);
    for _ in 0..MAX_NESTING {
        if let Some(code) = level["code"].as_str() {
            inner_codes.push(code.to_owned());
        }
        level = inner(level);
        if !level.is_object() {
            break;
        }
    }
    GraphError {
        code: error["code"].as_str().map(str::to_owned),
        message,
        request_id: inner(error)["request-id"].as_str().map(str::to_owned),
        intune_code,
        inner_codes,
    }
}

/// Builds the gateway error for a failed Graph answer.
pub fn error_for(
    code: Code,
    status: Option<u16>,
    graph: GraphError,
    detail: UpstreamDetail,
) -> Error {
    let message = graph.message.unwrap_or_else(|| match status {
        Some(status) => format!("Microsoft Graph answered HTTP {status}"),
        None => "Microsoft Graph could not be reached".to_owned(),
    });
    Error::Upstream {
        code,
        message,
        detail: Box::new(UpstreamDetail {
            status,
            graph_code: graph.code,
            request_id: detail.request_id.or(graph.request_id),
            intune_code: graph.intune_code,
            inner_codes: graph.inner_codes,
            ..detail
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Guid {
        Guid::parse("f", "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01").expect("guid")
    }

    #[test]
    fn entities_ignore_annotations_and_keep_timestamps_verbatim() {
        let body = json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x",
            "@odata.type": "#microsoft.graph.groupPolicyOperation",
            "id": "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01",
            "operationType": "uploadNewVersion",
            "operationStatus": "paused",
            "lastModifiedDateTime": "2016-12-31T23:59:40.8735716+03:00",
            "somethingNew": 1
        });
        let op = operation(file(), &body).expect("parses");
        assert_eq!(op.operation_type, OperationType::UploadNewVersion);
        assert_eq!(op.operation_status, OperationStatus::UnknownFutureValue);
        assert_eq!(op.status_details, None);
        assert_eq!(
            op.last_modified.as_str(),
            "2016-12-31T23:59:40.8735716+03:00"
        );
    }

    #[test]
    fn a_property_graph_omits_is_an_upstream_error_never_a_stand_in() {
        let body = json!({ "id": "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01" });
        let err = operation(file(), &body).expect_err("missing fields");
        assert_eq!(err.code(), Code::UpstreamError);
    }

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
    fn patch_bodies_carry_only_changed_fields() {
        let patch = OperationPatch {
            operation_status: Some(OperationStatus::Success),
            status_details: Some(None),
            ..Default::default()
        };
        assert_eq!(
            patch_body(&patch).expect("body"),
            json!({ "@odata.type": ODATA_TYPE, "operationStatus": "success", "statusDetails": null })
        );
    }
}
