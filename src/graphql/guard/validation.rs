//! Validation once per document: async-graphql validates every request's document against the
//! schema, a walk with hash lookups at every field, although a cached document gives the same
//! answer every time but in one respect. That respect is the request's variables: async-graphql
//! checks each argument written as a variable against the argument's type with the value sent
//! (its "Invalid value for argument" refusal). Every other rule reads the document and the
//! operation name only.
//!
//! So a success is remembered per document and operation name, and reused only when every
//! variable the request sends is plainly valid for the type its definition declares (a string
//! for `ID` or `String`, a boolean for `Boolean`, a 32-bit integer for `Int`): values async-graphql
//! accepts for those types wherever validation allows such a variable. Any other value (null,
//! a list, an object, an enum or custom scalar) is validated in full again, so it is refused
//! exactly as before. A refusal is never remembered.

use std::sync::Arc;

use async_graphql::parser::types::{BaseType, DocumentOperations, ExecutableDocument, Type};
use async_graphql::{ValidationResult, Value, Variables};

use crate::graphql::documents::Validations;

/// What the guard decided, before validation, about one request's validation.
pub(super) enum Plan {
    /// Validation passed for this document and operation before and the variables cannot
    /// change that: reuse the result.
    Reuse(ValidationResult),
    /// Validate, and remember a success for the next request.
    Remember(Arc<Validations>, Option<String>),
}

/// The plan for a request running `operation` of `document` with `variables`; `None` when
/// there is nothing to remember it by (an uncached document, or an operation name the document
/// does not define, which a client could vary without end).
pub(super) fn plan(
    validations: Option<Arc<Validations>>,
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> Option<Plan> {
    let validations = validations?;
    let defined = match (&document.operations, operation) {
        (_, None) => true,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.contains_key(name),
        (DocumentOperations::Single(_), Some(_)) => false,
    };
    if !defined {
        return None;
    }
    match validations.get(operation) {
        Some(result) if variables_plainly_valid(document, variables) => Some(Plan::Reuse(result)),
        _ => Some(Plan::Remember(validations, operation.map(str::to_owned))),
    }
}

/// Whether every variable sent for any operation of `document` is plainly valid for its
/// declared type (or not sent at all: validation does not check what is missing).
fn variables_plainly_valid(document: &ExecutableDocument, variables: &Variables) -> bool {
    document.operations.iter().all(|(_, operation)| {
        operation
            .node
            .variable_definitions
            .iter()
            .all(|definition| {
                let definition = &definition.node;
                variables
                    .get(&definition.name.node)
                    .is_none_or(|value| plainly_valid(&definition.var_type.node, value))
            })
    })
}

fn plainly_valid(declared: &Type, value: &Value) -> bool {
    let BaseType::Named(name) = &declared.base else {
        return false;
    };
    match (name.as_str(), value) {
        ("ID" | "String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
        ("Int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::CacheControl;
    use async_graphql::parser::parse_query;

    use super::*;

    const DOC: &str = "query A($id: ID!, $n: Int, $on: Boolean!, $s: [String!]) { a(id: $id, n: $n, s: $s) @include(if: $on) } query B { b }";

    fn result() -> ValidationResult {
        ValidationResult {
            cache_control: CacheControl::default(),
            complexity: 1,
            depth: 1,
        }
    }

    fn variables(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    fn plan_for(
        validations: &Arc<Validations>,
        operation: Option<&str>,
        vars: serde_json::Value,
    ) -> Option<Plan> {
        let document = parse_query(DOC).expect("parses");
        plan(
            Some(Arc::clone(validations)),
            &document,
            operation,
            &variables(vars),
        )
    }

    fn reuses(plan: Option<Plan>) -> bool {
        matches!(plan, Some(Plan::Reuse(_)))
    }

    #[test]
    fn a_remembered_success_is_reused_only_with_plainly_valid_variables() {
        let validations = Arc::new(Validations::default());
        let plain = serde_json::json!({ "id": "x", "n": 3, "on": true });
        assert!(
            matches!(plan_for(&validations, Some("A"), plain.clone()), Some(Plan::Remember(_, Some(name))) if name == "A"),
            "nothing remembered yet"
        );
        validations.remember(Some("A"), result());
        assert!(reuses(plan_for(&validations, Some("A"), plain)));
        // Each of these may be refused by validation, so it is validated again.
        for odd in [
            serde_json::json!({ "id": 3 }),
            serde_json::json!({ "id": null }),
            serde_json::json!({ "n": 3_000_000_000_u64 }),
            serde_json::json!({ "n": "3" }),
            serde_json::json!({ "on": "yes" }),
            serde_json::json!({ "s": ["a"] }),
            serde_json::json!({ "id": { "a": 1 } }),
        ] {
            assert!(
                !reuses(plan_for(&validations, Some("A"), odd.clone())),
                "{odd} reused"
            );
        }
        // Variables the document does not declare are not checked by validation either.
        assert!(reuses(plan_for(
            &validations,
            Some("A"),
            serde_json::json!({ "other": [1, 2] })
        )));
    }

    #[test]
    fn results_are_kept_per_operation_name_and_only_for_names_the_document_defines() {
        let validations = Arc::new(Validations::default());
        validations.remember(Some("A"), result());
        assert!(!reuses(plan_for(
            &validations,
            Some("B"),
            serde_json::json!({})
        )));
        assert!(!reuses(plan_for(&validations, None, serde_json::json!({}))));
        assert!(plan_for(&validations, Some("Nope"), serde_json::json!({})).is_none());
        let single = parse_query("{ a }").expect("parses");
        assert!(plan(Some(validations), &single, Some("A"), &Variables::default()).is_none());
    }
}
