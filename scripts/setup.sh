#!/usr/bin/env bash
# Installs what spud needs to build: the wasm32-wasip2 Rust target. Idempotent.
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "setup: adding the wasm32-wasip2 target" >&2
  rustup target add wasm32-wasip2 >&2
fi
# The MCP client the tests drive `spud serve` with.
"$(dirname "${BASH_SOURCE[0]}")/setup-mcp-client.sh"
