//! What the gateway tells its operator: Prometheus [`metrics`], the schema extension that
//! measures each GraphQL operation ([`operations`]), [`logs`] with one line per request, and
//! OpenTelemetry [`traces`].

pub mod budget_metrics;
mod labels;
pub mod logs;
pub mod metrics;
mod operations;
pub mod process_metrics;
mod refusal_counts;
pub(crate) mod traces;

pub use operations::{OperationTelemetry, operation_label, record as record_operation};
