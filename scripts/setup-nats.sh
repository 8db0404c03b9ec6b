#!/usr/bin/env bash
# Installs Debian's `nats-server` (2.9.x), the JetStream server behind `spud worker`, `spud run
# --nats` and tests/cluster.rs (which starts its own 3-node cluster on 127.0.0.1). Idempotent:
# the package index is refreshed and the package installed only when the binary is missing.
#
# The binary spud's tests look for, in order: $SPUD_NATS_SERVER, nats-server on the PATH.
set -euo pipefail

if command -v nats-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: nats-server is missing and apt-get is not available; install it or set SPUD_NATS_SERVER" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "setup: installing nats-server (Debian)" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nats-server >&2
command -v nats-server >/dev/null
