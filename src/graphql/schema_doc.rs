//! The schema's own description in `schema.graphql`: every `extensions.code` and the other
//! error extensions with what they mean, where a client developer and a code generator look.
//!
//! async-graphql has no schema description of its own (its introspection answers a fixed
//! text), so [`super::client_sdl`] writes this one above the `schema { ... }` block.

use crate::error::Code;

/// What each code means and what a client should do about it; `meaning` is exhaustive, so a
/// new code cannot be left undescribed.
fn meaning(code: Code) -> &'static str {
    match code {
        Code::GraphqlParseFailed => "the document is not valid GraphQL (a client bug).",
        Code::GraphqlValidationFailed => {
            "the document does not fit this schema, or uses a directive other than @skip and \
             @include (regenerate client types from schema.graphql)."
        }
        Code::BadUserInput => {
            "an argument, variable or header is invalid; `argument` names the argument when it \
             is one."
        }
        Code::PersistedQueryNotFound => {
            "the gateway does not know this persisted query hash: send the query text with it \
             (Apollo's persisted query link does so by itself)."
        }
        Code::Unauthenticated => {
            "no usable bearer token (graph mode), or Microsoft Graph refused it: sign in again."
        }
        Code::Forbidden => {
            "the token lacks the permission (DeviceManagementConfiguration.ReadWrite.All for \
             writes), or the page's origin may not use this gateway."
        }
        Code::NotFound => "the definition file or operation does not exist (any more).",
        Code::Conflict => {
            "the object's state does not allow this now (work still in progress, a language it \
             already has), or an Idempotency-Key was reused with another body or is still \
             running: refresh, then retry."
        }
        Code::Throttled => "Microsoft Graph is throttling: wait `retryAfter` seconds, then retry.",
        Code::UpstreamError => {
            "Microsoft Graph failed or answered something unusable; quote `requestId` and \
             `clientRequestId` to Microsoft support."
        }
        Code::UpstreamTimeout => {
            "Microsoft Graph did not answer in time; a write may or may not have happened \
             (retry with the same Idempotency-Key)."
        }
        Code::LimitExceeded => {
            "a limit of the gateway or of Intune was reached (size, depth, cost, count, Graph \
             request budget, 10 files, 1 MB per file): ask for less."
        }
        Code::InternalServerError => {
            "a bug in the gateway; the detail is in its log, never in the answer."
        }
    }
}

/// The other extensions an error may carry, and what each holds.
const EXTENSIONS: [(&str, &str); 8] = [
    ("argument", "the argument at fault (BAD_USER_INPUT)."),
    ("status", "the HTTP status Microsoft Graph answered with."),
    (
        "graphCode",
        "Graph's own error code, e.g. ResourceNotFound.",
    ),
    (
        "requestId",
        "Graph's request-id: quote it to Microsoft support.",
    ),
    (
        "clientRequestId",
        "the client-request-id the gateway sent to Graph (also the response's \
         client-request-id header).",
    ),
    (
        "intuneCode",
        "Intune's CustomApiErrorPhrase, often its only machine-readable reason, e.g. \
         ContentParsingException.",
    ),
    (
        "innerCodes",
        "the codes of Graph's innererror chain, outermost first.",
    ),
    (
        "retryAfter",
        "whole seconds to wait before retrying (THROTTLED).",
    ),
];

/// The schema description: what the API is, then the error codes and extensions.
pub(crate) fn schema_description() -> String {
    let mut text = String::from(
        "Intune group policy definition files (uploaded ADMX files) and the operations Intune \
         records on them, over Microsoft Graph.\n\n\
         Scalars travel as JSON strings: DateTime (RFC 3339) and Base64 (RFC 4648 section 4).\n\n\
         Every error has `extensions.code`, one of:\n",
    );
    for &code in Code::ALL {
        text.push_str(&format!("- {}: {}\n", code.as_str(), meaning(code)));
    }
    text.push_str("\nOther extensions, present when they apply:\n");
    for (name, what) in EXTENSIONS {
        text.push_str(&format!("- {name}: {what}\n"));
    }
    text.trim_end().to_owned()
}

/// `sdl` with the schema description written above its `schema {` block, indented as the SDL
/// indents nothing at that level.
pub(crate) fn describe_schema(sdl: &str) -> String {
    let block = format!("\"\"\"\n{}\n\"\"\"\n", schema_description());
    match sdl.find("\nschema {") {
        Some(at) => format!("{}{block}{}", &sdl[..=at], &sdl[at + 1..]),
        None => sdl.to_owned(),
    }
}
