//! The pre-execution guard: every operation, however it arrives (HTTP POST, a batch, GET,
//! a persisted query, a WebSocket), is counted, parsed once and measured here before
//! async-graphql validates it, so no document makes validation or execution do more than a
//! bounded amount of work. It also bounds what goes back: response bytes and error count.
//!
//! It also gives errors raised before or outside resolvers (parse, validation, limits) their
//! contract code, which async-graphql leaves them without ([`crate::graphql::finish_errors`]):
//! one extension instead of two, as every extension's hook runs for every field resolved.
//!
//! It is a schema [`Extension`]: `prepare_request` runs first on every path, and the document
//! it hands on with [`Request::set_parsed_query`] is the one validation sees. A document seen
//! before comes from the [`DocumentCache`] instead of the parser; only its measure, which
//! depends on the request's variables, is taken again. Its validation is not always run again
//! either: [`validation`] says when a remembered success stands.

mod document;
mod measure;
mod refusals;
mod response;
#[cfg(test)]
mod tests;
mod tokens;
mod validation;

use std::any::TypeId;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{
    Positioned, Request, Response, ServerError, ServerResult, ValidationResult, Variables,
};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

pub(crate) use response::{BoundWhenSent, ResponseLimits, http_batch_body, http_body};

use super::documents::{DocumentCache, Validations};
use crate::error::Code;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;
use measure::Measurer;
pub(crate) use refusals::refused;
use refusals::{check_limits, unmeasurable};

/// async-graphql's parser refuses selection sets nested deeper than this; brackets nested
/// deeper are refused before parsing, so the parser never recurses that far.
pub(crate) const MAX_NESTING: usize = 64;
/// Selection sets (fragments and inline fragments included) nested deeper than this are
/// refused: async-graphql's own recursion limit, set on the schema too.
pub(crate) const MAX_RECURSION: usize = 32;
/// Introspection lists (`fields`, `inputFields`, `interfaces`, `possibleTypes`) nested this
/// deep or deeper are refused, as graphql-js does: the schema's own cycles would otherwise
/// let a small query return an enormous answer.
pub(crate) const MAX_INTROSPECTION_LISTS: usize = 3;

/// The caps on one operation's document (each documented on its `Config` flag).
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Most tokens in the document, counted before parsing.
    pub max_tokens: usize,
    /// Deepest field nesting (GraphiQL's introspection query needs 14).
    pub max_depth: usize,
    /// Highest [`Measure::cost`].
    pub max_complexity: usize,
    /// Most aliased fields, fragments expanded.
    pub max_aliases: usize,
    /// Most root fields, fragments expanded.
    pub max_root_fields: usize,
    /// Most directives written in the document.
    pub max_directives: usize,
}

/// What the guard holds every operation to.
#[derive(Clone)]
pub(crate) struct GuardLimits {
    pub query: QueryLimits,
    /// Whether `_service` and `_entities` may be queried.
    pub federation: bool,
    /// Whether `__schema` and `__type` may be queried.
    pub introspection: bool,
    /// Names of the schema's fields that take `first` (their selection costs `first` times).
    pub paged_fields: HashSet<String>,
    /// Caps on what goes back.
    pub response: ResponseLimits,
    /// Where the gateway's refusals are counted.
    pub metrics: Metrics,
}

/// The guard as a schema extension, with the cache of documents it has parsed.
pub(crate) struct Guard(pub Arc<GuardLimits>, pub Arc<DocumentCache>);

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guarded {
            limits: Arc::clone(&self.0),
            documents: Arc::clone(&self.1),
            validation: Mutex::new(None),
            bound_when_sent: AtomicBool::new(false),
        })
    }
}

/// The guard for one request: what it decided about validation waits here for that step.
struct Guarded {
    limits: Arc<GuardLimits>,
    documents: Arc<DocumentCache>,
    validation: Mutex<Option<validation::Plan>>,
    /// The request carries [`BoundWhenSent`]: its response's bytes are counted as it is sent.
    bound_when_sent: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for Guarded {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let bound_when_sent = self.bound_when_sent.load(Ordering::Relaxed);
        finish(&mut response, &self.limits, bound_when_sent);
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // The guard has parsed the document already (and refused what does not parse), so what
        // fails here is async-graphql's own nesting or directive check: a limit.
        next.run(ctx, query, variables).await.map_err(|mut error| {
            super::ensure_code(&mut error, Code::LimitExceeded);
            error
        })
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let limits = Arc::clone(&self.limits);
        next.run(ctx, stream)
            .map(move |mut response| {
                limits.response.bound(&mut response, &limits.metrics);
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let marked = request.data.contains_key(&TypeId::of::<BoundWhenSent>());
        self.bound_when_sent.store(marked, Ordering::Relaxed);
        let ahead = request
            .data
            .get(&TypeId::of::<Prepared>())
            .and_then(|data| data.downcast_ref::<Prepared>())
            .and_then(Prepared::take);
        let (document, plan) = match ahead {
            Some(prepared) => prepared?,
            None => prepare(&request, &self.limits, &self.documents)?,
        };
        *self
            .validation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = plan;
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let plan = self
            .validation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let result = match plan {
            Some(validation::Plan::Reuse(result)) => return Ok(result),
            Some(validation::Plan::Remember(validations, operation)) => {
                let result = next.run(ctx).await;
                if let Ok(result) = &result {
                    validations.remember(operation.as_deref(), *result);
                }
                result
            }
            None => next.run(ctx).await,
        };
        result.map_err(|mut errors| {
            for error in &mut errors {
                let code = super::validation_code(&error.message);
                super::ensure_code(error, code);
            }
            errors
        })
    }
}

/// What the guard makes of a request before validation: its document (within limits) and
/// what to do about validating it.
type Preparation = ServerResult<(ExecutableDocument, Option<validation::Plan>)>;

/// The guard's work on a request done before it reached the schema ([`prepare_ahead`]), which
/// the guard then takes instead of doing it again (so nothing is counted twice).
struct Prepared(Mutex<Option<Preparation>>);

impl Prepared {
    fn take(&self) -> Option<Preparation> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Counts, parses (or finds in the cache) and measures the document of `request`, and plans
/// its validation.
fn prepare(request: &Request, limits: &GuardLimits, documents: &DocumentCache) -> Preparation {
    let (document, validations) = check_remembered(request, limits, documents)?;
    let plan = validation::plan(
        validations,
        &document,
        request.operation_name.as_deref(),
        &request.variables,
    );
    Ok((document, plan))
}

/// Does the guard's work on `request` before it reaches a schema. When the request is within
/// limits and its validation is remembered (so nothing the guard's hooks do before execution
/// is left to do), the document to execute it with; otherwise `None`, and the outcome is
/// attached to `request` for the guard to take up when a schema with it executes the request.
pub(crate) fn prepare_ahead(
    request: &mut Request,
    limits: &GuardLimits,
    documents: &DocumentCache,
) -> Option<ExecutableDocument> {
    match prepare(request, limits, documents) {
        Ok((document, Some(validation::Plan::Reuse(_)))) => Some(document),
        outcome => {
            request.data.insert(Prepared(Mutex::new(Some(outcome))));
            None
        }
    }
}

/// What the guard does to every response: the caps on errors (and on bytes, unless the
/// response's bytes are counted as it is sent), and a code for every error.
pub(crate) fn finish(response: &mut Response, limits: &GuardLimits, bound_when_sent: bool) {
    if bound_when_sent {
        limits.response.bound_errors(response, &limits.metrics);
    } else {
        limits.response.bound(response, &limits.metrics);
    }
    super::finish_errors(response);
}

/// Counts, parses and measures a request's document; the document when it is within limits.
///
/// `prepare_request` can return one error only; when several limits are exceeded the first
/// (in the order below) is reported.
#[cfg(test)]
pub(crate) fn check(request: &Request, limits: &GuardLimits) -> ServerResult<ExecutableDocument> {
    let (document, _) = parse_checked(&request.query, limits)?;
    measure_checked(&document, request, limits)?;
    Ok(document)
}

/// [`check`], with the parsing and the checks that do not depend on variables skipped for a
/// document found in `documents` (and a newly parsed one remembered there).
#[cfg(test)]
pub(crate) fn check_cached(
    request: &Request,
    limits: &GuardLimits,
    documents: &DocumentCache,
) -> ServerResult<ExecutableDocument> {
    check_remembered(request, limits, documents).map(|(document, _)| document)
}

/// [`check_cached`], with the validation memory of the document when the cache holds it.
fn check_remembered(
    request: &Request,
    limits: &GuardLimits,
    documents: &DocumentCache,
) -> ServerResult<(ExecutableDocument, Option<Arc<Validations>>)> {
    let (document, validations) = remembered(&request.query, limits, documents)?;
    measure_checked(&document, request, limits)?;
    Ok((document, validations))
}

/// The document of `query` from `documents`, or counted, parsed and given the checks that do
/// not depend on variables now, and remembered there.
pub(crate) fn parsed_cached(
    query: &str,
    limits: &GuardLimits,
    documents: &DocumentCache,
) -> ServerResult<ExecutableDocument> {
    remembered(query, limits, documents).map(|(document, _)| document)
}

/// [`parsed_cached`], with the validation memory of the document when the cache holds it.
fn remembered(
    query: &str,
    limits: &GuardLimits,
    documents: &DocumentCache,
) -> ServerResult<(ExecutableDocument, Option<Arc<Validations>>)> {
    if let Some(cached) = documents.get(query) {
        return Ok((cached.document, Some(cached.validations)));
    }
    let (document, tokens) = parse_checked(query, limits)?;
    let validations = documents.insert(query, tokens, &document);
    Ok((document, validations))
}

/// Counts and parses `query` and checks what does not depend on variables; the document and
/// its number of tokens.
fn parse_checked(query: &str, limits: &GuardLimits) -> ServerResult<(ExecutableDocument, usize)> {
    let shape = tokens::scan(query);
    if shape.tokens > limits.query.max_tokens {
        let refusal = Refusal::Tokens {
            found: shape.tokens,
            limit: limits.query.max_tokens,
        };
        return Err(refused(&limits.metrics, refusal, None));
    }
    if shape.nesting > MAX_NESTING {
        let refusal = Refusal::Nesting {
            found: shape.nesting,
            limit: MAX_NESTING,
        };
        return Err(refused(&limits.metrics, refusal, None));
    }
    let document = async_graphql::parser::parse_query(query).map_err(|e| {
        let mut error = ServerError::from(e);
        super::ensure_code(&mut error, Code::GraphqlParseFailed);
        error
    })?;
    document::check(&document, limits)?;
    Ok((document, shape.tokens))
}

/// Measures every operation of `document` with the request's variables and judges it.
fn measure_checked(
    document: &ExecutableDocument,
    request: &Request,
    limits: &GuardLimits,
) -> ServerResult<()> {
    let operation = executed(document, request.operation_name.as_deref());
    let defaults = operation
        .map(|op| {
            op.node
                .variable_definitions
                .iter()
                .filter_map(|v| Some((v.node.name.node.as_str(), v.node.default_value()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut measurer = Measurer::new(
        document,
        &limits.paged_fields,
        &request.variables,
        defaults,
        MAX_RECURSION,
    );
    for (_, operation) in document.operations.iter() {
        let set = &operation.node.selection_set;
        let measure = measurer
            .operation(&set.node, set.pos)
            .map_err(|problem| unmeasurable(problem, &limits.metrics))?;
        check_limits(&measure, &limits.query, operation.pos, &limits.metrics)?;
    }
    Ok(())
}

/// The operation a request runs: the named one, or the only one.
fn executed<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}
