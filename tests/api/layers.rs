//! Layers point down only: the floors below the GraphQL layer (the backends, the domain, the
//! error and refusal types, idempotency's key store) never import HTTP, GraphQL or their engines. Read from
//! the source tree, so an upward import fails the suite the day it comes back.

use std::path::{Path, PathBuf};

/// The floors that must not look up, relative to the crate root.
const LOWER_FLOORS: [&str; 5] = [
    "src/backend",
    "src/domain",
    "src/error.rs",
    "src/idempotency",
    "src/refusal.rs",
];

/// Paths that name a layer above, or an engine only the upper layers may use.
const UPWARD: [&str; 4] = ["crate::http", "crate::graphql", "async_graphql", "axum::"];

/// Modules of the crate root a lower floor must not reach through `crate::{...}`.
const UPPER_MODULES: [&str; 2] = ["http", "graphql"];

/// Each upward reference in `source`, as `line: text`. Comment lines are skipped: a module
/// header may name the layer it serves.
fn upward_imports(source: &str) -> Vec<String> {
    let code: Vec<(usize, &str)> = source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .collect();
    let mut found = Vec::new();
    for (number, line) in &code {
        if UPWARD.iter().any(|path| line.contains(path)) {
            found.push(format!("{}: {}", number + 1, line.trim()));
        }
    }
    // `use crate::{http::X, ...}` names the module inside a group, perhaps across lines.
    let joined: String = code.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("\n");
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("crate::{") {
        let group = &rest[start + "crate::{".len()..];
        let end = group.find(';').unwrap_or(group.len());
        let group = &group[..end];
        if group
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|name| UPPER_MODULES.contains(&name))
        {
            found.push(format!("crate::{{{}", group.trim()));
        }
        rest = &rest[start + "crate::{".len()..];
    }
    found
}

fn rust_files(path: &Path, into: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "rs") {
            into.push(path.to_owned());
        }
        return;
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            rust_files(&entry.path(), into);
        }
    }
}

#[test]
fn lower_floors_import_neither_http_nor_graphql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for floor in LOWER_FLOORS {
        rust_files(&root.join(floor), &mut files);
    }
    // Guards against a moved folder making this test read nothing.
    assert!(
        files.len() > 40,
        "only {} files found under the lower floors",
        files.len()
    );
    assert!(files.iter().any(|f| f.ends_with("src/error.rs")));
    let mut offenders = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("source file readable");
        for hit in upward_imports(&source) {
            offenders.push(format!(
                "{}:{hit}",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "upward imports from a lower floor:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_layer_check_sees_each_form_of_upward_import() {
    for upward in [
        "use crate::http::idempotency::Claim;",
        "use crate::graphql::errors;",
        "use async_graphql::ErrorExtensions;",
        "#[derive(async_graphql::Enum)]",
        "fn f() -> axum::response::Response { todo!() }",
        "use crate::{domain::Guid, http::AppState};",
        "use crate::{\n    error::Error,\n    graphql,\n};",
    ] {
        assert!(!upward_imports(upward).is_empty(), "not caught: {upward}");
    }
    for fine in [
        "use crate::domain::Guid;",
        "use crate::{domain::Guid, error::Error};",
        "use http::StatusCode;",
        "//! Serves the GraphQL layer (`crate::graphql`) and `async_graphql`'s types.",
        "let url = \"https://graph.microsoft.com\";",
        "use crate::backend::http_client;",
    ] {
        assert!(upward_imports(fine).is_empty(), "flagged: {fine}");
    }
}

/// Lines of `source` that name the whole start-up `Config` (the identifier itself, not a
/// group such as `StoreConfig`). Comment lines are skipped.
fn whole_config_uses(source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| {
            line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == "Config")
        })
        .map(|(number, line)| format!("{}: {}", number + 1, line.trim()))
        .collect()
}

#[test]
fn lower_floors_are_handed_their_own_config_group_never_the_whole_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for floor in LOWER_FLOORS {
        rust_files(&root.join(floor), &mut files);
    }
    assert!(files.len() > 40, "only {} files found", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("source file readable");
        for hit in whole_config_uses(&source) {
            let shown = file.strip_prefix(root).unwrap_or(file).display();
            offenders.push(format!("{shown}:{hit}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "the whole Config below the top layers:\n{}",
        offenders.join("\n")
    );
    for whole in [
        "use crate::config::Config;",
        "pub fn new(config: &crate::Config) -> Self {",
        "let config = Config::defaults();",
        "use crate::{config::Config, error::Error};",
    ] {
        assert!(!whole_config_uses(whole).is_empty(), "not caught: {whole}");
    }
    for group in [
        "use crate::config::StoreConfig;",
        "use redis::aio::ConnectionManagerConfig;",
        "//! built from a `Config` group",
    ] {
        assert!(whole_config_uses(group).is_empty(), "flagged: {group}");
    }
}
