//! The checks on what a client asks to create or change, so resolvers only translate
//! arguments and every backend receives a well-formed request.

use super::{NewOperation, OperationPatch, OperationStatus, OperationType};
use crate::error::Error;

/// Longest `statusDetails` accepted, in characters.
pub const MAX_STATUS_DETAILS: usize = 8192;

/// `UNKNOWN_FUTURE_VALUE` names a member this gateway does not know yet: output only.
fn not_unknown<T: PartialEq>(argument: &str, value: Option<T>, unknown: T) -> Result<(), Error> {
    if value == Some(unknown) {
        return Err(Error::bad_argument(
            argument,
            format!("`{argument}` cannot be UNKNOWN_FUTURE_VALUE: that member is output only"),
        ));
    }
    Ok(())
}

fn details_within_limit(details: Option<&str>) -> Result<(), Error> {
    match details {
        Some(text) if text.chars().count() > MAX_STATUS_DETAILS => Err(Error::bad_argument(
            "input.statusDetails",
            format!("`input.statusDetails` is longer than {MAX_STATUS_DETAILS} characters"),
        )),
        _ => Ok(()),
    }
}

impl NewOperation {
    /// A new operation's fields, checked: neither enum is `UNKNOWN_FUTURE_VALUE` and
    /// `statusDetails` is at most [`MAX_STATUS_DETAILS`] characters (`BAD_USER_INPUT` naming the
    /// argument otherwise).
    pub fn parse(
        operation_type: OperationType,
        operation_status: OperationStatus,
        status_details: Option<String>,
    ) -> Result<Self, Error> {
        not_unknown(
            "input.operationType",
            Some(operation_type),
            OperationType::UnknownFutureValue,
        )?;
        not_unknown(
            "input.operationStatus",
            Some(operation_status),
            OperationStatus::UnknownFutureValue,
        )?;
        details_within_limit(status_details.as_deref())?;
        Ok(NewOperation {
            operation_type,
            operation_status,
            status_details,
        })
    }
}

impl OperationPatch {
    /// A change to an operation, checked as [`NewOperation::parse`] checks a new one; it must
    /// also change something (`BAD_USER_INPUT` on `input` otherwise).
    pub fn parse(
        operation_type: Option<OperationType>,
        operation_status: Option<OperationStatus>,
        status_details: Option<Option<String>>,
    ) -> Result<Self, Error> {
        not_unknown(
            "input.operationType",
            operation_type,
            OperationType::UnknownFutureValue,
        )?;
        not_unknown(
            "input.operationStatus",
            operation_status,
            OperationStatus::UnknownFutureValue,
        )?;
        details_within_limit(status_details.as_ref().and_then(Option::as_deref))?;
        let patch = OperationPatch {
            operation_type,
            operation_status,
            status_details,
        };
        if patch.is_empty() {
            return Err(Error::bad_argument(
                "input",
                "`input` must set at least one of operationType, operationStatus, statusDetails",
            ));
        }
        Ok(patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument(error: Error) -> Option<String> {
        match error {
            Error::BadUserInput { argument, .. } => argument,
            other => panic!("not BAD_USER_INPUT: {other:?}"),
        }
    }

    #[test]
    fn unknown_future_value_is_output_only() {
        let refused = NewOperation::parse(
            OperationType::UnknownFutureValue,
            OperationStatus::InProgress,
            None,
        )
        .expect_err("refused");
        assert_eq!(argument(refused).as_deref(), Some("input.operationType"));
        let refused = OperationPatch::parse(None, Some(OperationStatus::UnknownFutureValue), None)
            .expect_err("refused");
        assert_eq!(argument(refused).as_deref(), Some("input.operationStatus"));
    }

    #[test]
    fn status_details_are_bounded_in_characters() {
        let at_limit = "é".repeat(MAX_STATUS_DETAILS);
        let new = NewOperation::parse(
            OperationType::UploadNewVersion,
            OperationStatus::InProgress,
            Some(at_limit.clone()),
        )
        .expect("at the limit");
        assert_eq!(new.status_details, Some(at_limit));
        let over = "x".repeat(MAX_STATUS_DETAILS + 1);
        let refused = OperationPatch::parse(None, None, Some(Some(over))).expect_err("over");
        assert_eq!(argument(refused).as_deref(), Some("input.statusDetails"));
    }

    #[test]
    fn a_patch_must_change_something() {
        let refused = OperationPatch::parse(None, None, None).expect_err("empty");
        assert_eq!(argument(refused).as_deref(), Some("input"));
        let clears = OperationPatch::parse(None, None, Some(None)).expect("clears the details");
        assert_eq!(clears.status_details, Some(None));
    }
}
