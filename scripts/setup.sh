#!/usr/bin/env bash
# Installs what spud needs to build: the wasm32-wasip2 Rust target, and rustfmt and clippy for
# the checks. Idempotent. What the tests need besides is scripts/setup-tests.sh.
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "setup: adding the wasm32-wasip2 target" >&2
  rustup target add wasm32-wasip2 >&2
fi
# Formatting and lint checks (`.ci/run`).
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    echo "setup: adding the $component component" >&2
    rustup component add "$component" >&2
  fi
done
