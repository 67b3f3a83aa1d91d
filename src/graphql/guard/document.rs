//! Checks on the document as written (not expanded): how many directives it carries, that
//! each is one the schema knows (on `__typename`, fragments and operations too, which
//! async-graphql's validation does not look at), and that federation fields and introspection
//! are only queried when they are on.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, Positioned, ServerError, ServerResult};

use super::measure::INTROSPECTION_ROOTS;
use super::{GuardLimits, refused};
use crate::error::Code;
use crate::refusal::Refusal;

/// The directives a client may use in an operation (the schema defines no custom ones).
pub(crate) const EXECUTABLE_DIRECTIVES: [&str; 2] = ["skip", "include"];
/// The fields federation adds to `Query`.
pub(crate) const FEDERATION_FIELDS: [&str; 2] = ["_service", "_entities"];

/// What a walk over the document collected.
#[derive(Default)]
struct Found {
    directives: usize,
    unknown_directive: Option<(String, Pos)>,
    federation_field: Option<(String, Pos)>,
    introspection: Option<Pos>,
}

impl Found {
    fn directives<'a>(
        &mut self,
        directives: impl IntoIterator<Item = &'a Positioned<async_graphql::parser::types::Directive>>,
    ) {
        for directive in directives {
            self.directives += 1;
            let name = directive.node.name.node.as_str();
            if self.unknown_directive.is_none() && !EXECUTABLE_DIRECTIVES.contains(&name) {
                self.unknown_directive = Some((name.to_owned(), directive.pos));
            }
        }
    }
}

/// Refuses a document with too many directives, an unknown directive, or a federation or
/// introspection field that is switched off.
pub(crate) fn check(document: &ExecutableDocument, limits: &GuardLimits) -> ServerResult<()> {
    let mut found = Found::default();
    // An explicit stack: the walk's depth never depends on the input.
    let mut stack: Vec<&SelectionSet> = Vec::new();
    for (_, operation) in document.operations.iter() {
        found.directives(&operation.node.directives);
        for variable in &operation.node.variable_definitions {
            found.directives(&variable.node.directives);
        }
        stack.push(&operation.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        found.directives(&fragment.node.directives);
        stack.push(&fragment.node.selection_set.node);
    }
    while let Some(set) = stack.pop() {
        for item in &set.items {
            found.directives(item.node.directives());
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if !limits.federation
                        && found.federation_field.is_none()
                        && FEDERATION_FIELDS.contains(&name)
                    {
                        found.federation_field = Some((name.to_owned(), item.pos));
                    }
                    if !limits.introspection
                        && found.introspection.is_none()
                        && INTROSPECTION_ROOTS.contains(&name)
                    {
                        found.introspection = Some(item.pos);
                    }
                    stack.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => stack.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    if found.directives > limits.query.max_directives {
        let refusal = Refusal::Directives {
            found: found.directives,
            limit: limits.query.max_directives,
        };
        return Err(refused(&limits.metrics, refusal, None));
    }
    if let Some((name, pos)) = found.unknown_directive {
        return Err(invalid(format!("Unknown directive \"@{name}\"."), pos));
    }
    if let Some(pos) = found.introspection {
        return Err(invalid(
            "GraphQL introspection is not allowed here, but the query contained __schema or \
             __type"
                .to_owned(),
            pos,
        ));
    }
    if let Some((name, pos)) = found.federation_field {
        return Err(invalid(
            format!("Unknown field \"{name}\" on type \"Query\"."),
            pos,
        ));
    }
    Ok(())
}

fn invalid(message: String, pos: Pos) -> ServerError {
    let mut error = ServerError::new(message, Some(pos));
    crate::graphql::ensure_code(&mut error, Code::GraphqlValidationFailed);
    error
}
