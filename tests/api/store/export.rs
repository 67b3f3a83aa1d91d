//! `gpo-gateway export-store FILE` and the deprecated `--export-store FILE` it replaces: the
//! real binary, the store flags before or after the subcommand, the same seed JSON either way.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::helpers::temp_store_path;

/// Runs the binary with `args` until it exits (an export never serves).
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn exported(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the export was written");
    serde_json::from_str(&text).expect("seed JSON")
}

fn file_ids(seed: &Value) -> Vec<String> {
    seed["definitionFiles"]
        .as_array()
        .expect("a list of files")
        .iter()
        .map(|f| f["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[test]
fn the_subcommand_and_the_deprecated_flag_write_the_same_seed() {
    let new = temp_store_path().with_extension("json");
    let old = temp_store_path().with_extension("json");
    let by_subcommand = run(&["export-store", new.to_str().expect("utf-8")]);
    assert!(by_subcommand.status.success(), "{by_subcommand:?}");
    let by_flag = run(&["--export-store", old.to_str().expect("utf-8")]);
    assert!(by_flag.status.success(), "{by_flag:?}");
    let warning = String::from_utf8_lossy(&by_flag.stderr);
    assert!(
        warning.contains("--export-store is deprecated"),
        "{warning}"
    );
    let seed = exported(&new);
    assert!(
        file_ids(&seed).contains(&"a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01".to_owned()),
        "the demo data: {seed}"
    );
    assert_eq!(
        std::fs::read(&new).expect("read"),
        std::fs::read(&old).expect("read"),
        "byte for byte"
    );
    let _ = std::fs::remove_file(&new);
    let _ = std::fs::remove_file(&old);
}

#[test]
fn the_store_flags_apply_before_or_after_the_subcommand() {
    let db = temp_store_path();
    let db_arg = db.to_str().expect("utf-8");
    let after = temp_store_path().with_extension("json");
    let before = temp_store_path().with_extension("json");
    // A new database started without a seed stays empty: the export says so, not the demo.
    let first = run(&[
        "export-store",
        after.to_str().expect("utf-8"),
        "--store-path",
        db_arg,
        "--no-seed",
    ]);
    assert!(first.status.success(), "{first:?}");
    assert!(file_ids(&exported(&after)).is_empty());
    let second = run(&[
        "--store-path",
        db_arg,
        "export-store",
        before.to_str().expect("utf-8"),
    ]);
    assert!(second.status.success(), "{second:?}");
    assert!(file_ids(&exported(&before)).is_empty(), "the same database");
    for path in [&db, &after, &before] {
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn an_unwritable_file_is_a_clear_error_and_a_failure_status() {
    let target = std::env::temp_dir()
        .join(format!("gpo-gateway-missing-{}", uuid::Uuid::new_v4()))
        .join("out.json");
    let out = run(&["export-store", target.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("gpo-gateway: cannot write"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let missing = run(&["export-store"]);
    assert_eq!(missing.status.code(), Some(2), "no FILE: a usage error");
}
