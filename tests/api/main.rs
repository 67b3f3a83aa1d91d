//! The gateway's behaviour, driven through its real router. One binary for all integration
//! tests (fast to link); `contract` runs against both backends so they cannot drift apart.

mod batching;
mod clients;
mod contract;
mod fake_graph;
mod file_helpers;
mod file_subscriptions;
mod files;
mod graph;
mod graph_files;
mod helpers;
mod http;
mod process;
mod schema;
mod simulation;
mod store;
mod upload_limits;
mod ws;
