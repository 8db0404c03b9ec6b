#!/usr/bin/env bash
# A 3-node NATS JetStream cluster and 3 `spud worker`s on this machine, for trying scale-out:
#
#   scripts/cluster.sh up      # nodes on 127.0.0.1:4222-4224, workers w0..w2
#   spud --policy examples/policy.toml run --plan examples/subagents-plan.toml \
#        --nats nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
#   scripts/cluster.sh down    # stops what `up` started (by the pids it wrote)
#
# Everything lives under target/cluster/: the nodes' JetStream stores (n0..n2), the workers'
# homes (w0..w2, each with the first-party plugins registered), their logs and pids.
# SPUD_POLICY (default examples/policy.toml) is the policy the workers run under; CLUSTER_BASE
# (default 4222) moves the ports. Needs nats-server (scripts/setup-nats.sh), the guests
# (scripts/build-guests.sh) and a built spud (cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
dir="$target/cluster"
base="${CLUSTER_BASE:-4222}"
spud="$target/debug/spud"
policy="${SPUD_POLICY:-examples/policy.toml}"

down() {
  if [ -f "$dir/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$dir/pids"
    rm -f "$dir/pids"
  fi
}

up() {
  ./scripts/setup-nats.sh
  [ -x "$spud" ] || { echo "cluster: $spud is missing: run cargo build" >&2; exit 1; }
  down
  mkdir -p "$dir"
  local routes="" url=""
  for i in 0 1 2; do
    routes="$routes\"nats-route://127.0.0.1:$((base + 2000 + i))\", "
    url="$url,nats://127.0.0.1:$((base + i))"
  done
  url="${url#,}"
  for i in 0 1 2; do
    cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((base + i))
jetstream { store_dir: "$dir/n$i" }
cluster { name: spud, listen: 127.0.0.1:$((base + 2000 + i)), routes: [${routes%, }] }
CONF
    nats-server -c "$dir/n$i.conf" > "$dir/n$i.log" 2>&1 &
    echo $! >> "$dir/pids"
  done
  for i in 0 1 2; do
    home="$dir/w$i"
    mkdir -p "$home"
    for p in fs http json; do
      if [ -f "$target/guests/$p.wasm" ]; then
        "$spud" --home "$home" tools add "$target/guests/$p.wasm" --yes > /dev/null
      fi
    done
    "$spud" --home "$home" --policy "$policy" worker --nats "$url" --name "w$i" --replicas 3 \
      > "$dir/w$i.log" 2>&1 &
    echo $! >> "$dir/pids"
  done
  echo "cluster: 3 nodes and 3 workers up; use --nats $url"
}

case "${1:-}" in
  up) up ;;
  down) down; echo "cluster: down" ;;
  *) echo "usage: scripts/cluster.sh up|down" >&2; exit 2 ;;
esac
