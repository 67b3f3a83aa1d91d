//! Query, Mutation and Subscription of the contract: the operations' resolvers here, the
//! definition files' in [`files`], merged into the schema's root types.
//!
//! Resolvers turn arguments into domain values, which check them (before any backend is
//! touched), ask the backend through the seam or the per-request loaders, and wrap what comes
//! back. They never see URLs or Graph JSON.

mod files;

use std::sync::Arc;

use async_graphql::{
    Context, ErrorExtensions, ID, MergedObject, MergedSubscription, Object, Result, ResultExt,
    Subscription,
};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, stream};

use super::loader::OperationLookups;
use super::types::{
    CreateGroupPolicyOperationInput, GroupPolicyOperation, GroupPolicyOperationConnection,
    UpdateGroupPolicyOperationInput,
};
use crate::backend::{Backend, Caller};
use crate::domain::{Guid, NewOperation, OperationKey, OperationPatch};
use crate::error::Error;

/// Page size when `first` is omitted.
const DEFAULT_PAGE_SIZE: i32 = 25;
/// Largest page a client may ask for.
const MAX_PAGE_SIZE: i32 = 100;

/// The schema's Query: operations and definition files.
#[derive(MergedObject, Default)]
pub struct Query(OperationQuery, files::FileQuery);

/// The schema's Mutation: operations and definition files.
#[derive(MergedObject, Default)]
pub struct Mutation(OperationMutation, files::FileMutation);

/// The schema's Subscription: an operation or a definition file.
#[derive(MergedSubscription, Default)]
pub struct Subscription(OperationSubscription, files::FileSubscription);

fn backend<'a>(ctx: &Context<'a>) -> Result<&'a Arc<dyn Backend>> {
    ctx.data::<Arc<dyn Backend>>()
}

fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Caller> {
    ctx.data::<Caller>()
}

fn key(definition_file_id: &ID, id: &ID) -> Result<OperationKey> {
    Ok(OperationKey {
        definition_file_id: Guid::parse("definitionFileId", definition_file_id).extend()?,
        id: Guid::parse("id", id).extend()?,
    })
}

/// Looks one operation up through the request's loader.
async fn load(ctx: &Context<'_>, key: OperationKey) -> Result<Option<GroupPolicyOperation>> {
    let loader = ctx.data::<OperationLookups>()?;
    match loader.load_one(key).await {
        Some(found) => Ok(Some(GroupPolicyOperation(found.extend()?))),
        None => Ok(None),
    }
}

/// A subscription's stream: each state of `watch` as `emit` turns it (telling whether it is
/// settled), until a settled state (inclusive), the end (`None`) or an error. It ends right
/// after a settled state rather than waiting for another change.
pub(crate) fn until_settled<T: Send + 'static, U>(
    watch: BoxStream<'static, Result<Option<T>, Error>>,
    emit: fn(T) -> (bool, U),
) -> impl Stream<Item = Result<U>> {
    stream::unfold((watch, false), move |(mut watch, finished)| async move {
        if finished {
            return None;
        }
        match watch.next().await? {
            Ok(Some(state)) => {
                let (finished, item) = emit(state);
                Some((Ok(item), (watch, finished)))
            }
            Ok(None) => None,
            Err(e) => Some((Err(e.extend()), (watch, true))),
        }
    })
}

/// Checks `first` (1..=100, 25 when omitted).
pub(crate) fn page_size(first: Option<i32>) -> Result<usize> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&first) {
        return Err(Error::bad_argument(
            "first",
            format!("`first` must be between 1 and {MAX_PAGE_SIZE}, got {first}"),
        )
        .extend());
    }
    Ok(first as usize)
}

/// One page of a definition file's operations.
pub(crate) async fn operations_page(
    ctx: &Context<'_>,
    file: Guid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<GroupPolicyOperationConnection> {
    let first = page_size(first)?;
    let page = backend(ctx)?
        .list(caller(ctx)?, file, first, after.as_deref())
        .await
        .extend()?;
    Ok(GroupPolicyOperationConnection::new(
        page.items,
        page.has_next_page,
        after.is_some(),
    ))
}

/// Reads of group policy operations.
#[derive(Default)]
pub(crate) struct OperationQuery;

#[Object]
impl OperationQuery {
    /// One operation of a definition file; null when the operation does not exist.
    async fn group_policy_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile (the uploaded ADMX file)."
        )]
        definition_file_id: ID,
        #[graphql(desc = "GUID of the operation.")] id: ID,
    ) -> Result<Option<GroupPolicyOperation>> {
        let key = key(&definition_file_id, &id)?;
        load(ctx, key).await
    }

    /// The operations of a definition file, a page at a time, in a stable order.
    /// Forward pagination: first is 1..100 (default 25); after is an endCursor from an earlier page. NOT_FOUND when the definition file does not exist.
    async fn group_policy_operations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile (the uploaded ADMX file)."
        )]
        definition_file_id: ID,
        #[graphql(desc = "How many operations to return, 1 to 100; 25 when omitted.")]
        first: Option<i32>,
        #[graphql(
            desc = "Continue after this cursor (an `endCursor` or edge `cursor` from an earlier page)."
        )]
        after: Option<String>,
    ) -> Result<GroupPolicyOperationConnection> {
        let file = Guid::parse("definitionFileId", &definition_file_id).extend()?;
        operations_page(ctx, file, first, after).await
    }

    /// Federation: resolves a `GroupPolicyOperation` entity by its key through the loader.
    #[graphql(entity)]
    async fn find_group_policy_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] definition_file_id: ID,
        #[graphql(key)] id: ID,
    ) -> Result<Option<GroupPolicyOperation>> {
        let key = key(&definition_file_id, &id)?;
        load(ctx, key).await
    }
}

/// Changes to group policy operations.
#[derive(Default)]
pub(crate) struct OperationMutation;

#[Object]
impl OperationMutation {
    /// Records a new operation for a definition file and returns it with its new id.
    async fn create_group_policy_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile the operation belongs to."
        )]
        definition_file_id: ID,
        #[graphql(desc = "The new operation's fields.")] input: CreateGroupPolicyOperationInput,
    ) -> Result<GroupPolicyOperation> {
        let file = Guid::parse("definitionFileId", &definition_file_id).extend()?;
        let new = NewOperation::parse(
            input.operation_type.into(),
            input.operation_status.into(),
            input.status_details,
        )
        .extend()?;
        let created = backend(ctx)?
            .create(caller(ctx)?, file, new)
            .await
            .extend()?;
        Ok(GroupPolicyOperation(created))
    }

    /// Changes some fields of an operation and returns it as it now stands. `NOT_FOUND` when
    /// the operation does not exist; `BAD_USER_INPUT` when `input` sets nothing.
    async fn update_group_policy_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile the operation belongs to."
        )]
        definition_file_id: ID,
        #[graphql(desc = "GUID of the operation to change.")] id: ID,
        #[graphql(desc = "The fields to change; absent fields stay as they are.")]
        input: UpdateGroupPolicyOperationInput,
    ) -> Result<GroupPolicyOperation> {
        let key = key(&definition_file_id, &id)?;
        let patch = OperationPatch::parse(
            input.operation_type.map(Into::into),
            input.operation_status.map(Into::into),
            match input.status_details {
                async_graphql::MaybeUndefined::Undefined => None,
                async_graphql::MaybeUndefined::Null => Some(None),
                async_graphql::MaybeUndefined::Value(text) => Some(Some(text)),
            },
        )
        .extend()?;
        let updated = backend(ctx)?
            .update(caller(ctx)?, key, patch)
            .await
            .extend()?;
        Ok(GroupPolicyOperation(updated))
    }

    /// Deletes an operation. Returns the id of the deleted operation; NOT_FOUND when there was none.
    async fn delete_group_policy_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile the operation belongs to."
        )]
        definition_file_id: ID,
        #[graphql(desc = "GUID of the operation to delete.")] id: ID,
    ) -> Result<ID> {
        let key = key(&definition_file_id, &id)?;
        backend(ctx)?.delete(caller(ctx)?, key).await.extend()?;
        Ok(ID(key.id.to_string()))
    }
}

/// Live updates of an operation.
#[derive(Default)]
pub(crate) struct OperationSubscription;

#[Subscription]
impl OperationSubscription {
    /// Emits the current state at once, then every change; completes after SUCCESS or FAILED,
    /// or when the operation is deleted. A missing operation ends with `NOT_FOUND`.
    async fn group_policy_operation_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "GUID of the groupPolicyUploadedDefinitionFile the operation belongs to."
        )]
        definition_file_id: ID,
        #[graphql(desc = "GUID of the operation to follow.")] id: ID,
    ) -> Result<impl Stream<Item = Result<GroupPolicyOperation>> + use<>> {
        let key = key(&definition_file_id, &id)?;
        let watch = backend(ctx)?.watch(caller(ctx)?, key).await.extend()?;
        Ok(until_settled(watch, |op| {
            (op.operation_status.is_final(), GroupPolicyOperation(op))
        }))
    }
}
