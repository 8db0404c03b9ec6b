#!/usr/bin/env bash
# Installs the real servers the connector tests start on 127.0.0.1: FastAPI and uvicorn (PyPI)
# into a venv under the target directory, for the REST API that publishes its own OpenAPI
# document (tests/openapi_server.py). Idempotent: skipped when the pinned versions are there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-connectors"
fastapi="0.163.2"
uvicorn="0.54.0"

have() {
  "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}
if [ "$(have fastapi)" != "$fastapi" ] || [ "$(have uvicorn)" != "$uvicorn" ]; then
  echo "setup: installing FastAPI $fastapi and uvicorn $uvicorn into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "fastapi==$fastapi" "uvicorn==$uvicorn"
fi
