//! The gateway's resources as it understands them, independent of GraphQL and Graph: the group
//! policy operation ([`operations`], with the values both resources share) and the uploaded
//! definition file ([`files`]), side by side. Inputs are checked here once, so every backend
//! receives only well-formed requests.

mod cursor;
pub mod files;
pub mod operations;

pub use cursor::Cursor;
pub use operations::{
    GraphMember, Guid, MAX_STATUS_DETAILS, NewOperation, Operation, OperationKey, OperationPatch,
    OperationStatus, OperationType, Page, Timestamp,
};
