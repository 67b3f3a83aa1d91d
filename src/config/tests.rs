//! The flags as operators and scripts know them: issue 20 regrouped the struct, so every flag
//! `--help` listed before it (`help_flags.txt`, taken from `--help` on main before the change)
//! must still be there with the same name, variable and default.

use clap::{CommandFactory, Parser};

use super::Config;

/// `(flag, env, default)` per line of `help_flags.txt`; `-` for none.
fn flags_before_issue_20() -> Vec<(&'static str, &'static str, &'static str)> {
    include_str!("help_flags.txt")
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut next = || parts.next().expect("three fields");
            (next(), next(), next())
        })
        .collect()
}

#[test]
fn help_keeps_every_flag_with_its_variable_and_default() {
    let expected = flags_before_issue_20();
    assert!(expected.len() > 70, "the list was read: {}", expected.len());
    let mut command = Config::command();
    let help = command.render_long_help().to_string();
    for (flag, env, default) in expected {
        let long = flag.trim_start_matches("--");
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))
            .unwrap_or_else(|| panic!("{flag} is gone"));
        assert!(!arg.is_hide_set(), "{flag} is hidden");
        let actual_env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(actual_env.as_deref(), Some(env), "{flag}'s variable");
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        // A switch's implicit `false` is not shown in `--help`, so not listed either.
        let actual_default = if defaults.is_empty() || !arg.get_action().takes_values() {
            "-".to_owned()
        } else {
            defaults.join(",")
        };
        assert_eq!(actual_default, default, "{flag}'s default");
        assert!(help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")));
        // `[env: NAME=value]`, or `[env: NAME]` for a secret whose value is never shown.
        assert!(
            help.contains(&format!("[env: {env}=")) || help.contains(&format!("[env: {env}]")),
            "{env} not in --help"
        );
    }
}

#[test]
fn export_store_is_a_subcommand_taking_the_store_flags_before_or_after_it() {
    for args in [
        &[
            "gpo-gateway",
            "export-store",
            "out.json",
            "--store-path",
            "db.sqlite",
        ][..],
        &[
            "gpo-gateway",
            "--store-path",
            "db.sqlite",
            "export-store",
            "out.json",
        ][..],
    ] {
        let config = Config::try_parse_from(args).expect("parsed");
        let Some(super::Command::ExportStore(export)) = &config.command else {
            panic!("not export-store: {:?}", config.command);
        };
        assert_eq!(export.file, std::path::Path::new("out.json"));
        assert_eq!(
            config.store.store_path.as_deref(),
            Some(std::path::Path::new("db.sqlite")),
            "{args:?}"
        );
    }
    let missing = Config::try_parse_from(["gpo-gateway", "export-store"]).expect_err("no FILE");
    assert!(missing.to_string().contains("<FILE>"), "{missing}");
}

#[test]
fn the_old_export_store_flag_still_works_but_is_hidden() {
    let config = Config::try_parse_from(["gpo-gateway", "--export-store", "out.json"])
        .expect("the deprecated flag parses");
    assert_eq!(
        config.store.export_store.as_deref(),
        Some(std::path::Path::new("out.json"))
    );
    assert!(config.command.is_none());
    let help = Config::command().render_long_help().to_string();
    assert!(!help.contains("--export-store"), "{help}");
    assert!(
        help.contains("export-store"),
        "the subcommand is listed: {help}"
    );
}
