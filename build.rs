//! Embeds the prebuilt GraphiQL playground in the binary, when one has been built.
//!
//! The bundle is built outside cargo by `playground/build.sh` (npm and esbuild; the README's
//! run and test commands call it), so `cargo check`, clippy and rust-analyzer need no Node.
//! This script never runs npm or node: it reads `playground/dist/` (or the directory named by
//! `GPO_GATEWAY_PLAYGROUND_DIST`) and writes `$OUT_DIR/playground_assets.rs`, a table of every
//! file with its URL path, content type and bytes, plus its `.gz` / `.br` copies when the
//! bundle has them. `src/http/playground.rs` serves that table; with no bundle the table is
//! empty and `/` answers a page saying how to build it.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the page's files are served from; `index.html` is served at `/` instead.
const PUBLIC_PATH: &str = "/playground/";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=GPO_GATEWAY_PLAYGROUND_DIST");

    let dist = match env::var_os("GPO_GATEWAY_PLAYGROUND_DIST") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("index.html").is_file(),
                "GPO_GATEWAY_PLAYGROUND_DIST={} holds no playground bundle (no index.html); \
                 build one with `playground/build.sh {}`",
                dir.display(),
                dir.display()
            );
            Some(dir)
        }
        None => {
            let dir = manifest_dir.join("playground/dist");
            Some(dir).filter(|dir| dir.join("index.html").is_file())
        }
    };

    let table = match &dist {
        Some(dir) => {
            println!("cargo:rerun-if-changed={}", dir.display());
            asset_table(dir)
        }
        None => {
            // A path that does not exist would make cargo rerun this script on every build,
            // so watch the folder the bundle will appear in.
            println!("cargo:rerun-if-changed=playground");
            println!(
                "cargo:warning=no playground bundle: `/` will say how to build it \
                 (playground/build.sh, or run the gateway with scripts/run)"
            );
            "/// No bundle was built: the playground page says how to build it.\n\
             pub(super) const BUNDLED: bool = false;\n\
             pub(super) static ASSETS: &[Asset] = &[];\n"
                .to_owned()
        }
    };
    fs::write(out_dir.join("playground_assets.rs"), table)
        .expect("could not write playground_assets.rs into OUT_DIR");
}

/// Rust source of `ASSETS`: every file of `dist` with its precompressed copies.
fn asset_table(dist: &Path) -> String {
    let names: Vec<String> = fs::read_dir(dist)
        .unwrap_or_else(|e| {
            panic!(
                "could not read the playground build {}: {e}",
                dist.display()
            )
        })
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("playground output file names are UTF-8")
                .to_owned()
        })
        // Dotfiles are the build's own bookkeeping (its up-to-date stamp).
        .filter(|name| !name.starts_with('.'))
        .collect();
    let is_variant = |name: &str| {
        [".gz", ".br"].iter().any(|ext| {
            name.strip_suffix(ext)
                .is_some_and(|original| names.iter().any(|n| n == original))
        })
    };
    let mut originals: Vec<&String> = names.iter().filter(|n| !is_variant(n)).collect();
    originals.sort();

    let mut table = String::from(
        "/// A bundle was built and is embedded.\n\
         pub(super) const BUNDLED: bool = true;\n\
         /// Every file of the playground build.\n\
         pub(super) static ASSETS: &[Asset] = &[\n",
    );
    for name in originals {
        let url = if name == "index.html" {
            "/".to_owned()
        } else {
            format!("{PUBLIC_PATH}{name}")
        };
        let variant = |ext: &str| {
            let file = format!("{name}.{ext}");
            if names.contains(&file) {
                format!("Some(include_bytes!({:?}))", absolute(&dist.join(file)))
            } else {
                "None".to_owned()
            }
        };
        writeln!(
            table,
            "    Asset {{ path: {url:?}, content_type: {:?}, identity: include_bytes!({:?}), \
             gzip: {}, brotli: {} }},",
            content_type(name),
            absolute(&dist.join(name)),
            variant("gz"),
            variant("br"),
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    table
}

fn absolute(file: &Path) -> String {
    let absolute = fs::canonicalize(file).expect("playground output file exists");
    absolute
        .to_str()
        .expect("the playground bundle's path is UTF-8")
        .to_owned()
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
