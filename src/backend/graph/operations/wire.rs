//! Graph's JSON for `groupPolicyOperation`, in and out, as typed serde structs: the entity as
//! Graph returns it (whole; OData annotations and unknown properties ignored, unknown enum
//! members kept as `UNKNOWN_FUTURE_VALUE`, timestamps verbatim) and the request bodies in
//! Graph's camelCase with their `@odata.type`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::envelope::{Body, ODataPage, to_value, unusable};
use crate::domain::{
    Guid, NewOperation, Operation, OperationPatch, OperationStatus, OperationType, Timestamp,
};
use crate::error::Error;

/// The `@odata.type` Graph expects on request bodies.
const ODATA_TYPE: &str = "#microsoft.graph.groupPolicyOperation";

/// The entity as Graph returns it: every property but `statusDetails` is required.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationEntity {
    id: String,
    operation_type: OperationType,
    operation_status: OperationStatus,
    status_details: Option<String>,
    last_modified_date_time: String,
}

impl Body for OperationEntity {
    const WHAT: &'static str = "an operation";
}

impl Body for ODataPage<OperationEntity> {
    const WHAT: &'static str = "a list of operations";
}

impl OperationEntity {
    /// The domain value, for an operation of `definition_file_id`.
    pub(crate) fn into_operation(self, definition_file_id: Guid) -> Result<Operation, Error> {
        let id = Guid::parse("id", &self.id)
            .map_err(|_| unusable(format!("Graph returned a non-GUID id `{}`", self.id)))?;
        Ok(Operation {
            id,
            definition_file_id,
            operation_type: self.operation_type,
            operation_status: self.operation_status,
            status_details: self.status_details,
            last_modified: Timestamp::from_graph(&self.last_modified_date_time)
                .map_err(unusable)?,
        })
    }
}

/// The POST body that creates an operation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    operation_type: OperationType,
    operation_status: OperationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_details: Option<&'a str>,
}

/// The PATCH body: only the fields that change (`statusDetails: null` clears).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PatchBody<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_type: Option<OperationType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_status: Option<OperationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_details: Option<Option<&'a str>>,
}

/// The POST body that creates an operation.
pub(crate) fn create_body(input: &NewOperation) -> Result<Value, Error> {
    to_value(CreateBody {
        odata_type: ODATA_TYPE,
        operation_type: input.operation_type,
        operation_status: input.operation_status,
        status_details: input.status_details.as_deref(),
    })
}

/// The PATCH body: only the fields that change (`statusDetails: null` clears).
pub(crate) fn patch_body(patch: &OperationPatch) -> Result<Value, Error> {
    to_value(PatchBody {
        odata_type: ODATA_TYPE,
        operation_type: patch.operation_type,
        operation_status: patch.operation_status,
        status_details: patch.status_details.as_ref().map(Option::as_deref),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::graph::envelope::read;
    use crate::error::Code;
    use serde_json::json;

    /// An operation of `definition_file_id` read from a Graph entity body.
    fn operation(definition_file_id: Guid, body: &Value) -> Result<Operation, Error> {
        read::<OperationEntity>(body)?.into_operation(definition_file_id)
    }

    fn file() -> Guid {
        Guid::parse("f", "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01").expect("guid")
    }

    #[test]
    fn entities_ignore_annotations_and_keep_timestamps_verbatim() {
        let body = json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x",
            "@odata.type": "#microsoft.graph.groupPolicyOperation",
            "id": "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01",
            "operationType": "uploadNewVersion",
            "operationStatus": "paused",
            "lastModifiedDateTime": "2016-12-31T23:59:40.8735716+03:00",
            "somethingNew": 1
        });
        let op = operation(file(), &body).expect("parses");
        assert_eq!(op.operation_type, OperationType::UploadNewVersion);
        assert_eq!(op.operation_status, OperationStatus::UnknownFutureValue);
        assert_eq!(op.status_details, None);
        assert_eq!(
            op.last_modified.as_str(),
            "2016-12-31T23:59:40.8735716+03:00"
        );
    }

    #[test]
    fn a_property_graph_omits_is_an_upstream_error_never_a_stand_in() {
        let body = json!({ "id": "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01" });
        let err = operation(file(), &body).expect_err("missing fields");
        assert_eq!(err.code(), Code::UpstreamError);
    }

    #[test]
    fn unknown_future_value_is_never_written_to_graph() {
        let input = NewOperation {
            operation_type: OperationType::UnknownFutureValue,
            operation_status: OperationStatus::Success,
            status_details: None,
        };
        assert_eq!(
            create_body(&input).expect_err("refused").code(),
            Code::InternalServerError
        );
    }

    #[test]
    fn patch_bodies_carry_only_changed_fields() {
        let patch = OperationPatch {
            operation_status: Some(OperationStatus::Success),
            status_details: Some(None),
            ..Default::default()
        };
        assert_eq!(
            patch_body(&patch).expect("body"),
            json!({ "@odata.type": ODATA_TYPE, "operationStatus": "success", "statusDetails": null })
        );
    }
}
