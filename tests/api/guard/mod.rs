//! The pre-execution guard and the response bounds, through the real router: every limit
//! just under and just over its default and the production and federation switches
//! (`limits`), and the query bombs of issue 8 on every way an operation arrives (`refusals`).

mod limits;
mod refusals;

use serde_json::Value;

use crate::helpers::code;

pub fn assert_limit(body: &Value, needle: &str) {
    assert_eq!(code(body), "LIMIT_EXCEEDED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
}

pub fn assert_passes(body: &Value) {
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"].is_object(), "{body}");
}

pub fn repeat_join(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(" ")
}
