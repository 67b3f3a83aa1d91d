//! Redis lost and back.
