//! The GraphQL schema: types, resolvers, the per-request loader, the guard that bounds what
//! an operation may cost and gives every error a contract code.

pub(crate) mod batcher;
pub(crate) mod documents;
pub(crate) mod errors;
mod fast;
pub(crate) mod guard;
pub(crate) mod loader;
pub(crate) mod resolvers;
pub(crate) mod schema_doc;
pub(crate) mod types;

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::parser::types::{
    ExecutableDocument, ServiceDocument, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Response, SDLExportOptions, Schema, ServerError};

pub(crate) use fast::execute;
pub(crate) use guard::{BoundWhenSent, QueryLimits, ResponseLimits};
pub use loader::{FileLoader, OperationLoader};
pub use resolvers::{Mutation, Query, Subscription};

use crate::backend::Backend;
use crate::error::Code;
use crate::telemetry::metrics::Metrics;
use documents::{DocumentCache, DocumentCacheSize};
use guard::{Guard, GuardLimits};

/// The gateway's schema type.
pub type GatewaySchema = Schema<Query, Mutation, Subscription>;

/// Query limits and switches every operation is held to (each operation of an HTTP batch on
/// its own). Documented in the README's "Limits" section.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Caps on each operation's document.
    pub query: QueryLimits,
    /// Caps on what goes back.
    pub response: ResponseLimits,
    /// No introspection, no field suggestions.
    pub production: bool,
    /// Serve `_service` and `_entities`.
    pub federation: bool,
    /// Bounds of the parsed-document cache.
    pub document_cache: DocumentCacheSize,
}

impl Limits {
    /// The limits and switches `config` sets.
    pub fn new(config: &crate::config::QueryConfig) -> Self {
        Limits {
            query: QueryLimits {
                max_tokens: config.max_tokens,
                max_depth: config.max_depth,
                max_complexity: config.max_complexity,
                max_aliases: config.max_aliases,
                max_root_fields: config.max_root_fields,
                max_directives: config.max_directives,
            },
            response: ResponseLimits {
                max_response_bytes: config.max_response_bytes,
                max_batch_response_bytes: config.max_batch_response_bytes,
                max_errors: config.max_errors,
            },
            production: config.production,
            federation: config.federation,
            document_cache: DocumentCacheSize {
                entries: config.document_cache_size,
                bytes: config.document_cache_bytes,
            },
        }
    }
}

/// Builds the schema over `backend`. Per-request data (the caller, the loader) is attached to
/// each request by the HTTP layer, never here. The schema's data holds the
/// `Arc<DocumentCache>`, whose [`DocumentCache::stats`] metrics can read.
pub fn build_schema(backend: Arc<dyn Backend>, limits: Limits) -> GatewaySchema {
    let metrics = Metrics::with_backend(backend.figures());
    build_schema_counting(backend, limits, metrics)
}

/// The schema over `backend`, counting its operations, refusals and cache lookups in `metrics`
/// (the app state built on it counts there too).
pub fn build_schema_counting(
    backend: Arc<dyn Backend>,
    limits: Limits,
    metrics: Metrics,
) -> GatewaySchema {
    let guard = Arc::new(GuardLimits {
        query: limits.query,
        federation: limits.federation,
        introspection: !limits.production,
        paged_fields: paged_fields(),
        response: limits.response,
        metrics: metrics.clone(),
    });
    // Depth and cost are the guard's (it measures them without expanding fragments);
    // async-graphql's recursion check stays as a second line at the same figure.
    let documents = Arc::new(DocumentCache::new(limits.document_cache, metrics.clone()));
    let base = || {
        let builder = Schema::build(
            Query::default(),
            Mutation::default(),
            Subscription::default(),
        )
        .data(Arc::clone(&backend))
        .data(limits.response)
        .data(Arc::clone(&documents))
        .data(metrics.clone())
        .data(Arc::clone(&guard))
        .enable_federation()
        .limit_recursive_depth(guard::MAX_RECURSION);
        if limits.production {
            builder.disable_introspection().disable_suggestions()
        } else {
            builder
        }
    };
    // The twin without extensions: see `fast` for when an operation runs on it.
    let plain = fast::Plain {
        schema: base()
            .validation_mode(async_graphql::ValidationMode::Fast)
            .finish(),
        limits: Arc::clone(&guard),
        documents: Arc::clone(&documents),
    };
    base()
        .data(plain)
        .extension(crate::telemetry::OperationTelemetry(metrics.clone()))
        .extension(Guard(guard, documents))
        .finish()
}

/// The parsed document of `query` as the guard sees it: from the document cache, or counted,
/// parsed and checked now and remembered (so executing it parses nothing again). `None` when the
/// guard refuses it; executing the request then says why.
pub fn checked_document(schema: &GatewaySchema, query: &str) -> Option<ExecutableDocument> {
    let limits = schema.data::<Arc<GuardLimits>>()?;
    let documents = schema.data::<Arc<DocumentCache>>()?;
    guard::parsed_cached(query, limits, documents).ok()
}

/// Names of the schema's fields that take a `first` argument: their selection costs `first`
/// times. Read from the schema itself, so a new paged field is priced without a table.
fn paged_fields() -> HashSet<String> {
    let sdl = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl();
    let Ok(document) = async_graphql::parser::parse_schema(&sdl) else {
        tracing::error!("the schema's own SDL does not parse; paged fields cost 1");
        return HashSet::new();
    };
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) => match &ty.node.kind {
                TypeKind::Object(object) => Some(&object.fields),
                _ => None,
            },
            _ => None,
        })
        .flatten()
        .filter(|field| {
            field
                .node
                .arguments
                .iter()
                .any(|arg| arg.node.name.node == "first")
        })
        .map(|field| field.node.name.node.to_string())
        .collect()
}

/// The JSON answer to an HTTP batch, each response held to the schema's response cap and all
/// of them to its batch response cap (requests executed with [`BoundWhenSent`]).
pub fn http_batch_body(
    schema: &GatewaySchema,
    responses: &mut [Response],
) -> serde_json::Result<Vec<u8>> {
    match schema.data::<Arc<GuardLimits>>() {
        Some(guard) => guard::http_batch_body(responses, &guard.response, &guard.metrics),
        None => serde_json::to_vec(responses),
    }
}

/// The JSON answer to one HTTP request, held to the schema's response cap: `response` is
/// replaced by the refusal it gets when over (a request executed with [`BoundWhenSent`]).
pub fn http_body(schema: &GatewaySchema, response: &mut Response) -> serde_json::Result<Vec<u8>> {
    match schema.data::<Arc<GuardLimits>>() {
        Some(guard) => guard::http_body(response, &guard.response, &guard.metrics),
        None => serde_json::to_vec(response),
    }
}

/// The Apollo Federation subgraph SDL (with `@key` and the federation types), as a router
/// reads it from `_service { sdl }`, in a stable, sorted form.
pub fn federation_sdl(schema: &GatewaySchema) -> String {
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            .federation(),
    )
}

/// The client-facing SDL in a stable, sorted form: what `schema.graphql` holds.
///
/// Federation plumbing (`_entities`, `_service` and their types) is left out: routers use it
/// through `_service { sdl }`, while clients and snapshot tests read the API itself. Scalars
/// carry `@specifiedBy`, and the schema a description of every error code (see
/// [`schema_doc`]); async-graphql's own SDL parser predates schema descriptions (graphql-js and
/// the code generators read them).
pub fn client_sdl(schema: &GatewaySchema) -> String {
    let sdl = schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            .include_specified_by(),
    );
    let document = match async_graphql::parser::parse_schema(&sdl) {
        Ok(document) => document,
        Err(e) => {
            tracing::error!("the schema's own SDL does not parse ({e}); federation is left in");
            return sdl;
        }
    };
    // Every definition and field starts on a line of its own (its description first), so each
    // is cut as whole lines: from its first line up to the next one's.
    let lines: Vec<&str> = sdl.split('\n').collect();
    let mut keep = vec![true; lines.len()];
    for (from, to) in federation_lines(&document, &lines) {
        keep[from..to].fill(false);
    }
    let kept: Vec<&str> = lines
        .iter()
        .zip(keep)
        .filter_map(|(line, keep)| keep.then_some(*line))
        .collect();
    // `schema.graphql` has always ended at the closing brace, without a final newline.
    schema_doc::describe_schema(kept.join("\n").trim_end())
}

/// The line ranges (0-based, end exclusive) of `document` that hold federation's types and
/// `Query` fields, with the blank line that follows each type.
fn federation_lines(document: &ServiceDocument, lines: &[&str]) -> Vec<(usize, usize)> {
    const TYPES: [&str; 3] = ["_Any", "_Entity", "_Service"];
    const FIELDS: [&str; 2] = ["_entities", "_service"];
    let first_line = |definition: &TypeSystemDefinition| match definition {
        TypeSystemDefinition::Schema(d) => d.pos.line - 1,
        TypeSystemDefinition::Type(d) => d.pos.line - 1,
        TypeSystemDefinition::Directive(d) => d.pos.line - 1,
    };
    let mut starts: Vec<usize> = document.definitions.iter().map(first_line).collect();
    starts.push(lines.len());
    let mut ranges = Vec::new();
    for (i, definition) in document.definitions.iter().enumerate() {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let (from, to) = (starts[i], starts[i + 1]);
        if TYPES.contains(&ty.node.name.node.as_str()) {
            ranges.push((from, to));
        } else if let TypeKind::Object(object) = &ty.node.kind {
            // The last field ends where the type's closing brace is.
            let close = (from..to)
                .rev()
                .find(|&line| lines[line] == "}")
                .unwrap_or(to);
            let mut field_starts: Vec<usize> =
                object.fields.iter().map(|f| f.pos.line - 1).collect();
            field_starts.push(close);
            for (j, field) in object.fields.iter().enumerate() {
                if FIELDS.contains(&field.node.name.node.as_str()) {
                    ranges.push((field_starts[j], field_starts[j + 1]));
                }
            }
        }
    }
    ranges
}

/// Gives `error` a code unless it has one.
pub fn ensure_code(error: &mut ServerError, code: Code) {
    if !has_code(error) {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

/// Gives every error still without a code one: request-level problems (unknown operation
/// name, a subscription over HTTP) are the client's; anything at a field path is ours, and its
/// text may be internal, so it is logged and replaced. Used for HTTP responses and for each
/// response of a subscription stream (where the `request` hook does not run).
pub fn finish_errors(response: &mut Response) {
    for error in &mut response.errors {
        if has_code(error) {
            continue;
        }
        if error.path.is_empty() {
            ensure_code(error, Code::BadUserInput);
        } else {
            tracing::error!(message = %error.message, path = ?error.path, "uncoded field error");
            error.message = "Internal server error".to_owned();
            ensure_code(error, Code::InternalServerError);
        }
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
}

/// The message text is all there is to go by: async-graphql 7.2 builds validation errors
/// from a crate-private `RuleError` that carries only a message and positions (no kind, no
/// extensions), so the rule that failed is known only by its message's fixed prefix.
pub(crate) fn validation_code(message: &str) -> Code {
    if message.starts_with("Invalid value for argument") {
        // Wrong values (usually from variables) are the client's input, as in Apollo Server.
        Code::BadUserInput
    } else {
        Code::GraphqlValidationFailed
    }
}
