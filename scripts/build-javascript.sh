#!/usr/bin/env bash
# Builds the first-party `javascript` plugin (plugins/javascript/app.js) into
# <target dir>/guests/javascript.wasm with componentize-js (StarlingMonkey), through its JS API
# (plugins/javascript/build.mjs). componentize-js is installed with npm, at a pinned version,
# into <target dir>/js-build (never globally). Cached: the build is skipped when the plugin's
# sources, the WIT and the componentize-js version are unchanged (a stamp file holds their digest).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
prefix="$target_dir/js-build"
version="0.23.0"
package="@bytecodealliance/componentize-js"
out="$target_dir/guests/javascript.wasm"
stamp="$target_dir/guests/javascript.stamp"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-javascript: '$tool' is not installed; install Node.js (18 or newer) to build the javascript plugin" >&2
    exit 1
  fi
done

installed="$prefix/node_modules/$package/package.json"
if [ ! -f "$installed" ] || [ "$(node -p "require('$installed').version" 2>/dev/null)" != "$version" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "$package@$version" >&2
fi

digest="$(cat plugins/javascript/app.js plugins/javascript/build.mjs plugins/javascript/wit/*.wit \
  plugins/javascript/wit/deps/*/*.wit | sha256sum | cut -d' ' -f1)-$version"
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  echo "build-javascript: $out is up to date"
  exit 0
fi
mkdir -p "$target_dir/guests"
node plugins/javascript/build.mjs "$prefix/node_modules" "$out.tmp"
mv "$out.tmp" "$out"
echo "$digest" >"$stamp"
echo "build-javascript: $out ($(wc -c <"$out") bytes)"
