//! The two judgements the idempotency layer makes without running GraphQL: whether a request
//! may write (only those use a key) and whether its answer means something ran (only those
//! are kept). Both err on the side of keeping the key: a write is never run twice because of
//! a wrong guess here, at worst a retry of a refusal is refused again.

use serde::Deserialize;
use serde_json::Value;

use crate::error::Code;

/// One GraphQL request of a POST body; every other member is skipped unread.
#[derive(Deserialize)]
struct Document {
    query: Option<String>,
}

/// Whether a POST body holds a document that may contain a mutation. A body that is not a
/// GraphQL request is refused by the handler before anything runs, so it needs no key; a
/// persisted query sent by hash alone may be anything, so it keeps its key.
pub(super) fn may_mutate(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let documents: Vec<Document> = if first == Some(&b'[') {
        match serde_json::from_slice(body) {
            Ok(documents) => documents,
            Err(_) => return false,
        }
    } else {
        match serde_json::from_slice(body) {
            Ok(document) => vec![document],
            Err(_) => return false,
        }
    };
    documents
        .iter()
        .any(|d| d.query.as_deref().is_none_or(declares_mutation))
}

/// Whether a GraphQL document has a `mutation` operation: a `mutation` name outside every
/// bracket, string and comment. Linear in the text and never recursive, so it is safe on a
/// document the guard has not measured yet.
fn declares_mutation(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            b if b == b'_' || b.is_ascii_alphabetic() => {
                let start = i;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                if depth == 0 && &bytes[start..i] == b"mutation" {
                    return true;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether `code` means the operation did not run: the gateway or Graph refused it first.
fn nothing_ran(code: Code) -> bool {
    matches!(
        code,
        Code::Throttled
            | Code::LimitExceeded
            | Code::GraphqlParseFailed
            | Code::GraphqlValidationFailed
            | Code::BadUserInput
            | Code::PersistedQueryNotFound
            | Code::Unauthenticated
            | Code::Forbidden
    )
}

/// Whether an answer shows that something ran. Any status but 2xx means the request was
/// refused as a whole. In a 2xx answer, each GraphQL response ran unless it has no data
/// (no field with a value) and every one of its errors carries a "nothing ran" code. An answer
/// too large to read (`None`) comes from queries and is taken as run.
pub(super) fn something_ran(status: u16, body: Option<&[u8]>) -> bool {
    if !(200..300).contains(&status) {
        return false;
    }
    let Some(body) = body else {
        return true;
    };
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return true;
    };
    match answer {
        Value::Array(responses) => responses.iter().any(response_ran),
        single => response_ran(&single),
    }
}

fn response_ran(response: &Value) -> bool {
    let has_data = match response.get("data") {
        Some(Value::Object(fields)) => fields.values().any(|v| !v.is_null()),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    if has_data {
        return true;
    }
    let errors = response.get("errors").and_then(Value::as_array);
    let refused = |error: &Value| {
        error
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .and_then(|code| code.parse::<Code>().ok())
            .is_some_and(nothing_ran)
    };
    !errors.is_some_and(|errors| !errors.is_empty() && errors.iter().all(refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documents_with_a_mutation_may_write() {
        let query = br#"{"query":"query Q($m: String = \"mutation\") { a # mutation\n }"}"#;
        assert!(!may_mutate(query));
        assert!(!may_mutate(br#"{"query":"{ mutation }"}"#));
        assert!(!may_mutate(
            br#"{"query":"\"\"\"mutation\"\"\" query { a }"}"#
        ));
        assert!(may_mutate(br#"{"query":"mutation M { a }"}"#));
        assert!(may_mutate(
            br#"[{"query":"{ a }"},{"query":"mutation { a }"}]"#
        ));
        let by_hash = br#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}"#;
        assert!(may_mutate(by_hash), "a persisted query may be a mutation");
        assert!(!may_mutate(b"not json"));
    }

    #[test]
    fn refusals_mean_nothing_ran_and_data_or_other_errors_mean_it_did() {
        let throttled =
            br#"{"data":{"create":null},"errors":[{"extensions":{"code":"THROTTLED"}}]}"#;
        assert!(!something_ran(200, Some(throttled)));
        let invalid = br#"{"errors":[{"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#;
        assert!(!something_ran(200, Some(invalid)));
        assert!(!something_ran(503, Some(b"{}")));
        let done = br#"{"data":{"create":{"id":"1"}}}"#;
        assert!(something_ran(200, Some(done)));
        let failed = br#"{"data":null,"errors":[{"extensions":{"code":"UPSTREAM_ERROR"}}]}"#;
        assert!(
            something_ran(200, Some(failed)),
            "an upstream error may follow a write"
        );
        let batch = format!(
            "[{},{}]",
            std::str::from_utf8(throttled).unwrap(),
            "{\"data\":{\"a\":1}}"
        );
        assert!(something_ran(200, Some(batch.as_bytes())));
        assert!(something_ran(200, None));
    }
}
