#!/usr/bin/env bash
# Builds the guest components (first-party plugins and test components) for wasm32-wasip2
# with the `guest` profile and copies them to <target dir>/guests/<name>.wasm, where the
# name drops the `spud_plugin_` prefix (fs, http, json, browser, hostile, typed).
#
# Environment:
#   GUEST_PACKAGES    space-separated cargo packages to build
#                     (default: spud-plugin-fs spud-plugin-http spud-plugin-json spud-plugin-openapi spud-plugin-sheet spud-plugin-html spud-plugin-feed spud-plugin-webhook spud-plugin-redis spud-plugin-postgres spud-plugin-smtp spud-plugin-imap spud-plugin-calendar spud-plugin-contacts spud-plugin-webdav spud-plugin-s3 spud-plugin-pdf spud-plugin-git spud-plugin-browser hostile typed)
#   CARGO_TARGET_DIR  cargo's target directory (default: <repo>/target); outputs go to its
#                     guests/ subdirectory
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages="${GUEST_PACKAGES:-spud-plugin-fs spud-plugin-http spud-plugin-json spud-plugin-openapi spud-plugin-sheet spud-plugin-html spud-plugin-feed spud-plugin-webhook spud-plugin-redis spud-plugin-postgres spud-plugin-smtp spud-plugin-imap spud-plugin-calendar spud-plugin-contacts spud-plugin-webdav spud-plugin-s3 spud-plugin-pdf spud-plugin-git spud-plugin-browser hostile typed}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
out_dir="$target_dir/guests"

# Installing the target is a no-op when it is already there; a failure (e.g. no network)
# is not fatal as long as the target is installed, and cargo says so clearly if it is not.
if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-wasip2 >/dev/null 2>&1 \
    || echo "build-guests: warning: 'rustup target add wasm32-wasip2' failed; trying the build anyway" >&2
fi

args=()
for package in $packages; do
  args+=(-p "$package")
done
if [ "${#args[@]}" -eq 0 ]; then
  echo "build-guests: GUEST_PACKAGES is empty; nothing to build" >&2
  exit 1
fi

cargo build --target wasm32-wasip2 --profile guest "${args[@]}"

mkdir -p "$out_dir"
for package in $packages; do
  artifact="${package//-/_}"
  src="$target_dir/wasm32-wasip2/guest/$artifact.wasm"
  if [ ! -f "$src" ]; then
    echo "build-guests: $package built no component at $src (is it a cdylib?)" >&2
    exit 1
  fi
  name="${artifact#spud_plugin_}"
  cp "$src" "$out_dir/$name.wasm"
  echo "build-guests: $out_dir/$name.wasm ($(wc -c <"$src") bytes)"
done

# The `python` plugin is built from Python source with componentize-py (cached).
"$root/scripts/build-python.sh"

# The `javascript` plugin is built from JavaScript source with componentize-js (cached).
"$root/scripts/build-javascript.sh"
