//! The fixed label values of the metrics: the limits that refuse, the caches, Graph's route
//! templates and methods. Nothing here is taken from a request as it was sent.

use std::borrow::Cow;
use std::collections::HashSet;

/// Longest operation name kept as it is in a label or a span, in bytes; a longer one is cut
/// to [`KEPT_NAME_BYTES`] and marked with [`TRUNCATED`].
pub(crate) const MAX_OPERATION_NAME_BYTES: usize = 64;
/// What is kept of a name that is too long.
pub(crate) const KEPT_NAME_BYTES: usize = 48;
/// The mark of a cut name.
pub(crate) const TRUNCATED: &str = "__truncated";
/// Most bytes all operation-name labels may take together; names beyond go to the overflow
/// label, so many long names cannot grow the metrics either.
pub(crate) const OPERATION_NAME_LABEL_BYTES: usize = 4096;

/// `name` as a label or span field: as it is up to [`MAX_OPERATION_NAME_BYTES`], else its first
/// [`KEPT_NAME_BYTES`] and [`TRUNCATED`] (GraphQL names are ASCII; a cut never splits a char).
pub(crate) fn operation_name(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_OPERATION_NAME_BYTES {
        return Cow::Borrowed(name);
    }
    let mut cut = KEPT_NAME_BYTES;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}{TRUNCATED}", &name[..cut]))
}

/// The operation names that have become labels: at most `count` of them and
/// [`OPERATION_NAME_LABEL_BYTES`] in all.
#[derive(Default)]
pub(crate) struct OperationNames {
    names: HashSet<String>,
    bytes: usize,
}

impl OperationNames {
    /// The label of `name`: itself (shortened as [`operation_name`] says) while the bounds
    /// allow, else `overflow`.
    pub(crate) fn label(&mut self, name: &str, count: usize, overflow: &str) -> String {
        let name = operation_name(name);
        if self.names.contains(name.as_ref()) {
            return name.into_owned();
        }
        let bytes = self.bytes + name.len();
        if self.names.len() < count && bytes <= OPERATION_NAME_LABEL_BYTES {
            self.bytes = bytes;
            self.names.insert(name.clone().into_owned());
            return name.into_owned();
        }
        overflow.to_owned()
    }
}

pub use crate::refusal::Limit;

/// A cache the gateway keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Automatic persisted queries (hash -> document).
    Apq,
    /// Parsed documents.
    Document,
}

/// The route template of a Graph URL path relative to the version root: literal segments
/// kept, every id replaced by `{id}`; a path of another shape is `other`.
pub fn graph_route(relative_path: &str) -> &'static str {
    let segments: Vec<&str> = relative_path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["$batch"] => "/$batch",
        [
            "deviceManagement",
            "groupPolicyUploadedDefinitionFiles",
            _,
            "groupPolicyOperations",
        ] => "/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations",
        [
            "deviceManagement",
            "groupPolicyUploadedDefinitionFiles",
            _,
            "groupPolicyOperations",
            _,
        ] => "/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations/{id}",
        ["deviceManagement", "groupPolicyUploadedDefinitionFiles"] => {
            "/deviceManagement/groupPolicyUploadedDefinitionFiles"
        }
        ["deviceManagement", "groupPolicyUploadedDefinitionFiles", _] => {
            "/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}"
        }
        _ => "other",
    }
}

/// An HTTP method as a label: the four Graph is sent, anything else `OTHER`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    match *method {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_and_marked() {
        assert_eq!(operation_name("GetFiles"), "GetFiles");
        let exact = "a".repeat(MAX_OPERATION_NAME_BYTES);
        assert_eq!(operation_name(&exact), exact);
        let long = "b".repeat(1_000_000);
        let label = operation_name(&long);
        assert_eq!(label, format!("{}{TRUNCATED}", "b".repeat(KEPT_NAME_BYTES)));
    }

    #[test]
    fn name_labels_are_bounded_in_count_and_in_bytes() {
        let mut names = OperationNames::default();
        assert_eq!(names.label("Op", 3, "__other"), "Op");
        assert_eq!(names.label("Op", 3, "__other"), "Op");
        assert_eq!(names.label("Other", 1, "__other"), "__other");
        // Long names fill the byte budget before the count.
        let mut labelled = 0;
        for i in 0..1000 {
            let name = format!("{i:0>4}{}", "x".repeat(70));
            if names.label(&name, 1000, "__other") != "__other" {
                labelled += 1;
            }
        }
        let each = KEPT_NAME_BYTES + TRUNCATED.len();
        assert_eq!(labelled, (OPERATION_NAME_LABEL_BYTES - 2) / each);
        assert!(names.bytes <= OPERATION_NAME_LABEL_BYTES);
    }

    #[test]
    fn limit_labels_keep_their_flag_names() {
        let labels: Vec<&str> = Limit::ALL.iter().map(|limit| limit.as_str()).collect();
        assert_eq!(
            labels,
            [
                "max_tokens",
                "max_nesting",
                "max_depth",
                "max_complexity",
                "max_aliases",
                "max_root_fields",
                "max_directives",
                "max_introspection_depth",
                "max_response_bytes",
                "max_batch_response_bytes",
                "max_errors",
                "max_body_bytes",
                "max_large_bodies",
                "max_batch",
                "max_in_flight",
                "request_timeout",
                "body_read_timeout",
                "max_connections",
                "max_websockets",
                "max_websockets_per_address",
                "max_subscriptions",
                "ws_init_timeout",
                "ws_stall_timeout",
                "graph_request_budget",
                "max_lookups",
                "write_timeout",
                "max_pending_response_bytes",
            ]
        );
    }

    #[test]
    fn routes_never_carry_an_id() {
        let id = "7d3b5a4e-1111-2222-3333-444455556666";
        let path = format!(
            "/deviceManagement/groupPolicyUploadedDefinitionFiles/{id}/groupPolicyOperations/{id}"
        );
        assert!(!graph_route(&path).contains(id));
        assert!(graph_route(&path).ends_with("{id}/groupPolicyOperations/{id}"));
        assert_eq!(graph_route("/$batch"), "/$batch");
        assert_eq!(graph_route(&format!("/users/{id}")), "other");
    }
}
