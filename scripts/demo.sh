#!/usr/bin/env bash
# spud's main job on its embedded default: set up (wasm32-wasip2 target, guest components, the
# spud binary), register the first-party plugins in a fresh home, show their grants under
# examples/policy.toml, run calls over examples/sample, show two denials, verify the audit log.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build-guests.sh
echo "demo: building spud" >&2
cargo build -q -p spud
target="${CARGO_TARGET_DIR:-target}"
spud="$target/debug/spud"
export SPUD_HOME="$target/demo-home"
export SPUD_POLICY="examples/policy.toml"
rm -rf "$SPUD_HOME"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }
run() { step "$@"; "${@:2}"; }
expect_exit() { # expected-code title cmd...
  local want=$1; shift
  step "$@"
  set +e; "${@:2}"; local got=$?; set -e
  echo "(exit code $got)"
  [ "$got" -eq "$want" ] || { echo "demo: expected exit code $want, got $got" >&2; exit 1; }
}

for p in fs http json; do
  run "register the $p plugin (validate, precompile, record sha256)" "$spud" tools add "$target/guests/$p.wasm"
done
run "every tool, named plugin.function" "$spud" tools list
run "what each plugin requested, was granted, and may use" "$spud" grants
run "list the sample data (read-only grant)" "$spud" call fs.list '{"path": "/data"}'
run "search it" "$spud" call fs.search '{"path": "/data", "pattern": "TODO"}'
inventory=$("$spud" call fs.read '{"path": "/data/inventory.json"}')
doc=$(printf '%s' "$inventory" | python3 -c 'import json,sys; print(json.load(sys.stdin)["content"])')
run "query the inventory with JSONPath" "$spud" call json.query "{\"document\": $doc, \"path\": \"\$.items[?@.kind == 'potato'].name\"}"
expect_exit 3 "denied: write into a read-only grant" "$spud" call fs.write '{"path": "/data/new.txt", "content": "x"}'
expect_exit 3 "denied: HTTP to a host no grant allows" "$spud" call http.fetch '{"url": "https://example.com/"}'
expect_exit 2 "invalid input is refused before the tool runs" "$spud" call fs.read '{"path": 42}'
run "the audit log: every call and capability decision, hash-chained" "$spud" audit tail -n 3
run "verify the chain" "$spud" audit verify
run "the agent loop, offline, on the demo plan (parallel steps, a backtrack, a written report)" "$spud" run --plan examples/demo-plan.toml
run "the run as a plan tree" "$spud" runs show last
