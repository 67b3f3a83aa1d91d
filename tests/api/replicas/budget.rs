//! The tenant budget across two replicas.
