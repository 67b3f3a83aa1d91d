//! The group policy operation as the gateway understands it, and the values both resources
//! share (ids, timestamps, Graph enum names), independent of GraphQL and Graph.
//!
//! Values here can only be built valid: ids are GUIDs, timestamps are RFC 3339, enum members
//! map one-to-one to Graph's camelCase wire names, and a new operation or a change to one is
//! checked once by its `parse` (in `operations/inputs.rs`). Backends and resolvers exchange
//! these types.

mod inputs;

pub use inputs::MAX_STATUS_DETAILS;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::de::value::StrDeserializer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::Error;

/// A GUID as Graph writes it: 36 characters, hyphenated, rendered in lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Guid(pub(super) Uuid);

impl Guid {
    /// Accepts only the hyphenated 8-4-4-4-12 form (any case); `argument` names the input in
    /// the error so a client knows which value to fix.
    pub fn parse(argument: &str, value: &str) -> Result<Self, Error> {
        let hyphenated = value.len() == 36
            && value
                .bytes()
                .enumerate()
                .all(|(i, b)| matches!(i, 8 | 13 | 18 | 23) == (b == b'-'));
        match Uuid::try_parse(value) {
            Ok(uuid) if hyphenated => Ok(Guid(uuid)),
            _ => Err(Error::bad_argument(
                argument,
                format!("`{argument}` must be a GUID such as 0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01"),
            )),
        }
    }

    /// A fresh random GUID.
    pub fn new_v4() -> Self {
        Guid(Uuid::new_v4())
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Addresses one operation: the definition file it belongs to and its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationKey {
    /// Intune's id of the definition file the operation belongs to (a GUID).
    pub definition_file_id: Guid,
    /// Intune's id of the operation (a GUID).
    pub id: Guid,
}

impl OperationKey {
    /// The `NOT_FOUND` error for this key.
    pub fn not_found(&self) -> Error {
        Error::NotFound(format!(
            "No group policy operation {} in definition file {}",
            self.id, self.definition_file_id
        ))
    }
}

/// Graph's camelCase member names for the domain's enums. serde does the naming
/// (`rename_all = "camelCase"`) and sends any member Graph adds later to `UnknownFutureValue`
/// (`#[serde(other)]`), which is never written back (`skip_serializing`).
pub trait GraphMember: Serialize + DeserializeOwned {
    /// `UnknownFutureValue`.
    const UNKNOWN: Self;

    /// Decodes Graph's member name; an unseen member becomes `UnknownFutureValue`.
    fn from_graph(wire: &str) -> Self {
        Self::deserialize(StrDeserializer::<serde::de::value::Error>::new(wire))
            .unwrap_or(Self::UNKNOWN)
    }

    /// Graph's member name; `None` for `UnknownFutureValue`, which Graph never accepts.
    fn graph_name(&self) -> Option<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => Some(name),
            _ => None,
        }
    }
}

/// What kind of change to an uploaded ADMX definition file an operation records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationType {
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
    /// A member Graph added after this gateway was built; never sent to Graph.
    #[serde(other, skip_serializing)]
    UnknownFutureValue,
}

/// Where an operation stands. `IN_PROGRESS` moves to `SUCCESS` or `FAILED` when Intune
/// finishes processing the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationStatus {
    /// Intune has not reported a status.
    Unknown,
    /// Intune is still processing the file.
    InProgress,
    /// The operation finished successfully.
    Success,
    /// The operation failed; `statusDetails` usually says why.
    Failed,
    /// A member Graph added after this gateway was built; never sent to Graph.
    #[serde(other, skip_serializing)]
    UnknownFutureValue,
}

impl GraphMember for OperationType {
    const UNKNOWN: Self = OperationType::UnknownFutureValue;
}

impl GraphMember for OperationStatus {
    const UNKNOWN: Self = OperationStatus::UnknownFutureValue;
}

impl OperationStatus {
    /// `SUCCESS` and `FAILED` are final: an operation never leaves them.
    pub fn is_final(self) -> bool {
        matches!(self, OperationStatus::Success | OperationStatus::Failed)
    }
}

/// An `Edm.DateTimeOffset` kept exactly as written (Graph trims trailing zeros and may use any
/// offset), validated as RFC 3339 on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp(String);

impl Timestamp {
    /// Validates `value` as RFC 3339 with an offset, keeping its exact text.
    pub fn parse(value: &str) -> Result<Self, String> {
        let fraction_digits = value
            .split_once('.')
            .map(|(_, rest)| rest.bytes().take_while(u8::is_ascii_digit).count())
            .unwrap_or(0);
        if fraction_digits > 7 {
            return Err(format!("`{value}` has more than 7 fractional digits"));
        }
        OffsetDateTime::parse(value, &Rfc3339)
            .map(|_| Timestamp(value.to_owned()))
            .map_err(|e| format!("`{value}` is not an RFC 3339 date-time with offset: {e}"))
    }

    /// Accepts a value Graph wrote: any RFC 3339 date-time with offset, at any precision,
    /// kept exactly as written.
    pub fn from_graph(value: &str) -> Result<Self, String> {
        OffsetDateTime::parse(value, &Rfc3339)
            .map(|_| Timestamp(value.to_owned()))
            .map_err(|e| format!("Graph returned `{value}` as a date-time: {e}"))
    }

    /// Now, in UTC with 7 fractional digits, the way Graph stamps `lastModifiedDateTime`.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Timestamp(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.nanosecond() / 100
        ))
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Timestamp {
    /// Graph's "never" (`0001-01-01T00:00:00Z`), as Graph itself writes a date never set.
    fn default() -> Self {
        Timestamp("0001-01-01T00:00:00Z".to_owned())
    }
}

/// One group policy operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Intune's id of the operation (a GUID).
    pub id: Guid,
    /// Intune's id of the definition file the operation belongs to (a GUID).
    pub definition_file_id: Guid,
    /// What the operation does to its file (upload, add language files, remove...).
    pub operation_type: OperationType,
    /// Where it stands: in progress, succeeded, failed (or unknown).
    pub operation_status: OperationStatus,
    /// Intune's free-text explanation, usually of a failure; `None` when it gave none.
    pub status_details: Option<String>,
    /// When Intune last changed the operation.
    pub last_modified: Timestamp,
}

impl Operation {
    /// The key that addresses this operation.
    pub fn key(&self) -> OperationKey {
        OperationKey {
            definition_file_id: self.definition_file_id,
            id: self.id,
        }
    }
}

/// The fields a new operation is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOperation {
    /// What the operation does to its file.
    pub operation_type: OperationType,
    /// How far it got.
    pub operation_status: OperationStatus,
    /// Free-text explanation; `None` for none.
    pub status_details: Option<String>,
}

/// A partial update: `None` leaves a field unchanged; `status_details: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationPatch {
    /// The new type; `None` leaves it.
    pub operation_type: Option<OperationType>,
    /// The new status; `None` leaves it.
    pub operation_status: Option<OperationStatus>,
    /// `Some(Some(text))` sets the details, `Some(None)` clears them, `None` leaves them.
    pub status_details: Option<Option<String>>,
}

impl OperationPatch {
    /// True when the patch would change nothing.
    pub fn is_empty(&self) -> bool {
        self.operation_type.is_none()
            && self.operation_status.is_none()
            && self.status_details.is_none()
    }

    /// Applies the patch to `op` in place.
    pub fn apply(&self, op: &mut Operation) {
        if let Some(t) = self.operation_type {
            op.operation_type = t;
        }
        if let Some(s) = self.operation_status {
            op.operation_status = s;
        }
        if let Some(d) = &self.status_details {
            op.status_details = d.clone();
        }
    }
}

/// One page of a definition file's operations, each with the cursor that resumes after it.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The operations of this page, in order, each with the cursor that resumes after it.
    pub items: Vec<(super::Cursor, Operation)>,
    /// True when more operations follow the last one; ask again with its cursor as `after`.
    pub has_next_page: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_accepts_only_the_hyphenated_form() {
        let ok = Guid::parse("id", "0C9E4B7A-1D2F-4A6B-8E3C-5F7A9B1C2D01").expect("valid");
        assert_eq!(ok.to_string(), "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01");
        for bad in [
            "",
            "0c9e4b7a1d2f4a6b8e3c5f7a9b1c2d01",
            "{0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01}",
            "../x",
            "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d0/",
            "urn:uuid:0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c",
        ] {
            let err = Guid::parse("definitionFileId", bad).expect_err(bad);
            assert!(
                matches!(err, Error::BadUserInput { argument: Some(ref a), .. } if a == "definitionFileId")
            );
        }
    }

    #[test]
    fn timestamps_keep_their_exact_text_and_reject_junk() {
        for ok in [
            "2025-09-07T08:32:57.5081686Z",
            "2025-09-07T08:42:58.653605Z",
            "0001-01-01T00:00:00Z",
            "2016-12-31T23:59:40.8735716+03:00",
        ] {
            assert_eq!(Timestamp::parse(ok).expect(ok).as_str(), ok);
        }
        for bad in [
            "2025-09-07",
            "2025-09-07T08:32:57",
            "yesterday",
            "2025-09-07T08:32:57.123456789Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn now_has_seven_fraction_digits_in_utc() {
        let now = Timestamp::now();
        let text = now.as_str();
        assert!(text.ends_with('Z'));
        let fraction = text.split_once('.').expect("fraction").1;
        assert_eq!(fraction.len(), 8, "{text}");
        assert!(Timestamp::parse(text).is_ok());
    }

    #[test]
    fn enum_wire_names_round_trip_and_unknown_members_degrade() {
        for (member, wire) in [
            (OperationType::None, "none"),
            (OperationType::UploadNewVersion, "uploadNewVersion"),
            (OperationType::RemoveLanguageFiles, "removeLanguageFiles"),
        ] {
            assert_eq!(member.graph_name().as_deref(), Some(wire));
            assert_eq!(OperationType::from_graph(wire), member);
        }
        assert_eq!(
            OperationStatus::from_graph("inProgress"),
            OperationStatus::InProgress
        );
        assert_eq!(
            OperationStatus::from_graph("paused"),
            OperationStatus::UnknownFutureValue
        );
        assert_eq!(OperationType::UnknownFutureValue.graph_name(), None);
    }
}
