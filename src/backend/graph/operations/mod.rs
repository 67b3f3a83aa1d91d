//! Operations over Graph: each seam call on a `groupPolicyOperation` becomes the request
//! GRAPH.md describes. Reads come from the file's `$expand` read by default (see `expand`), or
//! with `--graph-navigation-reads` from the `groupPolicyOperations` routes: one GET for one
//! key, Graph `$batch` for several, lists page by page (see [`paging`]). Writes use the
//! navigation routes; a create answered without a body is read back (see `created`), an
//! update answered without one is read again. Every write forgets the lists the request had
//! read, once Graph has answered.

mod paging;
pub(crate) mod wire;

use serde::de::IgnoredAny;

pub(super) use paging::GraphCursor;

use super::client::{Answer, GraphRequest};
use super::poller::{self, Snapshot, Target};
use super::{GraphBackend, lookups};
use crate::backend::budget::ListCall;
use crate::backend::{Caller, Lookups, Watch};
use crate::domain::{Guid, NewOperation, Operation, OperationKey, OperationPatch, Page};
use crate::error::Error;
use wire::OperationEntity;

/// One operation, whole; `None` when it does not exist. From its file's `$expand` read by
/// default, else by a plain GET of the navigation route.
async fn read(
    graph: &GraphBackend,
    caller: &Caller,
    key: OperationKey,
) -> Result<Option<Operation>, Error> {
    if !graph.api.navigation_reads() {
        return graph.operation_expanded(caller, key).await;
    }
    let request = GraphRequest::get(graph.api.operation(key));
    let answer = graph.api.client().call::<OperationEntity>(caller, &request);
    answer
        .await?
        .entity()
        .map(|entity| entity.into_operation(key.definition_file_id))
        .transpose()
}

pub(super) async fn get_many(
    graph: &GraphBackend,
    caller: &Caller,
    keys: &[OperationKey],
) -> Lookups {
    if !graph.api.navigation_reads() {
        return graph.lookups_expanded(caller, keys).await;
    }
    lookups::by_key(
        &graph.api,
        caller,
        keys,
        |key| graph.api.operation(*key),
        |key, entity: OperationEntity| entity.into_operation(key.definition_file_id),
    )
    .await
}

pub(super) async fn list(
    graph: &GraphBackend,
    caller: &Caller,
    definition_file_id: Guid,
    first: usize,
    after: Option<&str>,
) -> Result<Page, Error> {
    if !graph.api.navigation_reads() {
        return graph
            .list_expanded(caller, definition_file_id, first, after)
            .await;
    }
    let call = ListCall {
        definition_file_id,
        first,
        after: after.map(str::to_owned),
    };
    caller
        .budget
        .list_once(call.clone(), graph.list_pages(caller, call))
        .await
}

pub(super) async fn create(
    graph: &GraphBackend,
    caller: &Caller,
    definition_file_id: Guid,
    input: NewOperation,
) -> Result<Operation, Error> {
    let body = wire::create_body(&input)?;
    let url = graph.api.operations(definition_file_id, &[]);
    match graph
        .write(caller, GraphRequest::post(url, Some(body)))
        .await?
    {
        (Answer::Entity(entity), _) => OperationEntity::into_operation(entity, definition_file_id),
        // 204 or 202: created, but Graph did not say what; never POST again.
        (_, location) => {
            graph
                .find_created(caller, definition_file_id, &input, location)
                .await
        }
    }
}

pub(super) async fn update(
    graph: &GraphBackend,
    caller: &Caller,
    key: OperationKey,
    patch: OperationPatch,
) -> Result<Operation, Error> {
    let body = wire::patch_body(&patch)?;
    let request = GraphRequest::patch(graph.api.operation(key), body);
    let (answer, _) = graph.write::<OperationEntity>(caller, request).await?;
    // 200 carries the entity; Intune's usual 204 does not, so the new state is read.
    match answer.entity() {
        Some(entity) => entity.into_operation(key.definition_file_id),
        None => read(graph, caller, key).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "Operation {} vanished right after its update",
                key.id
            ))
        }),
    }
}

pub(super) async fn delete(
    graph: &GraphBackend,
    caller: &Caller,
    key: OperationKey,
) -> Result<(), Error> {
    let request = GraphRequest::delete(graph.api.operation(key));
    graph.write::<IgnoredAny>(caller, request).await.map(|_| ())
}

pub(super) async fn watch(
    graph: &GraphBackend,
    caller: &Caller,
    key: OperationKey,
) -> Result<Watch, Error> {
    let snapshots = graph.pollers.watch(caller, Target::Operation(key)).await?;
    Ok(poller::picked(snapshots, |snapshot| match snapshot {
        Snapshot::Operation(op) => Some(op),
        Snapshot::File(..) => None,
    }))
}
