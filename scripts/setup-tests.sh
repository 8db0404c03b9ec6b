#!/usr/bin/env bash
# What the test suite needs beyond the toolchain: the servers and clients the integration tests
# run against, each on 127.0.0.1 and started by the tests themselves. Called by
# scripts/test.sh; the demo does not need any of it. Idempotent and quick when installed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# The MCP client the tests drive `spud serve` with.
"$here/setup-mcp-client.sh"
# The OCI registry, openssl and the oras client the trust-chain tests use.
"$here/setup-registry.sh"
# A real local model (llama.cpp's server and SmolLM2 weights) for tests/local_model.rs.
"$here/setup-llm.sh"
# The servers the connector tests run against (a FastAPI app for OpenAPI action groups).
"$here/setup-connectors.sh"
# Headless Chromium for the browser capability and its tests.
"$here/setup-browser.sh"
# A JetStream server (a 3-node cluster started by tests/cluster.rs) for scale-out.
"$here/setup-nats.sh"
