//! A schema extension that measures every GraphQL operation, over HTTP and WebSocket alike:
//! its type and name (taken from the parsed document, so never free text), its outcome and its
//! duration, and the trace spans of the operation and of each root field's resolver (the
//! resolvers that reach the backend).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    NextResolve, ResolveInfo,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Response, ServerResult, Variables};
use tracing::Instrument;

use super::metrics::{self, Metrics};
use crate::error::Code;

/// Installs the per-operation measurements on a schema, counted in the gateway's metrics.
pub struct OperationTelemetry(pub Metrics);

impl ExtensionFactory for OperationTelemetry {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Recorder {
            metrics: self.0.clone(),
            defined: Mutex::default(),
            ran: Mutex::default(),
        })
    }
}

/// The operation of one request, as far as it is known.
struct Recorder {
    metrics: Metrics,
    /// Each operation the document defines: its name (none when anonymous) and type.
    defined: Mutex<Vec<(Option<String>, OperationType)>>,
    /// The operation that ran: its name and type label.
    ran: Mutex<Option<(Option<String>, &'static str)>>,
}

fn type_label(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// `OK`, or the code of the response's first error when it is a [`Code`] (anything else is
/// counted as `OTHER`).
fn outcome(response: &Response) -> &'static str {
    let Some(first) = response.errors.first() else {
        return "OK";
    };
    let code = first
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.as_str()),
            _ => None,
        });
    code.and_then(|code| code.parse::<Code>().ok())
        .map_or("OTHER", Code::as_str)
}

/// Each operation `document` defines: its name (none when anonymous) and type.
fn defined(document: &ExecutableDocument) -> Vec<(Option<String>, OperationType)> {
    match &document.operations {
        DocumentOperations::Single(op) => vec![(None, op.node.ty)],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .map(|(name, op)| (Some(name.to_string()), op.node.ty))
            .collect(),
    }
}

/// The name and type label of the operation a request for `operation_name` runs, among those
/// `defined`; [`metrics::UNKNOWN`] when none is chosen.
fn chosen(
    defined: &[(Option<String>, OperationType)],
    operation_name: Option<&str>,
) -> (Option<String>, &'static str) {
    let chosen = match operation_name {
        // Only a name the document defines becomes a label.
        Some(wanted) => defined
            .iter()
            .find(|(name, _)| name.as_deref() == Some(wanted))
            .cloned(),
        None if defined.len() == 1 => defined.first().cloned(),
        None => None,
    };
    match chosen {
        Some((name, ty)) => (name, type_label(ty)),
        None => (None, metrics::UNKNOWN),
    }
}

/// The operation `document` runs for `operation_name`, as the operation metric labels it (a
/// name and type label), or `None` when it is not known (then counted as `unknown`).
pub fn operation_label(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<String>, &'static str)> {
    match chosen(&defined(document), operation_name) {
        (_, metrics::UNKNOWN) => None,
        known => Some(known),
    }
}

/// Counts one operation in `metrics`' operation metric: what `ran` (when known), how
/// `response` ended, and how long since `started`.
pub fn record(
    metrics: &Metrics,
    ran: Option<(Option<String>, &'static str)>,
    response: &Response,
    started: Instant,
) {
    let (name, kind) = ran.unwrap_or((None, metrics::UNKNOWN));
    let name = match (kind, name) {
        (metrics::UNKNOWN, _) => Some(metrics::UNKNOWN.to_owned()),
        (_, name) => name,
    };
    metrics.graphql_operation(kind, name.as_deref(), outcome(response), started.elapsed());
}

#[async_trait::async_trait]
impl Extension for Recorder {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let ran = self.ran.lock().unwrap_or_else(|p| p.into_inner()).take();
        record(&self.metrics, ran, &response, started);
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        *self.defined.lock().unwrap_or_else(|p| p.into_inner()) = defined(&document);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (name, kind) = {
            let defined = self.defined.lock().unwrap_or_else(|p| p.into_inner());
            chosen(&defined, operation_name)
        };
        // A long name is cut (as in the metrics); recorded as strings, so text logs print
        // them quoted and escaped.
        let shown = super::labels::operation_name(name.as_deref().unwrap_or(metrics::ANONYMOUS));
        let otel_name = format!("{kind} {shown}");
        let span = tracing::info_span!(
            "graphql",
            otel.name = otel_name.as_str(),
            graphql.operation.name = shown.as_ref(),
            graphql.operation.type = kind,
        );
        if kind != metrics::UNKNOWN {
            *self.ran.lock().unwrap_or_else(|p| p.into_inner()) = Some((name, kind));
        }
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<async_graphql::Value>> {
        // Root fields are the resolvers that reach the backend; the rest read what they loaded.
        let root = matches!(info.parent_type, "Query" | "Mutation" | "Subscription");
        if !root || info.name.starts_with("__") {
            return next.run(ctx, info).await;
        }
        let otel_name = format!("resolve {}", info.name);
        let span = tracing::info_span!(
            "resolve",
            otel.name = otel_name.as_str(),
            graphql.field.name = info.name,
        );
        next.run(ctx, info).instrument(span).await
    }
}
