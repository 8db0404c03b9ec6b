#!/usr/bin/env bash
# Builds the first-party `python` plugin (plugins/python/app.py) into
# <target dir>/guests/python.wasm with componentize-py, installed from PyPI into a venv under
# the target directory. Cached: the build is skipped when app.py, the WIT and the
# componentize-py version are unchanged (a stamp file holds their digest).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-venv"
version="0.25.1"
out="$target_dir/guests/python.wasm"
stamp="$target_dir/guests/python.stamp"

if [ ! -x "$venv/bin/componentize-py" ] || [ "$("$venv/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $version" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "componentize-py==$version"
fi

digest="$(cat plugins/python/app.py wit/*.wit | sha256sum | cut -d' ' -f1)-$version"
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  echo "build-python: $out is up to date"
  exit 0
fi
mkdir -p "$target_dir/guests"
"$venv/bin/componentize-py" -d wit -w tool componentize -p plugins/python app -o "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
echo "$digest" >"$stamp"
echo "build-python: $out ($(wc -c <"$out") bytes)"
