//! The guard's refusals: each limit's check on an operation's measure, and the
//! `LIMIT_EXCEEDED` errors that explain what was over which limit.

use async_graphql::{Pos, ServerError, ServerResult};

use super::measure::{DEFAULT_PAGE, Measure, Unmeasurable};
use super::{MAX_INTROSPECTION_LISTS, QueryLimits};
use crate::error::Code;
use crate::telemetry::metrics::{self, Limit};

/// Refuses an operation whose measure is over one of the query limits.
// One check per limit in a row, each with the message that explains its measure; longer than
// most functions because the messages are, not because it does several things.
pub(super) fn check_limits(measure: &Measure, limits: &QueryLimits, pos: Pos) -> ServerResult<()> {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if measure.depth > limits.max_depth {
        metrics::refused(Limit::MaxDepth);
        return Err(limit_error(
            format!(
                "Query is nested too deep: depth {} (fields inside fields, through fragments); \
                 the limit is {}",
                measure.depth, limits.max_depth
            ),
            Some(pos),
        ));
    }
    if as_usize(measure.cost) > limits.max_complexity {
        metrics::refused(Limit::MaxComplexity);
        return Err(limit_error(
            format!(
                "Query is too complex: cost {} (fields after expanding fragments, the selection \
                 of a paged field counted `first` times, {DEFAULT_PAGE} when omitted); the limit \
                 is {}",
                measure.cost, limits.max_complexity
            ),
            Some(pos),
        ));
    }
    let counts = [
        (
            "aliases",
            measure.aliases,
            limits.max_aliases,
            Limit::MaxAliases,
        ),
        (
            "root fields",
            measure.top_fields,
            limits.max_root_fields,
            Limit::MaxRootFields,
        ),
    ];
    for (what, found, limit, name) in counts {
        if as_usize(found) > limit {
            metrics::refused(name);
            return Err(too_many(
                what,
                "the operation has",
                as_usize(found),
                limit,
                Some(pos),
            ));
        }
    }
    if measure.introspection_lists >= MAX_INTROSPECTION_LISTS {
        metrics::refused(Limit::MaxIntrospectionDepth);
        return Err(limit_error(
            format!(
                "Introspection is nested too deep: {} nested lists of fields, inputFields, \
                 interfaces or possibleTypes; the limit is {}",
                measure.introspection_lists,
                MAX_INTROSPECTION_LISTS - 1
            ),
            Some(pos),
        ));
    }
    Ok(())
}

pub(super) fn unmeasurable(problem: Unmeasurable) -> ServerError {
    match problem {
        Unmeasurable::Cycle { fragment, pos } => {
            let mut error = ServerError::new(
                format!("Cannot spread fragment \"{fragment}\" within itself"),
                Some(pos),
            );
            crate::graphql::ensure_code(&mut error, Code::GraphqlValidationFailed);
            error
        }
        Unmeasurable::TooDeep { limit, pos } => {
            metrics::refused(Limit::MaxDepth);
            limit_error(
                format!(
                    "Query is nested too deep: more than {limit} levels of selections, fragments \
                     and inline fragments"
                ),
                Some(pos),
            )
        }
    }
}

/// "Too many {what}: {subject} {found}; the limit is {limit}".
pub(super) fn too_many(
    what: &str,
    subject: &str,
    found: usize,
    limit: usize,
    pos: Option<Pos>,
) -> ServerError {
    limit_error(
        format!("Too many {what}: {subject} {found}; the limit is {limit}"),
        pos,
    )
}

/// "Too many {what}: the document has {found}; the limit is {limit}".
pub fn document_has_too_many(what: &str, found: usize, limit: usize) -> ServerError {
    too_many(what, "the document has", found, limit, None)
}

/// A `LIMIT_EXCEEDED` error.
pub fn limit_error(message: String, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    crate::graphql::ensure_code(&mut error, Code::LimitExceeded);
    error
}
