//! The fixed label values of the metrics: the limits that refuse, the caches, Graph's route
//! templates and methods. Nothing here is taken from a request as it was sent.

/// A limit that refused a request, named as its flag is (underscores for dashes).
/// `max_connections` counts refusals by either connection cap (in total or per address);
/// `max_lookups` is the fixed cap on lookups per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    MaxTokens,
    MaxNesting,
    MaxDepth,
    MaxComplexity,
    MaxAliases,
    MaxRootFields,
    MaxDirectives,
    MaxIntrospectionDepth,
    MaxResponseBytes,
    MaxBatchResponseBytes,
    MaxErrors,
    MaxBodyBytes,
    MaxLargeBodies,
    MaxBatch,
    MaxInFlight,
    RequestTimeout,
    BodyReadTimeout,
    MaxConnections,
    MaxWebsockets,
    MaxWebsocketsPerAddress,
    MaxSubscriptions,
    WsInitTimeout,
    WsStallTimeout,
    GraphRequestBudget,
    MaxLookups,
    WriteTimeout,
    MaxPendingResponseBytes,
}

impl Limit {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::MaxTokens => "max_tokens",
            Limit::MaxNesting => "max_nesting",
            Limit::MaxDepth => "max_depth",
            Limit::MaxComplexity => "max_complexity",
            Limit::MaxAliases => "max_aliases",
            Limit::MaxRootFields => "max_root_fields",
            Limit::MaxDirectives => "max_directives",
            Limit::MaxIntrospectionDepth => "max_introspection_depth",
            Limit::MaxResponseBytes => "max_response_bytes",
            Limit::MaxBatchResponseBytes => "max_batch_response_bytes",
            Limit::MaxErrors => "max_errors",
            Limit::MaxBodyBytes => "max_body_bytes",
            Limit::MaxLargeBodies => "max_large_bodies",
            Limit::MaxBatch => "max_batch",
            Limit::MaxInFlight => "max_in_flight",
            Limit::RequestTimeout => "request_timeout",
            Limit::BodyReadTimeout => "body_read_timeout",
            Limit::MaxConnections => "max_connections",
            Limit::MaxWebsockets => "max_websockets",
            Limit::MaxWebsocketsPerAddress => "max_websockets_per_address",
            Limit::MaxSubscriptions => "max_subscriptions",
            Limit::WsInitTimeout => "ws_init_timeout",
            Limit::WsStallTimeout => "ws_stall_timeout",
            Limit::GraphRequestBudget => "graph_request_budget",
            Limit::MaxLookups => "max_lookups",
            Limit::WriteTimeout => "write_timeout",
            Limit::MaxPendingResponseBytes => "max_pending_response_bytes",
        }
    }
}

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
