//! The GraphQL types of the contract: the operation object, its connection, inputs and the
//! `DateTime` scalar. They wrap domain values; resolvers live in
//! [`crate::graphql::resolvers`].

use async_graphql::{
    Context, Enum, ID, InputObject, InputValueError, InputValueResult, MaybeUndefined, Object,
    Result, Scalar, ScalarType, Value,
};

use super::files::{GroupPolicyUploadedDefinitionFile, load_file};
use crate::domain::{Cursor, Operation, Timestamp};

/// What kind of change to an uploaded ADMX definition file an operation records.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::OperationType")]
pub enum GroupPolicyOperationType {
    /// No operation (Graph's `none`).
    None,
    /// The ADMX file and its language files were uploaded for the first time.
    Upload,
    /// A newer version of an already uploaded ADMX file was uploaded.
    UploadNewVersion,
    /// Language (ADML) files were added to the definition file.
    AddLanguageFiles,
    /// Language (ADML) files were removed from the definition file.
    RemoveLanguageFiles,
    /// Existing language (ADML) files were replaced.
    UpdateLanguageFiles,
    /// The definition file was removed from Intune.
    Remove,
    /// Output only: Graph returned a member this gateway does not know yet. Sending it as
    /// input is rejected with `BAD_USER_INPUT`.
    UnknownFutureValue,
}

/// Where an operation stands. `IN_PROGRESS` moves to `SUCCESS` or `FAILED` when Intune finishes
/// processing the file.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::OperationStatus")]
pub enum GroupPolicyOperationStatus {
    /// Intune has not reported a status.
    Unknown,
    /// Intune is still processing the file.
    InProgress,
    /// The operation finished successfully.
    Success,
    /// The operation failed; `statusDetails` usually says why.
    Failed,
    /// Output only: Graph returned a member this gateway does not know yet. Sending it as
    /// input is rejected with `BAD_USER_INPUT`.
    UnknownFutureValue,
}

/// RFC 3339 date-time with offset, as Graph's Edm.DateTimeOffset; up to 7 fractional digits.
/// Values read from Graph come back exactly as Graph wrote them (precision and offset kept).
pub(crate) struct DateTime(pub Timestamp);

/// A point in time as RFC 3339 text with an offset, as Graph's Edm.DateTimeOffset: up to 7
/// fractional digits, e.g. `2025-09-07T08:32:57.5081686Z`. The service writes UTC (`Z`); values
/// read from Graph come back exactly as Graph wrote them (precision and offset kept). A JSON
/// string on the wire: map it to `string` in generated client types and parse it with
/// `new Date(...)` (which keeps milliseconds) only for display.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Timestamp::parse(text)
                .map(DateTime)
                .map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.as_str().to_owned())
    }
}

/// A record Intune keeps of work on an uploaded ADMX definition file: an upload, a new
/// version, a language-file change or a removal, and how far that work has come.
pub(crate) struct GroupPolicyOperation(pub Operation);

#[Object]
impl GroupPolicyOperation {
    /// The operation's GUID, assigned by the service.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The groupPolicyUploadedDefinitionFile this operation belongs to.
    async fn definition_file_id(&self) -> ID {
        ID(self.0.definition_file_id.to_string())
    }

    /// That file itself (through the request's loader); null when it no longer exists.
    async fn definition_file(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<GroupPolicyUploadedDefinitionFile>> {
        load_file(ctx, self.0.definition_file_id).await
    }

    /// What kind of change this operation records.
    async fn operation_type(&self) -> GroupPolicyOperationType {
        self.0.operation_type.into()
    }

    /// Where the operation stands; poll or subscribe until it is `SUCCESS` or `FAILED`.
    async fn operation_status(&self) -> GroupPolicyOperationStatus {
        self.0.operation_status.into()
    }

    /// Free text from Intune about the outcome, often the reason for a failure. May be empty
    /// or absent, and may contain any Unicode.
    async fn status_details(&self) -> Option<&str> {
        self.0.status_details.as_deref()
    }

    /// When the service last changed this operation.
    async fn last_modified_date_time(&self) -> DateTime {
        DateTime(self.0.last_modified.clone())
    }
}

// The cursors are signed only when selected.
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<Cursor>,
    pub end_cursor: Option<Cursor>,
}

/// Where a page of operations sits in the whole list.
#[Object]
impl PageInfo {
    /// True when another page follows; fetch it with `after: endCursor`.
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }

    /// True when this page was fetched with `after`, so operations precede it.
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }

    /// Cursor of the first edge of this page, or null when the page is empty.
    async fn start_cursor(&self) -> Option<String> {
        self.start_cursor.as_ref().map(Cursor::get)
    }

    /// Cursor of the last edge of this page; pass it as `after` for the next page.
    async fn end_cursor(&self) -> Option<String> {
        self.end_cursor.as_ref().map(Cursor::get)
    }
}

pub(crate) struct GroupPolicyOperationEdge {
    cursor: Cursor,
    node: GroupPolicyOperation,
}

/// An operation and the cursor that resumes the list after it.
#[Object]
impl GroupPolicyOperationEdge {
    /// Opaque; pass it as `after` to continue after this operation.
    async fn cursor(&self) -> String {
        self.cursor.get()
    }

    /// The operation.
    async fn node(&self) -> &GroupPolicyOperation {
        &self.node
    }
}

/// One page of a definition file's operations (a Relay connection, forward only).
pub(crate) struct GroupPolicyOperationConnection {
    pub edges: Vec<(Cursor, Operation)>,
    pub page_info: PageInfo,
}

impl GroupPolicyOperationConnection {
    /// A page of `items`; `has_previous_page` is true when it was fetched with `after`.
    pub(crate) fn new(
        items: Vec<(Cursor, Operation)>,
        has_next_page: bool,
        has_previous_page: bool,
    ) -> Self {
        let page_info = PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: items.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: items.last().map(|(cursor, _)| cursor.clone()),
        };
        GroupPolicyOperationConnection {
            edges: items,
            page_info,
        }
    }
}

#[Object]
impl GroupPolicyOperationConnection {
    /// The operations of this page with their cursors, in a stable order.
    async fn edges(&self) -> Vec<GroupPolicyOperationEdge> {
        self.edges
            .iter()
            .map(|(cursor, op)| GroupPolicyOperationEdge {
                cursor: cursor.clone(),
                node: GroupPolicyOperation(op.clone()),
            })
            .collect()
    }

    /// The operations of this page, without cursors (same order as `edges`).
    async fn nodes(&self) -> Vec<GroupPolicyOperation> {
        self.edges
            .iter()
            .map(|(_, op)| GroupPolicyOperation(op.clone()))
            .collect()
    }

    /// Whether more pages follow, and the cursors to fetch them.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// The fields of a new operation. The service assigns `id` and `lastModifiedDateTime`.
#[derive(InputObject)]
pub(crate) struct CreateGroupPolicyOperationInput {
    /// What kind of change the operation records. `UNKNOWN_FUTURE_VALUE` is refused.
    pub operation_type: GroupPolicyOperationType,
    /// The initial status. `UNKNOWN_FUTURE_VALUE` is refused.
    pub operation_status: GroupPolicyOperationStatus,
    /// Optional free text about the operation.
    pub status_details: Option<String>,
}

/// Absent field: unchanged. statusDetails: null clears it. At least one field is required.
#[derive(InputObject)]
pub(crate) struct UpdateGroupPolicyOperationInput {
    /// New kind of change; omit to keep it. `UNKNOWN_FUTURE_VALUE` is refused.
    pub operation_type: Option<GroupPolicyOperationType>,
    /// New status; omit to keep it. `UNKNOWN_FUTURE_VALUE` is refused.
    pub operation_status: Option<GroupPolicyOperationStatus>,
    /// New details; omit to keep them, or send null to clear them.
    pub status_details: MaybeUndefined<String>,
}
