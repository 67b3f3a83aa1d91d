//! Builds the offline GraphiQL playground and embeds it in the binary.
//!
//! The page lives in `playground/` (GraphiQL, bundled with esbuild by `playground/build.mjs`).
//! This script installs its npm dependencies from the committed lockfile when they are missing
//! or stale, runs the bundler into `$OUT_DIR/playground`, and writes
//! `$OUT_DIR/playground_assets.rs`: a table of every output file with its URL path, content
//! type and bytes, which `src/http/playground.rs` serves. The binary needs no files beside it.
//!
//! Environment:
//! - `GPO_GATEWAY_NPM` / `GPO_GATEWAY_NODE`: the npm and node programs (default `npm`, `node`).
//! - `GPO_GATEWAY_PLAYGROUND_DIST`: a directory already holding the output of
//!   `node playground/build.mjs <dir>`; when set, neither npm nor node is run.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the page's files are served from; `index.html` is served at `/` instead.
const PUBLIC_PATH: &str = "/playground/";
/// Marks a completed `npm ci`; compared with the lockfile's modification time.
const STAMP: &str = ".gpo-gateway-npm-ci.stamp";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let playground = manifest_dir.join("playground");

    for input in [
        "src",
        "examples",
        "build.mjs",
        "package.json",
        "package-lock.json",
    ] {
        println!("cargo:rerun-if-changed=playground/{input}");
    }
    for var in [
        "GPO_GATEWAY_NPM",
        "GPO_GATEWAY_NODE",
        "GPO_GATEWAY_PLAYGROUND_DIST",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let dist = match env::var_os("GPO_GATEWAY_PLAYGROUND_DIST") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            println!("cargo:rerun-if-changed={}", dir.display());
            dir
        }
        None => {
            let dist = out_dir.join("playground");
            build_playground(&playground, &dist);
            dist
        }
    };

    let table = asset_table(&dist);
    fs::write(out_dir.join("playground_assets.rs"), table)
        .expect("could not write playground_assets.rs into OUT_DIR");
}

/// Installs the npm dependencies when needed, then bundles the page into `dist`.
fn build_playground(playground: &Path, dist: &Path) {
    let npm = tool("GPO_GATEWAY_NPM", "npm");
    let node = tool("GPO_GATEWAY_NODE", "node");

    check_node(&node);

    let node_modules = playground.join("node_modules");
    let lockfile = playground.join("package-lock.json");
    let stamp = node_modules.join(STAMP);
    let installed = modified(&stamp);
    let locked = modified(&lockfile);
    if installed.is_none() || locked.is_none() || installed < locked {
        run(
            Command::new(&npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(playground),
            &format!("{npm} ci --no-audit --no-fund"),
            playground,
        );
        fs::write(&stamp, "npm ci completed for package-lock.json\n")
            .unwrap_or_else(|e| panic!("could not write {}: {e}", stamp.display()));
    }

    run(
        Command::new(&node)
            .arg("build.mjs")
            .arg(dist)
            .current_dir(playground),
        &format!("{node} build.mjs {}", dist.display()),
        playground,
    );
}

/// The program named by `var`, or `default`; `npm` is `npm.cmd` on Windows.
fn tool(var: &str, default: &str) -> String {
    match env::var(var) {
        Ok(value) if !value.trim().is_empty() => value,
        _ if cfg!(windows) && default == "npm" => "npm.cmd".to_owned(),
        _ => default.to_owned(),
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Fails early, with the remedy, when node is missing or too old for esbuild.
fn check_node(node: &str) {
    let output = Command::new(node).arg("--version").output();
    let version = match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => fail(
            &format!("{node} --version"),
            &format!(
                "exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        ),
        Err(e) => fail(&format!("{node} --version"), &not_started(node, &e)),
    };
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major.is_none_or(|m| m < 18) {
        fail(
            &format!("{node} --version"),
            &format!("found Node.js {version}, but 18 or newer is needed"),
        );
    }
}

/// Runs a command to completion; panics with its output when it cannot start or fails.
fn run(command: &mut Command, shown: &str, dir: &Path) {
    match command.output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => fail(
            &format!("{shown} (in {})", dir.display()),
            &format!(
                "exited with {}\n--- stderr ---\n{}\n--- stdout ---\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end(),
                String::from_utf8_lossy(&output.stdout).trim_end(),
            ),
        ),
        Err(e) => fail(
            &format!("{shown} (in {})", dir.display()),
            &not_started(shown, &e),
        ),
    }
}

fn not_started(command: &str, error: &std::io::Error) -> String {
    let program = command.split_whitespace().next().unwrap_or(command);
    format!("could not start `{program}`: {error} (is it installed and on PATH?)")
}

fn fail(command: &str, detail: &str) -> ! {
    panic!(
        "\n\nbuilding the GraphiQL playground failed.\n\
         command: {command}\n\
         {detail}\n\n\
         The playground is bundled from playground/ at build time and needs Node.js and npm.\n\
         Install Node.js 18+ and npm (e.g. `apt-get install nodejs npm`), make sure the \
         npm registry is reachable for the first build, then build again.\n\
         Set GPO_GATEWAY_NPM / GPO_GATEWAY_NODE to use other npm / node programs, or \
         GPO_GATEWAY_PLAYGROUND_DIST to a directory already built with \
         `node playground/build.mjs <dir>`.\n"
    );
}

/// Rust source of `ASSETS`: every file of `dist` as (URL path, content type, bytes).
fn asset_table(dist: &Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .unwrap_or_else(|e| {
            panic!(
                "could not read the playground build {}: {e}",
                dist.display()
            )
        })
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files
            .iter()
            .any(|f| f.file_name() == Some("index.html".as_ref())),
        "the playground build in {} has no index.html",
        dist.display()
    );

    let mut table = String::from(
        "/// Every file of the playground build: (URL path, content type, bytes).\n\
         pub static ASSETS: &[(&str, &str, &[u8])] = &[\n",
    );
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("playground output file names are UTF-8");
        let url = if name == "index.html" {
            "/".to_owned()
        } else {
            format!("{PUBLIC_PATH}{name}")
        };
        let absolute = fs::canonicalize(file).expect("playground output file exists");
        let absolute = absolute.to_str().expect("OUT_DIR is UTF-8");
        writeln!(
            table,
            "    ({url:?}, {:?}, include_bytes!({absolute:?})),",
            content_type(name)
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    table
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("otf") => "font/otf",
        Some("eot") => "application/vnd.ms-fontobject",
        _ => "application/octet-stream",
    }
}
