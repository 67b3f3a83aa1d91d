//! The GraphQL types of the contract, one module per resource side by side: the operation
//! ([`operations`], with the `DateTime` scalar and `PageInfo` both resources use) and the
//! uploaded definition file ([`files`]). They wrap domain values; resolvers live in
//! [`super::resolvers`].

pub(crate) mod files;
pub(crate) mod operations;

pub(crate) use operations::{
    CreateGroupPolicyOperationInput, GroupPolicyOperation, GroupPolicyOperationConnection,
    PageInfo, UpdateGroupPolicyOperationInput,
};
