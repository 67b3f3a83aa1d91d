//! Runs the operations of one WebSocket connection: each gets its own request data (the
//! connection's caller with a fresh Graph budget, a fresh loader), and each subscription holds
//! a slot of the per-connection and global caps while it lives.

use std::any::TypeId;
use std::sync::{Arc, OnceLock};

use async_graphql::{Executor, Request, Response};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};

use super::protocol::ActiveId;
use super::slots::Slots;
use crate::backend::{Backend, Caller, RequestBudget};
use crate::error::Error;
use crate::graphql::loader::with_operation_data;
use crate::graphql::{GatewaySchema, finish_errors};
use crate::http::response::failed;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

/// The executor of one connection.
#[derive(Clone)]
pub(crate) struct ConnectionExecutor {
    pub schema: GatewaySchema,
    pub backend: Arc<dyn Backend>,
    /// Graph requests each operation may cause.
    pub budget: usize,
    /// The caller `connection_init` named; set once, before any operation runs.
    pub caller: Arc<OnceLock<Caller>>,
    /// The caller of the upgrade request, until `connection_init` names one.
    pub fallback: Caller,
    pub connection: Slots,
    pub global: Slots,
    /// Where the connection's refusals are counted.
    pub metrics: Metrics,
}

impl ConnectionExecutor {
    fn prepare(&self, request: Request) -> Request {
        let caller = self.caller.get().unwrap_or(&self.fallback);
        let budget = RequestBudget::new(self.budget);
        with_operation_data(request, &self.backend, caller, &budget)
    }
}

impl Executor for ConnectionExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.schema.execute(self.prepare(request)).await
    }

    fn execute_stream(
        &self,
        request: Request,
        _session_data: Option<Arc<async_graphql::Data>>,
    ) -> BoxStream<'static, Response> {
        // Held while the operation's stream lives, so its id stays taken until then.
        let id = request
            .data
            .get(&TypeId::of::<Arc<ActiveId>>())
            .and_then(|held| held.downcast_ref::<Arc<ActiveId>>())
            .cloned();
        let slots = self
            .connection
            .acquire()
            .and_then(|own| Some((own, self.global.acquire()?)));
        let Some(slots) = slots else {
            self.metrics.refused(&Refusal::Subscriptions);
            let error = Error::from(Refusal::Subscriptions);
            return stream::once(async move { failed(&error) }).boxed();
        };
        self.schema
            .execute_stream(self.prepare(request))
            .map(move |mut response| {
                let _held = (&slots, &id);
                finish_errors(&mut response);
                response
            })
            .boxed()
    }
}
