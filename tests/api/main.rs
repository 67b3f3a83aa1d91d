//! The gateway's behaviour, driven through its real router. One binary for all integration
//! tests (fast to link); `contract` runs against both backends so they cannot drift apart.
//! One folder per area of the gateway; `support/` holds what the tests share (the app
//! builder, the WebSocket and process plumbing, the seam backend, the fake Graph).

mod batching;
mod clients;
mod connections;
mod contract;
mod durable;
mod files;
mod fuzz;
mod graph;
mod guard;
mod http;
mod idempotency;
mod layers;
mod process;
mod replicas;
mod schema;
mod store;
mod support;
mod telemetry;
mod ws;
