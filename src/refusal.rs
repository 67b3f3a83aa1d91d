//! Everything the gateway refuses because one of its limits was reached, as one type.
//!
//! A call site names what was refused and the numbers (the limit and what it found); the HTTP
//! status, the `Retry-After`, the contract code, the metric label and the message a client
//! reads each follow from one match here, so two places refusing the same thing cannot answer
//! it differently. Like [`crate::error`], this module knows neither HTTP nor the GraphQL engine:
//! the HTTP layer turns a status number into a response (`Rejection::over_limit`), the GraphQL
//! layer a refusal into a GraphQL error (the guard's `refused`), and both count it, under
//! [`Refusal::limit`], in the gateway's `Metrics` as they answer it.

use std::fmt;
use std::time::Duration;

use crate::error::{Code, Error};

/// Seconds a client is asked to wait (`Retry-After`) when the gateway is at capacity.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;
/// Seconds a client is asked to wait before opening another WebSocket.
pub(crate) const WEBSOCKET_RETRY_AFTER_SECONDS: u64 = 5;

/// A limit that refused a request, named as its flag is (underscores for dashes): the label of
/// the `refusals` metric. `max_connections` counts refusals by either connection cap (in total
/// or per address); `max_lookups` is the fixed cap on lookups per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Limit {
    /// `--max-tokens`: tokens in one document.
    MaxTokens,
    /// The fixed cap on bracket nesting in one document.
    MaxNesting,
    /// `--max-depth`: field nesting of one operation, through fragments.
    MaxDepth,
    /// `--max-complexity`: the cost of one operation, paged fields counted per item.
    MaxComplexity,
    /// `--max-aliases`: aliases in one operation.
    MaxAliases,
    /// `--max-root-fields`: fields at the root of one operation.
    MaxRootFields,
    /// `--max-directives`: directives in one document.
    MaxDirectives,
    /// The fixed cap on nested lists in an introspection query.
    MaxIntrospectionDepth,
    /// `--max-response-bytes`: the size of one operation's response.
    MaxResponseBytes,
    /// `--max-batch-response-bytes`: the size of all responses of one HTTP batch together.
    MaxBatchResponseBytes,
    /// `--max-errors`: errors in one response (the rest are left out).
    MaxErrors,
    /// `--max-body-bytes`: the size of a request body (the larger upload allowance included).
    MaxBodyBytes,
    /// `--max-large-bodies`: requests with a body over `--max-body-bytes` at once.
    MaxLargeBodies,
    /// `--max-batch`: operations in one HTTP batch (an empty batch counts here too).
    MaxBatch,
    /// `--max-in-flight`: GraphQL requests over HTTP being served at once.
    MaxInFlight,
    /// `--request-timeout`: how long one GraphQL request over HTTP may take.
    RequestTimeout,
    /// `--body-read-timeout`: how long a client may take to send a body.
    BodyReadTimeout,
    /// `--max-connections` or `--max-connections-per-address`: open connections.
    MaxConnections,
    /// `--max-websockets`: open WebSockets in total.
    MaxWebsockets,
    /// `--max-websockets-per-address`: open WebSockets from one client address.
    MaxWebsocketsPerAddress,
    /// `--max-subscriptions` or `--max-subscriptions-per-connection`: live subscriptions.
    MaxSubscriptions,
    /// `--ws-init-timeout`: how long a WebSocket may wait before `connection_init`.
    WsInitTimeout,
    /// `--ws-stall-timeout`: how long a WebSocket client may leave its messages unread.
    WsStallTimeout,
    /// `--graph-request-budget`: Microsoft Graph requests one GraphQL request may cause.
    GraphRequestBudget,
    /// The fixed cap on lookups (files or operations) one GraphQL operation may make.
    MaxLookups,
    /// `--write-timeout`: how long an answer may wait for its client to read any of it.
    WriteTimeout,
    /// `--max-pending-response-bytes`: answer bytes waiting for slow readers, over all connections.
    MaxPendingResponseBytes,
}

impl Limit {
    /// Every limit, in the order declared above.
    pub const ALL: &'static [Limit] = <Limit as strum::VariantArray>::VARIANTS;

    /// The label value: the member's name in `snake_case`, derived.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a limit refused, with the numbers that explain it (`found` what the request had,
/// `limit` what the gateway allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A document with more tokens than `--max-tokens`.
    Tokens { found: usize, limit: usize },
    /// A document nesting brackets deeper than the fixed cap.
    Nesting { found: usize, limit: usize },
    /// A document with more directives than `--max-directives`.
    Directives { found: usize, limit: usize },
    /// An operation deeper than `--max-depth`.
    Depth { found: usize, limit: usize },
    /// An operation too deep to be measured at all.
    DepthUnmeasured { limit: usize },
    /// An operation costlier than `--max-complexity`; `default_page` is the page size counted
    /// for a paged field without `first`.
    Complexity {
        found: u64,
        limit: usize,
        default_page: u64,
    },
    /// An operation with more aliases than `--max-aliases`.
    Aliases { found: usize, limit: usize },
    /// An operation with more root fields than `--max-root-fields`.
    RootFields { found: usize, limit: usize },
    /// Introspection nesting more lists than allowed.
    IntrospectionDepth { found: usize, limit: usize },
    /// A response with more errors than `--max-errors`; `dropped` were left out.
    Errors { dropped: usize, limit: usize },
    /// A response larger than `--max-response-bytes`.
    ResponseBytes { limit: usize },
    /// An HTTP batch's responses larger than `--max-batch-response-bytes` together.
    BatchResponseBytes { limit: usize },
    /// A body declaring more bytes than the gateway reads at all.
    BodyBytes { limit: usize },
    /// A body found larger than the gateway reads while reading it; `plain` is
    /// `--max-body-bytes`, `limit` the most a body with large `variables` may have.
    BodyBytesRead { plain: usize, limit: usize },
    /// A body over `--max-body-bytes` outside its `variables`.
    BodyOutsideVariables { plain: usize, limit: usize },
    /// A large body while all `--max-large-bodies` slots are taken.
    LargeBodies { slots: usize, plain: usize },
    /// An HTTP batch that is empty or holds more than `--max-batch` operations.
    Batch { found: usize, limit: usize },
    /// A request while `--max-in-flight` requests are being served.
    InFlight { limit: usize },
    /// A request that did not finish within `--request-timeout`.
    RequestTimeout { deadline: Duration },
    /// A body that did not arrive within `--body-read-timeout`.
    BodyReadTimeout { timeout: Duration },
    /// An answer while the budget for answers waiting on slow readers is spent.
    PendingResponseBytes,
    /// A connection over `--max-connections` (in total or per address).
    Connections,
    /// A WebSocket while `--max-websockets` are open.
    Websockets { limit: usize },
    /// A WebSocket while the client's address has `--max-websockets-per-address` open.
    WebsocketsPerAddress { limit: usize },
    /// A subscription over the per-connection or gateway-wide cap.
    Subscriptions,
    /// A WebSocket that did not send `connection_init` in time.
    WsInitTimeout,
    /// A WebSocket whose client stopped reading.
    WsStallTimeout,
    /// A request that spent its `--graph-request-budget`.
    GraphRequestBudget { limit: usize },
    /// An operation that looked up more than the fixed cap of `what`.
    Lookups { limit: usize, what: &'static str },
    /// A client that did not read its answer within `--write-timeout`.
    WriteTimeout,
}

impl Refusal {
    /// The limit that refused, the label it is counted under.
    pub fn limit(&self) -> Limit {
        match self {
            Refusal::Tokens { .. } => Limit::MaxTokens,
            Refusal::Nesting { .. } => Limit::MaxNesting,
            Refusal::Directives { .. } => Limit::MaxDirectives,
            Refusal::Depth { .. } | Refusal::DepthUnmeasured { .. } => Limit::MaxDepth,
            Refusal::Complexity { .. } => Limit::MaxComplexity,
            Refusal::Aliases { .. } => Limit::MaxAliases,
            Refusal::RootFields { .. } => Limit::MaxRootFields,
            Refusal::IntrospectionDepth { .. } => Limit::MaxIntrospectionDepth,
            Refusal::Errors { .. } => Limit::MaxErrors,
            Refusal::ResponseBytes { .. } => Limit::MaxResponseBytes,
            Refusal::BatchResponseBytes { .. } => Limit::MaxBatchResponseBytes,
            Refusal::BodyBytes { .. }
            | Refusal::BodyBytesRead { .. }
            | Refusal::BodyOutsideVariables { .. } => Limit::MaxBodyBytes,
            Refusal::LargeBodies { .. } => Limit::MaxLargeBodies,
            Refusal::Batch { .. } => Limit::MaxBatch,
            Refusal::InFlight { .. } => Limit::MaxInFlight,
            Refusal::RequestTimeout { .. } => Limit::RequestTimeout,
            Refusal::BodyReadTimeout { .. } => Limit::BodyReadTimeout,
            Refusal::PendingResponseBytes => Limit::MaxPendingResponseBytes,
            Refusal::Connections => Limit::MaxConnections,
            Refusal::Websockets { .. } => Limit::MaxWebsockets,
            Refusal::WebsocketsPerAddress { .. } => Limit::MaxWebsocketsPerAddress,
            Refusal::Subscriptions => Limit::MaxSubscriptions,
            Refusal::WsInitTimeout => Limit::WsInitTimeout,
            Refusal::WsStallTimeout => Limit::WsStallTimeout,
            Refusal::GraphRequestBudget { .. } => Limit::GraphRequestBudget,
            Refusal::Lookups { .. } => Limit::MaxLookups,
            Refusal::WriteTimeout => Limit::WriteTimeout,
        }
    }

    /// The HTTP status of a refusal answered before any operation runs, and the seconds of its
    /// `Retry-After` if the client may simply come back. Refusals answered inside a GraphQL
    /// response (their status follows the media type) or not answered at all have none.
    pub fn http_status(&self) -> Option<(u16, Option<u64>)> {
        let busy = Some((503, Some(RETRY_AFTER_SECONDS)));
        match self {
            Refusal::Batch { .. } => Some((400, None)),
            Refusal::BodyBytes { .. }
            | Refusal::BodyBytesRead { .. }
            | Refusal::BodyOutsideVariables { .. } => Some((413, None)),
            Refusal::BodyReadTimeout { .. } => Some((408, None)),
            Refusal::RequestTimeout { .. } => Some((504, None)),
            Refusal::LargeBodies { .. }
            | Refusal::InFlight { .. }
            | Refusal::PendingResponseBytes
            | Refusal::Connections => busy,
            Refusal::Websockets { .. } | Refusal::WebsocketsPerAddress { .. } => {
                Some((503, Some(WEBSOCKET_RETRY_AFTER_SECONDS)))
            }
            _ => None,
        }
    }

    /// The contract code a client matches on: every refusal is `LIMIT_EXCEEDED`.
    pub fn code(&self) -> Code {
        Code::LimitExceeded
    }
}

/// The message a client reads (or, for refusals that close a connection, the log's).
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let retry = RETRY_AFTER_SECONDS;
        let too_many = |f: &mut fmt::Formatter<'_>, what, subject, found, limit| {
            write!(
                f,
                "Too many {what}: {subject} {found}; the limit is {limit}"
            )
        };
        match *self {
            Refusal::Tokens { found, limit } => {
                too_many(f, "tokens", "the document has", found, limit)
            }
            Refusal::Nesting { found, limit } => {
                too_many(f, "nested brackets", "the document nests", found, limit)
            }
            Refusal::Directives { found, limit } => {
                too_many(f, "directives", "the document has", found, limit)
            }
            Refusal::Aliases { found, limit } => {
                too_many(f, "aliases", "the operation has", found, limit)
            }
            Refusal::RootFields { found, limit } => {
                too_many(f, "root fields", "the operation has", found, limit)
            }
            Refusal::Depth { found, limit } => write!(
                f,
                "Query is nested too deep: depth {found} (fields inside fields, through \
                 fragments); the limit is {limit}"
            ),
            Refusal::DepthUnmeasured { limit } => write!(
                f,
                "Query is nested too deep: more than {limit} levels of selections, fragments \
                 and inline fragments"
            ),
            Refusal::Complexity {
                found,
                limit,
                default_page,
            } => write!(
                f,
                "Query is too complex: cost {found} (fields after expanding fragments, the \
                 selection of a paged field counted `first` times, {default_page} when \
                 omitted); the limit is {limit}"
            ),
            Refusal::IntrospectionDepth { found, limit } => write!(
                f,
                "Introspection is nested too deep: {found} nested lists of fields, inputFields, \
                 interfaces or possibleTypes; the limit is {limit}"
            ),
            Refusal::Errors { dropped, limit } => write!(
                f,
                "Too many errors: {dropped} more were left out; the limit is {limit} per response"
            ),
            Refusal::ResponseBytes { limit } => write!(
                f,
                "The response is larger than {limit} bytes, the limit per operation; select \
                 fewer fields or smaller pages"
            ),
            Refusal::BatchResponseBytes { limit } => write!(
                f,
                "The batch's responses together are larger than {limit} bytes, the limit per \
                 batch; this operation's response was left out"
            ),
            Refusal::BodyBytes { limit } => {
                write!(f, "The request body is larger than {limit} bytes")
            }
            Refusal::BodyBytesRead { plain, limit } => write!(
                f,
                "The request body is larger than {plain} bytes (up to {limit} bytes when it \
                 declares its Content-Length and the excess is in `variables`)"
            ),
            Refusal::BodyOutsideVariables { plain, limit } => write!(
                f,
                "The request body is larger than {plain} bytes outside its `variables` (only \
                 variables, such as base64 file contents, may make it larger, up to {limit} \
                 bytes)"
            ),
            Refusal::LargeBodies { slots, plain } => write!(
                f,
                "{slots} requests with a body over {plain} bytes are already being served; \
                 retry in {retry} s"
            ),
            Refusal::Batch { found, limit } => write!(
                f,
                "A batch must hold 1 to {limit} operations; this one has {found}"
            ),
            Refusal::InFlight { limit } => write!(
                f,
                "The gateway is serving its maximum of {limit} requests; retry in {retry} s"
            ),
            Refusal::RequestTimeout { deadline } => write!(
                f,
                "The request did not finish within the gateway's deadline of {deadline:?}; a \
                 mutation in it may or may not have taken effect"
            ),
            Refusal::BodyReadTimeout { timeout } => write!(
                f,
                "The request body did not arrive within {timeout:?} (a body over \
                 --max-body-bytes must also keep arriving at --large-body-min-rate)"
            ),
            Refusal::PendingResponseBytes => write!(
                f,
                "The gateway holds its maximum of answers waiting for slow clients; retry in \
                 {retry} s"
            ),
            Refusal::Connections => write!(
                f,
                "The gateway has too many open connections; retry in {retry} s"
            ),
            Refusal::Websockets { limit } => write!(
                f,
                "The gateway already has {limit} WebSockets open (--max-websockets); try again \
                 later"
            ),
            Refusal::WebsocketsPerAddress { limit } => write!(
                f,
                "Your address already has {limit} WebSockets open \
                 (--max-websockets-per-address); close one or try again later"
            ),
            Refusal::Subscriptions => write!(
                f,
                "Too many live subscriptions; complete some before starting another"
            ),
            Refusal::WsInitTimeout => write!(f, "Connection initialisation timeout"),
            Refusal::WsStallTimeout => write!(f, "the client does not read its WebSocket"),
            Refusal::GraphRequestBudget { limit } => write!(
                f,
                "This request has used its budget of {limit} Microsoft Graph requests \
                 (--graph-request-budget); ask for fewer operations, lists or pages in one \
                 request"
            ),
            Refusal::Lookups { limit, what } => write!(
                f,
                "One GraphQL operation may look up at most {limit} {what}"
            ),
            Refusal::WriteTimeout => write!(f, "the client did not read its answer in time"),
        }
    }
}

impl From<&Refusal> for Limit {
    fn from(refusal: &Refusal) -> Self {
        refusal.limit()
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::LimitExceeded(refusal.to_string())
    }
}

#[cfg(test)]
mod tests;
