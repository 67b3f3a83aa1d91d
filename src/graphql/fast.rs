//! Executing an HTTP operation without the schema's per-field hooks when nothing needs them.
//!
//! async-graphql runs every schema extension's `resolve` hook, as a boxed future, for every
//! field and list item resolved, whether the extension overrides it or not; only a schema with
//! no extension at all skips that chain. The guard's and the operation telemetry's work is
//! all per request (counting, parsing, measuring, validating, finishing errors, the operation
//! metric) except the root fields' trace spans, which only traces read.
//!
//! So the schema holds a twin built without extensions ([`Plain`]). An HTTP operation whose
//! document the guard has seen and validated before (the common case: clients repeat their few
//! documents) and that it finds within limits runs on the twin when traces are off, with the
//! guard's and the telemetry's per-request work done here around it. Everything else (a new
//! document, a refusal, validation to run, traces on, WebSocket operations) runs on the schema
//! with its extensions, exactly as before, and the guard takes up the work already done here
//! rather than doing it twice.
//!
//! The twin validates in async-graphql's `Fast` mode (fragment cycles, uploads, cache
//! control): the guard reuses a success remembered from a full validation of the same
//! document and operation, and only when the variables sent cannot change it.

use std::any::TypeId;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Request, Response};

use super::GatewaySchema;
use super::documents::DocumentCache;
use super::guard::{self, BoundWhenSent, GuardLimits};

/// The schema's twin without extensions, with what the guard holds requests to.
#[derive(Clone)]
pub(crate) struct Plain {
    pub schema: GatewaySchema,
    pub limits: Arc<GuardLimits>,
    pub documents: Arc<DocumentCache>,
}

/// Executes `request` on `schema`, or on its twin without per-field hooks when the guard has
/// nothing left to do before execution and traces are off. Either way the response is the
/// same, its errors coded and capped, and the operation counted.
pub(crate) async fn execute(schema: &GatewaySchema, mut request: Request) -> Response {
    let Some(plain) = schema.data::<Plain>() else {
        return schema.execute(request).await;
    };
    if crate::telemetry::logs::traces_on() {
        return schema.execute(request).await;
    }
    let started = Instant::now();
    let Some(document) = guard::prepare_ahead(&mut request, &plain.limits, &plain.documents) else {
        return schema.execute(request).await;
    };
    let ran = crate::telemetry::operation_label(&document, request.operation_name.as_deref());
    let bound_when_sent = request.data.contains_key(&TypeId::of::<BoundWhenSent>());
    request.set_parsed_query(document);
    let mut response = plain.schema.execute(request).await;
    guard::finish(&mut response, &plain.limits, bound_when_sent);
    crate::telemetry::record_operation(&plain.limits.metrics, ran, &response, started);
    response
}
