//! What the gateway tells its operator: Prometheus [`metrics`], the schema extension that
//! measures each GraphQL operation ([`operations`]), and [`logs`] with one line per request.

pub mod logs;
pub mod metrics;
mod operations;

pub use operations::OperationTelemetry;
