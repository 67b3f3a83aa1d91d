#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: repeatable on a busy machine where
# req/s are not. Runs the release gateway under callgrind twice, with FEW and MANY requests of
# one scenario over one keep-alive connection, and prints (MANY run - FEW run) / (MANY - FEW),
# so start-up and shutdown cancel out. Needs valgrind and python3.
#
#   bash benches/callgrind.sh [by-id|apq|list|page|aliases|graph|graph-100] [extra gateway flags...]
#
# `list` asks for `first: 100` of a demo file's 3 operations; `page` first adds 100 operations
# to another demo file (in both runs, so they cancel out) and lists a full page of 100;
# `aliases` adds the same 100 and looks them up by id in one query of 100 aliases (one batch).
# `graph` is the by-id lookup in graph mode and `graph-100` 100 aliased lookups there, both
# against a small Graph (python, outside valgrind) whose file holds 101 operations, as the
# load benchmark's does; the gateway is started with `--backend graph` and its URL.
#
# e.g. `bash benches/callgrind.sh by-id --document-cache-size 0` prices the parsed-document
# cache. Profiles stay in target/callgrind/ for `callgrind_annotate`. GATEWAY_BIN=path measures
# that binary instead of building (a copy of an earlier build, to compare before and after);
# TAG=name keeps its profiles apart (target/callgrind/name/).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-by-id}"
shift || true
FEW="${FEW:-50}"
MANY="${MANY:-250}"
bin="${GATEWAY_BIN:-target/release/gpo-gateway}"
[ -n "${GATEWAY_BIN:-}" ] || cargo build --locked --release --bin gpo-gateway
out="target/callgrind/${TAG:-$scenario}"
mkdir -p "$out"

upstream_pid=""
case "$scenario" in
  graph|graph-100)
    rm -f "$out/upstream.port"
    python3 - "$out/upstream.port" <<'PY' &
import http.server, json, sys
file = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01"
ids = ["0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01"] + [f"00000000-0000-4000-8000-{n:012d}" for n in range(100)]
def entity(i):
    return {"id": i, "operationType": "upload", "operationStatus": "success",
            "statusDetails": "chrome.admx and en-US/chrome.adml imported: 412 policies",
            "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z"}
body = json.dumps({"@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/groupPolicyUploadedDefinitionFiles(groupPolicyOperations())/$entity",
    "id": file, "displayName": "Contoso Browser", "fileName": "contoso-browser.admx", "languageCodes": ["en-US"],
    "targetPrefix": "contoso", "targetNamespace": "Contoso.Policies.Browser", "policyType": "admxIngested",
    "revision": "1.0", "status": "available", "uploadDateTime": "2025-09-07T08:32:57.5081686Z",
    "lastModifiedDateTime": "2025-09-07T08:32:57.5081686Z", "defaultLanguageCode": "en-US",
    "groupPolicyUploadedLanguageFiles": [], "groupPolicyOperations": [entity(i) for i in ids]}).encode()
class Graph(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Graph)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
    upstream_pid=$!
    trap 'kill "$upstream_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do [ -s "$out/upstream.port" ] && break; sleep 0.1; done
    set -- --backend graph --graph-url "http://127.0.0.1:$(cat "$out/upstream.port")/beta" \
      --tenant-read-budget 1000000 "$@"
    ;;
esac

run() {
  local count="$1" file="$out/$scenario-$1.out" log="$out/$scenario-$1.log"
  shift
  valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$bin" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  local pid=$!
  local url=""
  for _ in $(seq 1 600); do
    # Valgrind's own lines and, in graph mode, the line naming the upstream ("serving
    # http://...") are not the gateway's address.
    url=$(grep -v -e '^==' -e ' serving ' "$log" | grep -o 'http://[0-9.:]*' | head -n1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the gateway did not start: $(cat "$log")" >&2; kill "$pid"; exit 1; }
  python3 - "$url" "$scenario" "$count" <<'PY'
import hashlib, http.client, json, sys, urllib.parse
url, scenario, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = url.split("//")[1]
f, op = "a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01", "0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01"
by_id = "query Op($f: ID!, $id: ID!) { groupPolicyOperation(definitionFileId: $f, id: $id) { id operationType operationStatus statusDetails lastModifiedDateTime } }"
aliased = "query Many($f: ID!) { " + " ".join(f'o{n}: groupPolicyOperation(definitionFileId: $f, id: "00000000-0000-4000-8000-{n:012d}") {{ id operationType operationStatus statusDetails lastModifiedDateTime }}' for n in range(100)) + " }"
listing = "query List($f: ID!) { groupPolicyOperations(definitionFileId: $f, first: 100) { nodes { id operationType operationStatus statusDetails lastModifiedDateTime } pageInfo { hasNextPage endCursor } } }"
conn = http.client.HTTPConnection(host)
headers = {"Content-Type": "application/json", "Authorization": "Bearer benchmark-token"}
def post(query, variables, extensions=None):
    body = {"query": query, "variables": variables}
    if extensions:
        body["extensions"] = extensions
    conn.request("POST", "/graphql", json.dumps(body), headers)
    return conn.getresponse()
page_file = "b2e6d4c3-8c75-4f1a-8d32-4e9f6a7b8c02"
create = "mutation New($f: ID!) { createGroupPolicyOperation(definitionFileId: $f, input: { operationType: UPLOAD, operationStatus: IN_PROGRESS, statusDetails: \"bench\" }) { id } }"
created = []
if scenario in ("page", "aliases"):
    for _ in range(100):
        answer = json.loads(post(create, {"f": page_file}).read())
        created.append(answer["data"]["createGroupPolicyOperation"]["id"])
aliases = "query Many($f: ID!) { " + " ".join(
    f'o{i}: groupPolicyOperation(definitionFileId: $f, id: "{id}") {{ id operationStatus }}'
    for i, id in enumerate(created)
) + " }"
sha = hashlib.sha256(by_id.encode()).hexdigest()
pq = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
post(by_id, {"f": f, "id": op}, pq).read()
get = "/graphql?" + urllib.parse.urlencode({"extensions": json.dumps(pq), "variables": json.dumps({"f": f, "id": op})})
for _ in range(count):
    if scenario in ("by-id", "graph"):
        response = post(by_id, {"f": f, "id": op})
    elif scenario == "graph-100":
        response = post(aliased, {"f": f})
    elif scenario == "list":
        response = post(listing, {"f": f})
    elif scenario == "page":
        response = post(listing, {"f": page_file})
    elif scenario == "aliases":
        response = post(aliases, {"f": page_file})
    elif scenario == "apq":
        conn.request("GET", get)
        response = conn.getresponse()
    else:
        sys.exit(f"unknown scenario {scenario}")
    body = response.read()
    if response.status != 200 or b'"errors"' in body:
        sys.exit(f"bad answer {response.status}: {body[:300]!r}")
PY
  kill -TERM "$pid"
  wait "$pid" || true
  callgrind_annotate "$file" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 } END { print total }'
}

few=$(run "$FEW" "$@")
many=$(run "$MANY" "$@")
echo "$scenario $*: $(( (many - few) / (MANY - FEW) )) instructions per request (callgrind, $FEW vs $MANY requests)"
