#!/usr/bin/env bash
# Installs what spud needs to build: the wasm32-wasip2 Rust target. Idempotent.
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
# The MCP client the tests drive `spud serve` with.
"$(dirname "${BASH_SOURCE[0]}")/setup-mcp-client.sh"
# The OCI registry and the oras client the trust-chain tests use.
"$(dirname "${BASH_SOURCE[0]}")/setup-registry.sh"
# A real local model (llama.cpp's server and SmolLM2 weights) for tests/local_model.rs.
"$(dirname "${BASH_SOURCE[0]}")/setup-llm.sh"
# The servers the connector tests run against (a FastAPI app for OpenAPI action groups).
"$(dirname "${BASH_SOURCE[0]}")/setup-connectors.sh"
# Headless Chromium for the browser capability and its tests.
"$(dirname "${BASH_SOURCE[0]}")/setup-browser.sh"
