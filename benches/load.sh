#!/usr/bin/env bash
# The load benchmark in one command: installs wrk (Debian) and the Apollo Server comparison's
# locked npm packages if missing, then builds in release and runs every server under load.
# LOAD_SECONDS=N sets each run's length (default 5); LOAD_ONLY=replicas runs only the replica
# scenarios (Redis), LOAD_ONLY=graph only graph mode (LOAD_COMPARE_BIN=path adds another
# gateway binary to it, for an A/B in one run). Prints a Markdown table and the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null 2>&1; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
fi
if ! command -v redis-server >/dev/null 2>&1; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
fi
if [ ! -d benches/apollo/node_modules ]; then
  (cd benches/apollo && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo bench --locked --bench load
