#!/usr/bin/env bash
# Installs the real servers the connector tests start on 127.0.0.1: Debian's redis-server and
# PostgreSQL (and redis-cli and psql, the native clients the tests check the end state with and
# the benchmark compares with), and into a venv under the target directory (PyPI): FastAPI and
# uvicorn, for the REST API that publishes its own OpenAPI document (tests/servers/shop_api.py);
# aiosmtpd, the SMTP server the email connector is tested against (tests/servers/mail_sink.py);
# Radicale, the CalDAV and CardDAV server of the calendar and contacts connectors; Debian's
# Dovecot (dovecot-imapd), the IMAP server of the mailbox connector (started by the tests as an
# unprivileged process with its own configuration); WsgiDAV on
# cheroot, the WebDAV file server of the webdav connector (tests/servers/webdav_server.py);
# moto's server and boto3, the S3 API of the s3 connector (tests/servers/s3_server.py), which
# checks request signatures, and its native client; `git`, which makes the repositories the
# git connector is tested on, and poppler's `pdftotext`, the native side of the pdf benchmark.
# Idempotent and quick when installed: one
# `apt-get update` only when a package is missing, then all missing packages in one install.
set -euo pipefail

# Debian packages: a command each provides, and the package.
debian=(
  "redis-server redis-server"
  "redis-cli redis-tools"
  "psql postgresql-client"
  "git git"
  "pdftotext poppler-utils"
)
missing=()
for entry in "${debian[@]}"; do
  read -r cmd package <<<"$entry"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done
# The PostgreSQL server: Debian keeps initdb and pg_ctl off the PATH, under its version.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=("postgresql")
fi
# Dovecot's IMAP server (dovecot-core alone has the master but not the IMAP process).
if [ ! -x /usr/lib/dovecot/imap ]; then
  missing+=("dovecot-imapd")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: ${missing[*]} missing and apt-get is not available; install them" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The tests start their own servers; stop the ones the packages' service scripts started.
  if command -v service >/dev/null 2>&1; then
    $sudo service redis-server stop >/dev/null 2>&1 || true
    $sudo service postgresql stop >/dev/null 2>&1 || true
    $sudo service dovecot stop >/dev/null 2>&1 || true
  fi
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
venv="$target_dir/py-connectors"
fastapi="0.163.2"
uvicorn="0.54.0"
aiosmtpd="1.4.6"
radicale="3.9.0"
wsgidav="4.4.0"
cheroot="11.1.2"
moto="5.2.5"
boto3="1.44.5"

# A venv copied from another target directory (a copy, or hard links) still runs the other
# one's pip, which would install there: start this one afresh (removing it only unlinks).
if [ -f "$venv/bin/pip" ] && ! head -n 1 "$venv/bin/pip" | grep -qF "$venv/bin/"; then
  echo "setup: $venv was copied from another venv; making it afresh" >&2
  rm -rf "$venv"
fi

have() {
  "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}
if [ "$(have fastapi)" != "$fastapi" ] || [ "$(have uvicorn)" != "$uvicorn" ] \
  || [ "$(have aiosmtpd)" != "$aiosmtpd" ] || [ "$(have radicale)" != "$radicale" ] \
  || [ "$(have wsgidav)" != "$wsgidav" ] || [ "$(have cheroot)" != "$cheroot" ] \
  || [ "$(have moto)" != "$moto" ] || [ "$(have boto3)" != "$boto3" ]; then
  echo "setup: installing FastAPI $fastapi, uvicorn $uvicorn, aiosmtpd $aiosmtpd, Radicale $radicale, WsgiDAV $wsgidav, cheroot $cheroot, moto $moto and boto3 $boto3 into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "fastapi==$fastapi" "uvicorn==$uvicorn" \
    "aiosmtpd==$aiosmtpd" "radicale==$radicale" "wsgidav==$wsgidav" "cheroot==$cheroot" \
    "moto[server]==$moto" "boto3==$boto3"
fi
