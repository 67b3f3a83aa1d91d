//! The flags that bound one GraphQL operation and its answer, a group of their own: the schema
//! is built from exactly these (see [`crate::graphql::Limits`]).

use clap::Args;

/// Caps on a document, on an answer, and the schema's switches.
#[derive(Debug, Clone, Args)]
pub struct QueryConfig {
    /// Deepest selection nesting accepted per operation.
    #[arg(long, env = "GPO_GATEWAY_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,

    /// Highest cost accepted per operation: fields after expanding fragments, the selection of
    /// a paged field counted `first` times (25 when omitted).
    #[arg(long, env = "GPO_GATEWAY_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,

    /// Most GraphQL tokens in one document, counted before it is parsed (parsing costs about
    /// 1 µs per token).
    #[arg(long, env = "GPO_GATEWAY_MAX_TOKENS", default_value_t = 5_000)]
    pub max_tokens: usize,

    /// Most aliased fields per operation, after expanding fragments.
    #[arg(long, env = "GPO_GATEWAY_MAX_ALIASES", default_value_t = 500)]
    pub max_aliases: usize,

    /// Most root fields per operation, after expanding fragments.
    #[arg(long, env = "GPO_GATEWAY_MAX_ROOT_FIELDS", default_value_t = 500)]
    pub max_root_fields: usize,

    /// Most directives in one document (`@skip`, `@include`).
    #[arg(long, env = "GPO_GATEWAY_MAX_DIRECTIVES", default_value_t = 100)]
    pub max_directives: usize,

    /// Largest response of one operation (or subscription event), in bytes of JSON.
    #[arg(long, env = "GPO_GATEWAY_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Largest answer to one HTTP batch, in bytes of JSON.
    #[arg(long, env = "GPO_GATEWAY_MAX_BATCH_RESPONSE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_batch_response_bytes: usize,

    /// Most errors in one response; further errors are summed up in one more.
    #[arg(long, env = "GPO_GATEWAY_MAX_ERRORS", default_value_t = 100)]
    pub max_errors: usize,

    /// Production profile: no introspection and no "did you mean" suggestions.
    #[arg(long, env = "GPO_GATEWAY_PRODUCTION")]
    pub production: bool,

    /// Serve Apollo Federation's `_service` and `_entities` (for a federated router).
    #[arg(long, env = "GPO_GATEWAY_FEDERATION")]
    pub federation: bool,

    /// Most parsed GraphQL documents kept for reuse, so a repeated query is not parsed again
    /// (least recently used are dropped; 0 turns the cache off).
    #[arg(long, env = "GPO_GATEWAY_DOCUMENT_CACHE_SIZE", default_value_t = 1000)]
    pub document_cache_size: usize,

    /// Most bytes the parsed-document cache may hold, estimated as each query's length plus
    /// 96 bytes per token.
    #[arg(long, env = "GPO_GATEWAY_DOCUMENT_CACHE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub document_cache_bytes: usize,
}
