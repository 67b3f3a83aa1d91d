#!/usr/bin/env bash
# The admin app's checks, as .ci/run runs them: install from the lockfile, regenerate the
# GraphQL types and fail if they differ from the committed ones (schema drift), typecheck,
# build for production, then drive the app in headless Chromium against a store-mode gateway
# started with no CORS flag (e2e/run.mjs; screenshot in target/admin-app.png).
# Needs the gateway binary (cargo build) and Debian's Chromium.
set -euo pipefail
app="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$app/../.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

"$repo/scripts/npm-install" "$app"
cd "$app"

echo "--- admin app: codegen drift check"
committed="$(mktemp -d)"
trap 'rm -rf "$committed"' EXIT
cp -r src/gql "$committed/gql"
npm run --silent codegen >/dev/null
if ! diff -r "$committed/gql" src/gql; then
  echo "examples/admin-app/src/gql differs from what schema.graphql generates:" >&2
  echo "run \`npm run codegen\` in examples/admin-app and commit the result" >&2
  exit 1
fi

echo "--- admin app: tsc --noEmit"
npm run --silent typecheck
echo "--- admin app: vite build"
npm run --silent build -- --logLevel warn
echo "--- admin app: Chromium against a store-mode gateway (same origin and cross origin)"
GATEWAY_BIN="${GATEWAY_BIN:-$repo/target/debug/gpo-gateway}" node e2e/run.mjs
