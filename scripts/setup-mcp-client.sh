#!/usr/bin/env bash
# Installs the official MCP Python SDK (PyPI `mcp`) into a venv under the target directory:
# the real MCP client that tests/mcp.rs and the MCP benchmark drive `spud serve` with.
# Idempotent: skipped when the pinned version is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-mcp"
version="2.3.0"

installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null || true)"
if [ "$installed" != "$version" ]; then
  echo "setup: installing the MCP Python SDK $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "mcp==$version"
fi
