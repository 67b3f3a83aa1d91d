//! The guard's refusals: each limit's check on an operation's measure, and the one way a
//! [`Refusal`] becomes the `LIMIT_EXCEEDED` GraphQL error that explains it.

use async_graphql::{Pos, ServerError, ServerResult};

use super::measure::{DEFAULT_PAGE, Measure, Unmeasurable};
use super::{MAX_INTROSPECTION_LISTS, QueryLimits};
use crate::error::Code;
use crate::refusal::Refusal;
use crate::telemetry::metrics::Metrics;

/// Refuses an operation whose measure is over one of the query limits.
pub(super) fn check_limits(
    measure: &Measure,
    limits: &QueryLimits,
    pos: Pos,
    metrics: &Metrics,
) -> ServerResult<()> {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let refusal = if measure.depth > limits.max_depth {
        Refusal::Depth {
            found: measure.depth,
            limit: limits.max_depth,
        }
    } else if as_usize(measure.cost) > limits.max_complexity {
        Refusal::Complexity {
            found: measure.cost,
            limit: limits.max_complexity,
            default_page: DEFAULT_PAGE,
        }
    } else if as_usize(measure.aliases) > limits.max_aliases {
        Refusal::Aliases {
            found: as_usize(measure.aliases),
            limit: limits.max_aliases,
        }
    } else if as_usize(measure.top_fields) > limits.max_root_fields {
        Refusal::RootFields {
            found: as_usize(measure.top_fields),
            limit: limits.max_root_fields,
        }
    } else if measure.introspection_lists >= MAX_INTROSPECTION_LISTS {
        Refusal::IntrospectionDepth {
            found: measure.introspection_lists,
            limit: MAX_INTROSPECTION_LISTS - 1,
        }
    } else {
        return Ok(());
    };
    Err(refused(metrics, refusal, Some(pos)))
}

pub(super) fn unmeasurable(problem: Unmeasurable, metrics: &Metrics) -> ServerError {
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
            refused(metrics, Refusal::DepthUnmeasured { limit }, Some(pos))
        }
    }
}

/// The `LIMIT_EXCEEDED` error for `refusal`, at `pos` in the document when it points at an
/// operation; the refusal is counted here, in `metrics`.
pub(crate) fn refused(metrics: &Metrics, refusal: Refusal, pos: Option<Pos>) -> ServerError {
    metrics.refused(&refusal);
    let mut error = ServerError::new(refusal.to_string(), pos);
    crate::graphql::ensure_code(&mut error, refusal.code());
    error
}
