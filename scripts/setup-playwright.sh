#!/usr/bin/env bash
# Installs PyPI `playwright` (its Python client and the driver it ships) into a venv under the
# target directory, for the browser benchmark's comparison only (tests/benches/browser.rs). It
# drives Debian's Chromium (scripts/setup-browser.sh): no browser is downloaded. Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-browser"
version="1.65.2"

installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null || true)"
if [ "$installed" != "$version" ]; then
  echo "setup: installing playwright $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "playwright==$version"
fi
