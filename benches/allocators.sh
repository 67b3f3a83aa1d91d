#!/usr/bin/env bash
# Measures an allocator change without rebuilding: the same release gateway (store mode) runs
# three times at once, with glibc's malloc and with mimalloc or jemalloc preloaded
# (`apt-get install libmimalloc2.0 libjemalloc2`), and wrk drives the by-id lookup at 32
# connections against each in turn, ROUNDS times, so each allocator sees the same machine.
# Prints req/s per round and peak RSS.
#
#   bash benches/allocators.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-3}"
cargo build --locked --release --bin gpo-gateway
lib=/usr/lib/x86_64-linux-gnu
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

start() {
  local name="$1" preload="$2"
  LD_PRELOAD="$preload" target/release/gpo-gateway --listen 127.0.0.1:0 >"$tmp/$name.log" 2>/dev/null &
  pids+=($!)
  echo "$!" >"$tmp/$name.pid"
  for _ in $(seq 1 100); do
    grep -q 'playground: http://' "$tmp/$name.log" && return
    sleep 0.1
  done
  echo "$name did not start" >&2
  exit 1
}

start glibc ""
[ -e "$lib/libmimalloc.so.2" ] && start mimalloc "$lib/libmimalloc.so.2"
[ -e "$lib/libjemalloc.so.2" ] && start jemalloc "$lib/libjemalloc.so.2"

cat >"$tmp/by-id.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query Op($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id operationType operationStatus statusDetails lastModifiedDateTime } }","variables":{"f":"a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01","id":"0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01"}}'
LUA

for round in $(seq 1 "$ROUNDS"); do
  for log in "$tmp"/*.log; do
    name=$(basename "$log" .log)
    url=$(grep -o 'playground: http://[0-9.:]*' "$log" | head -n1 | cut -d' ' -f2)
    rps=$(wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" -s "$tmp/by-id.lua" "$url" | awk '/Requests\/sec/ { print $2 }')
    echo "round $round  $name  $rps req/s"
  done
done
for log in "$tmp"/*.log; do
  name=$(basename "$log" .log)
  echo "$name peak RSS: $(awk '/VmHWM/ { print $2, $3 }' "/proc/$(cat "$tmp/$name.pid")/status")"
done
