#!/usr/bin/env bash
# Installs Debian's headless Chromium (`chromium-headless-shell`), the browser behind the
# `spud:browser` host capability and its tests. Idempotent: the package index is refreshed and
# the package installed only when the binary is missing.
#
# The binary spud looks for, in order: $SPUD_CHROMIUM, chromium-headless-shell, chromium.
set -euo pipefail

if command -v chromium-headless-shell >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: chromium-headless-shell is missing and apt-get is not available; install it or set SPUD_CHROMIUM" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "setup: installing chromium-headless-shell (Debian)" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell >&2
command -v chromium-headless-shell >/dev/null
