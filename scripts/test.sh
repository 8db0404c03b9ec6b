#!/usr/bin/env bash
# Runs every test: builds the book and checks its links, builds the guest components (plugins
# and test components) for wasm32-wasip2, then the whole host-side test suite against them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The servers and clients the integration tests run against.
./scripts/setup-tests.sh
# The book (docs/) into target/book; fails on a broken link.
./scripts/build-docs.sh
./scripts/build-guests.sh
# The CLI tests run the spud binary itself: `cargo test` builds it (the `spud` package has an
# integration test, `host/tests/layers.rs`), with the same features as everything else, so no
# dependency is compiled twice (a separate `cargo build -p spud` unified features differently
# and rebuilt much of the tree).
cargo test "$@"
