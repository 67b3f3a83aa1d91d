//! The gateway's behaviour, driven through its real router. One binary for all integration
//! tests (fast to link); `contract` runs against both backends so they cannot drift apart.

mod batching;
mod bombs;
mod clients;
mod compression;
mod conformance;
mod connections;
mod contract;
mod durable;
mod durable_crash;
mod durable_lock;
mod durable_schema;
mod file_helpers;
mod file_subscriptions;
mod files;
mod fuzz;
mod graph;
mod graph_budget;
mod graph_files;
mod guard;
mod helpers;
mod http;
mod idempotency;
mod idempotency_outcomes;
mod idempotency_scope;
mod layers;
mod metric_names;
mod parse_limits;
mod playground;
mod process;
mod process_limits;
mod replicas;
mod request_lines;
mod schema;
mod simulation;
mod slow_readers;
mod store;
mod store_bytes;
mod telemetry;
mod test_backend;
mod traces;
mod upload_limits;
mod ws;
mod ws_limits;
mod ws_protocol;
mod ws_support;

/// The fake Graph, a crate of its own (`tests/api/fake_graph`) so the benches share it.
mod fake_graph {
    pub use ::fake_graph::*;
}
