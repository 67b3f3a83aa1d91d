//! `schema.graphql` must be exactly the live schema's SDL.

use std::sync::Arc;

use gpo_gateway::backend::Backend;

#[test]
fn schema_graphql_matches_the_live_schema() {
    let backend: Arc<dyn Backend> = Arc::new(crate::support::helpers::demo_store());
    let schema = gpo_gateway::graphql::build_schema(backend, limits());
    let live = gpo_gateway::graphql::client_sdl(&schema);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &live).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == live,
        "schema.graphql differs from the live schema.\n\
         If the change is intended, rewrite it with:\n\n    UPDATE_SCHEMA=1 cargo test --test api schema\n\n\
         and review the diff (the contract in ../shared/contract.graphql must not break).\n\n\
         --- live SDL ---\n{live}"
    );
}

/// A comparable shape of every definition: fields with argument and result types, enum
/// members, input fields. Descriptions and order do not matter; names and types do.
fn shape(sdl: &str) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let doc =
        async_graphql::parser::parse_schema(without_schema_description(sdl)).expect("valid SDL");
    let mut shape = std::collections::BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let ty = ty.node;
        let members: std::collections::BTreeSet<String> = match ty.kind {
            TypeKind::Object(o) => o
                .fields
                .into_iter()
                .map(|f| {
                    let f = f.node;
                    let mut args: Vec<String> = f
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    args.sort();
                    format!("{}({}): {}", f.name.node, args.join(", "), f.ty.node)
                })
                .collect(),
            TypeKind::Enum(e) => e
                .values
                .into_iter()
                .map(|v| v.node.value.node.to_string())
                .collect(),
            TypeKind::InputObject(i) => i
                .fields
                .into_iter()
                .map(|f| format!("{}: {}", f.node.name.node, f.node.ty.node))
                .collect(),
            TypeKind::Scalar => Default::default(),
            other => [format!("{other:?}")].into_iter().collect(),
        };
        shape.insert(ty.name.node.to_string(), members);
    }
    shape
}

#[test]
fn the_live_schema_has_exactly_the_contract_s_names_and_types() {
    let contract = include_str!("contract.graphql");
    if let Ok(shared) = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contract.graphql"),
    ) {
        assert_eq!(
            shared, contract,
            "tests/api/contract.graphql is a copy of ../shared/contract.graphql"
        );
    }
    let backend: Arc<dyn Backend> = Arc::new(crate::support::helpers::demo_store());
    let schema = gpo_gateway::graphql::build_schema(backend, limits());
    let live = shape(&gpo_gateway::graphql::client_sdl(&schema));
    for (name, members) in shape(contract) {
        let actual = live
            .get(&name)
            .unwrap_or_else(|| panic!("type {name} is missing"));
        assert_eq!(actual, &members, "type {name} differs from the contract");
    }
}

/// `sdl` up to its schema description: async-graphql's parser predates schema descriptions
/// (graphql-js, which code generators use, reads them), and the types all come before it.
fn without_schema_description(sdl: &str) -> &str {
    sdl.rfind("\"\"\"\nschema {")
        .and_then(|end| sdl[..end].rfind("\n\"\"\"\n").map(|start| &sdl[..=start]))
        .unwrap_or(sdl)
}

#[test]
fn the_schema_describes_every_error_code_and_extension_and_its_scalars() {
    let sdl = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql"),
    )
    .expect("schema.graphql");
    let description = &sdl[without_schema_description(&sdl).len()..];
    assert!(
        description
            .trim_end()
            .ends_with("subscription: Subscription\n}")
    );
    // Every code the contract lists, with its meaning on its line.
    let contract = include_str!("contract.graphql");
    let codes: Vec<&str> = contract
        .lines()
        .skip_while(|line| !line.contains("Error codes"))
        .skip(1)
        .flat_map(|line| line.trim_start_matches('#').split(','))
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .collect();
    assert_eq!(codes.len(), 13, "{codes:?}");
    for code in codes {
        let line = description
            .lines()
            .find(|line| line.starts_with(&format!("- {code}: ")))
            .unwrap_or_else(|| panic!("{code} is not described:\n{description}"));
        assert!(line.len() > code.len() + 20, "{line}");
    }
    for extension in [
        "code",
        "argument",
        "status",
        "graphCode",
        "requestId",
        "clientRequestId",
        "intuneCode",
        "innerCodes",
        "retryAfter",
    ] {
        assert!(
            description.contains(extension),
            "{extension} is not described"
        );
    }
    assert!(sdl.contains(
        "scalar DateTime @specifiedBy(url: \"https://datatracker.ietf.org/doc/html/rfc3339#section-5.6\")"
    ));
    assert!(sdl.contains(
        "scalar Base64 @specifiedBy(url: \"https://datatracker.ietf.org/doc/html/rfc4648#section-4\")"
    ));
    assert!(sdl.contains("up to 7\nfractional digits") && sdl.contains("UTC"));
    assert!(sdl.contains("RFC 4648 section 4") && sdl.contains("padding"));
}

/// The schema's limits as the gateway starts without flags.
fn limits() -> gpo_gateway::graphql::Limits {
    gpo_gateway::graphql::Limits::new(&gpo_gateway::Config::defaults().query)
}
