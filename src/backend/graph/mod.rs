//! Graph REST backend (in progress).
use super::cursor::CursorCodec;
use crate::config::Config;

/// Forwards to Microsoft Graph.
pub struct GraphBackend;

impl GraphBackend {
    /// Not yet available.
    pub fn new(_config: &Config, _cursors: CursorCodec) -> Result<Self, String> {
        Err("the Graph backend is not built yet".into())
    }
}
