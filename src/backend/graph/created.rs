//! Creates that Graph answers without the entity. The seed page for creating an operation
//! answers `204 No Content`, and a `202 Accepted` is possible too: the operation exists then,
//! so the answer is never an error that invites a second POST. The new operation is read back:
//! through its `Location` when Graph gives one, else from the file's `$expand` read, picking
//! the operation that matches what was sent (the last such in Graph's order). Only when it
//! cannot be found is the answer an error, one that says the create succeeded.

use super::client::GraphRequest;
use super::envelope::unusable;
use super::operations::wire::OperationEntity;
use super::{GraphBackend, links};
use crate::backend::Caller;
use crate::domain::files::DefinitionFile;
use crate::domain::{Guid, NewOperation, Operation};
use crate::error::Error;

impl GraphBackend {
    /// The operation a bodiless create made.
    pub(super) async fn find_created(
        &self,
        caller: &Caller,
        file: Guid,
        sent: &NewOperation,
        location: Option<String>,
    ) -> Result<Operation, Error> {
        if let Some(location) = &location
            && self.api.navigation_reads()
            && let Ok(url) = links::next_link(self.api.client().base(), location)
        {
            let request = GraphRequest::get_exact(url, location.clone());
            let answer = self.api.client().call::<OperationEntity>(caller, &request);
            if let Some(entity) = answer.await?.entity() {
                return entity.into_operation(file);
            }
        }
        let id = location.as_deref().and_then(id_in_location);
        let operations = self.expanded(caller, file).await?;
        let found = match id {
            Some(id) => operations.into_iter().find(|op| op.id == id),
            None => operations.into_iter().rev().find(|op| {
                op.operation_type == sent.operation_type
                    && op.operation_status == sent.operation_status
                    && op.status_details == sent.status_details
            }),
        };
        found.ok_or_else(|| {
            unusable(
                "Microsoft Graph accepted the create without returning the operation, and it \
                 could not be read back: the operation was created; do not retry the mutation",
            )
        })
    }
}

impl GraphBackend {
    /// The file a bodiless upload made: through the id in its `Location`, else the last file
    /// of that name in the tenant's list.
    pub(super) async fn find_uploaded(
        &self,
        caller: &Caller,
        file_name: &str,
        location: Option<String>,
    ) -> Result<DefinitionFile, Error> {
        let found = match location.as_deref().and_then(id_in_location) {
            Some(id) => self.read_file(caller, id).await?,
            None => self
                .all_files(caller)
                .await?
                .into_iter()
                .rev()
                .find(|file| file.file_name.as_deref() == Some(file_name)),
        };
        found.ok_or_else(|| {
            unusable(
                "Microsoft Graph accepted the upload without returning the file, and it could \
                 not be read back: the file was uploaded; do not retry the mutation",
            )
        })
    }
}

/// The key at the end of a `Location`: `.../groupPolicyOperations/{id}` or
/// `.../groupPolicyOperations('{id}')`.
fn id_in_location(location: &str) -> Option<Guid> {
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let last = path.rsplit('/').next()?;
    let key = match last.split_once('(') {
        Some((_, rest)) => rest.trim_end_matches(')'),
        None => last,
    };
    Guid::parse("Location", key.trim_matches('\'')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_from_either_form_of_location() {
        let id = "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01";
        for location in [
            format!("https://g/beta/x/groupPolicyOperations/{id}"),
            format!("https://g/beta/x/groupPolicyOperations('{id}')"),
            format!("/x/groupPolicyOperations/{id}/?a=b"),
        ] {
            assert_eq!(
                id_in_location(&location).map(|g| g.to_string()),
                Some(id.into())
            );
        }
        assert_eq!(
            id_in_location("https://g/beta/x/groupPolicyOperations"),
            None
        );
    }
}
