//! The one error type of the gateway and its mapping to the contract's `extensions.code`.
//!
//! Every layer reports failures as [`Error`]; the GraphQL layer turns it into a GraphQL error
//! (`crate::graphql::errors`), so a client always gets a code from the contract's list and never
//! an internal detail (those are logged, not sent). This module is the bottom floor: it knows
//! neither the GraphQL engine nor HTTP, so every layer can depend on it.

/// The error codes of `../shared/contract.graphql` (`errors[].extensions.code`), declared in
/// the contract's order; their wire names come from the member names (see [`Code::as_str`]).
/// A code read back from a response parses with `str::parse` (`FromStr`, derived likewise).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// `GRAPHQL_PARSE_FAILED`: the document is not valid GraphQL.
    GraphqlParseFailed,
    /// `GRAPHQL_VALIDATION_FAILED`: the document does not fit the schema, or uses a directive
    /// other than `@skip` and `@include`.
    GraphqlValidationFailed,
    /// `BAD_USER_INPUT`: an argument, variable or header is invalid.
    BadUserInput,
    /// `PERSISTED_QUERY_NOT_FOUND`: a persisted query hash the gateway does not know, sent
    /// without its query text.
    PersistedQueryNotFound,
    /// `UNAUTHENTICATED`: no usable bearer token, or Microsoft Graph refused it.
    Unauthenticated,
    /// `FORBIDDEN`: the token lacks the permission, or the browser origin is not allowed.
    Forbidden,
    /// `NOT_FOUND`: the definition file or operation does not exist.
    NotFound,
    /// `CONFLICT`: the object's state does not allow the request now, or an `Idempotency-Key`
    /// was reused for another body or is still running.
    Conflict,
    /// `THROTTLED`: Microsoft Graph (or the tenant's budget) says wait; `retryAfter` says how long.
    Throttled,
    /// `UPSTREAM_ERROR`: Microsoft Graph failed or answered something unusable.
    UpstreamError,
    /// `UPSTREAM_TIMEOUT`: Microsoft Graph did not answer in time; a write may or may not have
    /// happened.
    UpstreamTimeout,
    /// `LIMIT_EXCEEDED`: a limit of the gateway or of Intune was reached.
    LimitExceeded,
    /// `INTERNAL_SERVER_ERROR`: a bug in the gateway; the detail is logged, never sent.
    InternalServerError,
}

impl Code {
    /// Every code, in the contract's order (the order declared above).
    pub const ALL: &'static [Code] = <Code as strum::VariantArray>::VARIANTS;

    /// The wire form clients match on: the member's name in `SCREAMING_SNAKE_CASE`, derived.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What Graph said about a failed call, kept so a client can quote it to Microsoft support.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpstreamDetail {
    /// HTTP status Graph answered with; `None` when no answer arrived (timeout, transport).
    pub status: Option<u16>,
    /// Graph's `error.code`, e.g. `ResourceNotFound`.
    pub graph_code: Option<String>,
    /// Graph's `request-id` (response header or `innerError`).
    pub request_id: Option<String>,
    /// The `client-request-id` the gateway sent.
    pub client_request_id: Option<String>,
    /// How long Graph asked us to wait (only for `THROTTLED`).
    pub retry_after: Option<std::time::Duration>,
    /// Intune's `CustomApiErrorPhrase`, often its only machine-readable reason.
    pub intune_code: Option<String>,
    /// Codes of Graph's `innererror` chain, outermost first.
    pub inner_codes: Vec<String>,
}

/// Everything that can go wrong while serving a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The caller sent something invalid; `argument` names the offending argument.
    #[error("{message}")]
    BadUserInput {
        /// What the client reads.
        message: String,
        /// The argument at fault (e.g. `input.fileName`); `None` when the request as a whole is.
        argument: Option<String>,
    },
    /// The addressed operation does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The addressed object is in a state that does not allow the request.
    #[error("{0}")]
    Conflict(String),
    /// A request that must reach Graph carried no usable bearer token.
    #[error("{0}")]
    Unauthenticated(String),
    /// A size, count or rate limit of the gateway was exceeded.
    #[error("{0}")]
    LimitExceeded(String),
    /// The gateway refuses this client (e.g. a browser page from an origin it does not allow).
    #[error("{0}")]
    Forbidden(String),
    /// An automatic persisted query hash the gateway has not seen.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// Graph answered with an error, or could not be reached; `code` is the mapped contract code.
    #[error("{message}")]
    Upstream {
        /// The contract code a client gets (`THROTTLED`, `UPSTREAM_ERROR`, `NOT_FOUND`, ...).
        code: Code,
        /// What the client reads: Graph's failure in the gateway's words.
        message: String,
        /// Graph's status, codes and request ids, for the error's extensions.
        detail: Box<UpstreamDetail>,
    },
    /// A bug or an unexpected state; the text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A `BAD_USER_INPUT` error about one argument.
    pub fn bad_argument(argument: &str, message: impl Into<String>) -> Self {
        Error::BadUserInput {
            message: message.into(),
            argument: Some(argument.to_owned()),
        }
    }

    /// A `BAD_USER_INPUT` error about the request as a whole.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::BadUserInput {
            message: message.into(),
            argument: None,
        }
    }

    /// A Graph failure without an HTTP answer to describe (an unusable body, a timeout).
    pub fn upstream(code: Code, message: impl Into<String>) -> Self {
        Error::Upstream {
            code,
            message: message.into(),
            detail: Box::default(),
        }
    }

    /// The contract code for this error.
    pub fn code(&self) -> Code {
        match self {
            Error::BadUserInput { .. } => Code::BadUserInput,
            Error::NotFound(_) => Code::NotFound,
            Error::Conflict(_) => Code::Conflict,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::LimitExceeded(_) => Code::LimitExceeded,
            Error::Forbidden(_) => Code::Forbidden,
            Error::PersistedQueryNotFound => Code::PersistedQueryNotFound,
            Error::Upstream { code, .. } => *code,
            Error::Internal(_) => Code::InternalServerError,
        }
    }

    /// The message a client may see.
    pub fn client_message(&self) -> String {
        match self {
            Error::Internal(_) => "Internal server error".to_owned(),
            other => other.to_string(),
        }
    }
}

/// Shorthand for results across the gateway.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_the_contract_names_and_order() {
        let names: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(
            names,
            [
                "GRAPHQL_PARSE_FAILED",
                "GRAPHQL_VALIDATION_FAILED",
                "BAD_USER_INPUT",
                "PERSISTED_QUERY_NOT_FOUND",
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "NOT_FOUND",
                "CONFLICT",
                "THROTTLED",
                "UPSTREAM_ERROR",
                "UPSTREAM_TIMEOUT",
                "LIMIT_EXCEEDED",
                "INTERNAL_SERVER_ERROR",
            ]
        );
        assert_eq!(
            Error::Internal("x".into()).code().as_str(),
            "INTERNAL_SERVER_ERROR"
        );
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
        }
        assert!("OTHER".parse::<Code>().is_err());
    }
}
