//! Two body limits, so definition file uploads fit without loosening the query limits: a POST
//! body may reach `--max-variables-bytes` (8 MiB by default: a 1 MB ADMX with two 1 MB ADMLs,
//! base64-encoded, is about 4 MiB), but everything in it except `variables` (query text,
//! operation name, extensions) must still fit in `--max-body-bytes` (1 MiB by default).
//!
//! Base64 contents can only travel in variables; query text, which costs parsing and
//! validation work, stays capped as before.

use serde_json::Value;

use super::HttpConfig;
use crate::refusal::Refusal;

impl HttpConfig {
    /// The largest body read at all.
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes.max(self.max_variables_bytes)
    }

    /// Refuses a request (or any request of a batch) whose parts other than `variables` are
    /// larger than `max_body_bytes`.
    pub fn check_outside_variables(&self, parsed: &Value) -> Result<(), Refusal> {
        let requests = match parsed {
            Value::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        let outside: usize = requests.iter().map(size_outside_variables).sum();
        if outside > self.max_body_bytes {
            return Err(Refusal::BodyOutsideVariables {
                plain: self.max_body_bytes,
                limit: self.body_limit(),
            });
        }
        Ok(())
    }
}

/// Bytes of a request's JSON members other than `variables`, as serialised.
fn size_outside_variables(request: &Value) -> usize {
    match request {
        Value::Object(members) => members
            .iter()
            .filter(|(name, _)| name.as_str() != "variables")
            .map(|(name, value)| name.len() + value.to_string().len() + 4)
            .sum(),
        other => other.to_string().len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> HttpConfig {
        let mut config = crate::http_config(&crate::Config::defaults());
        config.max_body_bytes = 100;
        config.max_variables_bytes = 1000;
        config
    }

    #[test]
    fn only_variables_may_exceed_the_body_limit() {
        let limits = limits();
        assert_eq!(limits.body_limit(), 1000);
        let big_variables = json!({ "query": "{ a }", "variables": { "c": "x".repeat(900) } });
        assert!(limits.check_outside_variables(&big_variables).is_ok());
        let big_query = json!({ "query": format!("{{ a }} #{}", "x".repeat(100)) });
        let err = limits
            .check_outside_variables(&big_query)
            .expect_err("too big");
        assert!(err.to_string().contains("outside its `variables`"), "{err}");
        let batch = json!([{ "query": "x".repeat(60) }, { "query": "y".repeat(60) }]);
        assert!(limits.check_outside_variables(&batch).is_err());
    }
}
