//! How an [`Error`] becomes a GraphQL error: its client message and `extensions.code`, plus what
//! Graph said for upstream failures. It lives in the GraphQL layer so `error.rs` and the layers
//! below it never depend on the GraphQL engine.

use async_graphql::ErrorExtensions;

use crate::error::Error;

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        if let Error::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        async_graphql::Error::new(self.client_message()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Error::BadUserInput {
                    argument: Some(argument),
                    ..
                } => ext.set("argument", argument.as_str()),
                Error::Upstream { detail, .. } => {
                    if let Some(status) = detail.status {
                        ext.set("status", status);
                    }
                    if let Some(graph_code) = &detail.graph_code {
                        ext.set("graphCode", graph_code.as_str());
                    }
                    if let Some(request_id) = &detail.request_id {
                        ext.set("requestId", request_id.as_str());
                    }
                    if let Some(id) = &detail.client_request_id {
                        ext.set("clientRequestId", id.as_str());
                    }
                    if let Some(wait) = detail.retry_after {
                        ext.set("retryAfter", wait.as_secs_f64().ceil() as u64);
                    }
                    if let Some(code) = &detail.intune_code {
                        ext.set("intuneCode", code.as_str());
                    }
                    if !detail.inner_codes.is_empty() {
                        ext.set("innerCodes", detail.inner_codes.clone());
                    }
                }
                _ => {}
            }
        })
    }
}
