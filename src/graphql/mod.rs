//! The GraphQL schema: types, resolvers, the per-request loader, and the extension that gives
//! every error a contract code.

pub mod file_loader;
pub mod file_types;
pub mod loader;
pub mod resolvers;
pub mod types;

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Response, SDLExportOptions, Schema, ServerError, ServerResult, ValidationResult, Variables,
};

pub use file_loader::FileLoader;
pub use loader::OperationLoader;
pub use resolvers::{Mutation, Query, Subscription};

use crate::backend::Backend;
use crate::error::Code;

/// The gateway's schema type.
pub type GatewaySchema = Schema<Query, Mutation, Subscription>;

/// Query limits every operation is held to (each operation of an HTTP batch on its own).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest selection nesting accepted (GraphiQL's introspection query needs about 13).
    pub max_depth: usize,
    /// Highest complexity accepted (each selected field costs 1).
    pub max_complexity: usize,
}

impl From<&crate::Config> for Limits {
    fn from(config: &crate::Config) -> Self {
        Limits {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
        }
    }
}

/// Builds the schema over `backend`. Per-request data (the caller, the loader) is attached to
/// each request by the HTTP layer, never here.
pub fn build_schema(backend: Arc<dyn Backend>, limits: Limits) -> GatewaySchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(backend)
    .enable_federation()
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(32)
    .extension(ErrorCodes)
    .finish()
}

/// The client-facing SDL in a stable, sorted form: what `schema.graphql` holds.
///
/// Federation plumbing (`_entities`, `_service` and their types) is left out: routers use it
/// through `_service { sdl }`, while clients and snapshot tests read the API itself.
pub fn client_sdl(schema: &GatewaySchema) -> String {
    let sdl = schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    );
    let federation_type = |block: &str| {
        block.lines().any(|line| {
            ["scalar _Any", "union _Entity ", "type _Service "]
                .iter()
                .any(|prefix| line.starts_with(prefix))
        })
    };
    sdl.split("\n\n")
        .filter(|block| !federation_type(block))
        .map(|block| {
            block
                .lines()
                .filter(|line| {
                    !line.starts_with("\t_entities(") && !line.starts_with("\t_service:")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Sets `extensions.code` on errors raised before or outside resolvers (parse, validation,
/// limits), which async-graphql leaves without one. Resolver errors already carry theirs.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

/// Gives `error` a code unless it has one.
pub fn ensure_code(error: &mut ServerError, code: Code) {
    if !has_code(error) {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

/// Gives every error still without a code one: request-level problems (unknown operation
/// name, a subscription over HTTP) are the client's; anything at a field path is ours, and its
/// text may be internal, so it is logged and replaced. Used for HTTP responses and for each
/// response of a subscription stream (where the `request` hook does not run).
pub fn finish_errors(response: &mut Response) {
    for error in &mut response.errors {
        if has_code(error) {
            continue;
        }
        if error.path.is_empty() {
            ensure_code(error, Code::BadUserInput);
        } else {
            tracing::error!(message = %error.message, path = ?error.path, "uncoded field error");
            error.message = "Internal server error".to_owned();
            ensure_code(error, Code::InternalServerError);
        }
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
}

fn validation_code(message: &str) -> Code {
    if message.starts_with("Query is too complex")
        || message.starts_with("Query is nested too deep")
    {
        Code::LimitExceeded
    } else if message.starts_with("Invalid value for argument") {
        // Wrong values (usually from variables) are the client's input, as in Apollo Server.
        Code::BadUserInput
    } else {
        Code::GraphqlValidationFailed
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        finish_errors(&mut response);
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut error| {
            let code = if error.message.contains("recursion depth") {
                Code::LimitExceeded
            } else {
                Code::GraphqlParseFailed
            };
            ensure_code(&mut error, code);
            error
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for error in &mut errors {
                let code = validation_code(&error.message);
                ensure_code(error, code);
            }
            errors
        })
    }
}
