#!/usr/bin/env bash
# The browser example: serves the small shop in examples/browser/site on 127.0.0.1:8737 and
# runs the offline plan examples/browser/plan.toml through the `browser` plugin (log in, find
# an item, fill the order form, read the confirmation), in a fresh home under the target dir.
# Not part of the demo: starting Chromium takes longer than the whole demo.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
"$root/scripts/setup-browser.sh"
[ -f "$target_dir/guests/browser.wasm" ] || "$root/scripts/build-guests.sh"
cargo build -p spud >&2

home="$target_dir/browser-example-home"
rm -rf "$home"
spud="$target_dir/debug/spud"
export SPUD_HOME="$home" SPUD_POLICY="$root/examples/browser/policy.toml"

python3 -m http.server 8737 --bind 127.0.0.1 --directory "$root/examples/browser/site" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8737), 1)' 2>/dev/null && break
  sleep 0.1
done

"$spud" tools add "$target_dir/guests/browser.wasm" >/dev/null
"$spud" grants
"$spud" run --plan "$root/examples/browser/plan.toml"
"$spud" audit verify
