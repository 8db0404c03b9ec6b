#!/usr/bin/env bash
# What the trust-chain tests (tests/trust.rs) need: a real OCI registry (Debian's
# `docker-registry`, the CNCF distribution server), `htpasswd` for its basic auth and `openssl`
# for the certificate of the bearer-token service the tests run, plus an
# independent OCI client (PyPI `oras`) in a venv under the target directory, through which the
# tests publish components the way a third party would. Idempotent and quick when installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v htpasswd >/dev/null 2>&1 \
  || ! command -v openssl >/dev/null 2>&1; then
  echo "setup: installing docker-registry, apache2-utils (htpasswd) and openssl" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils openssl >&2
fi

venv="$target_dir/py-oras"
version="0.2.38"
installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("oras"))' 2>/dev/null || true)"
if [ "$installed" != "$version" ]; then
  echo "setup: installing the oras Python client $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "oras==$version"
fi
