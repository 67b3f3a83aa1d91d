#!/usr/bin/env bash
# Builds the GraphiQL playground bundle the gateway embeds: `playground/build.sh [OUT_DIR]`.
#
# Installs the locked npm packages (scripts/npm-install), then bundles the page with
# build.mjs into OUT_DIR (default playground/dist, git-ignored), with a gzip and a brotli copy
# of each compressible file. Does nothing when the bundle is newer than every file under
# playground/ (node_modules and the bundle aside). `cargo build` embeds whatever bundle it
# finds and never runs this; the README's run and test commands do.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/dist}
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
node=${GPO_GATEWAY_NODE:-node}

"$here/../scripts/npm-install" "$here"

# Written last by a successful build, so an interrupted build is never taken as current.
stamp="$out/.built"
if [ -f "$stamp" ] && [ -z "$(find "$here" \( -path "$here/node_modules" -o -path "$out" \) -prune \
  -o -newer "$stamp" -print -quit)" ]; then
  echo "playground bundle in $out is up to date"
  exit 0
fi
(cd "$here" && "$node" build.mjs "$out")
touch "$stamp"
