//! What the suites share: the gateway under test and its requests (`helpers`), the
//! definition-file operations and samples (`files`), WebSocket plumbing (`ws`), a backend
//! that watches the seam (`backend`), the real binary (`process`) and the query bombs
//! (`bombs`). The fake Graph is a crate of its own (`support/fake_graph`) so the benches
//! share it.

pub(crate) mod backend;
pub(crate) mod bombs;
pub(crate) mod files;
pub(crate) mod helpers;
pub(crate) mod net;
pub(crate) mod process;
pub(crate) mod ws;
