#!/usr/bin/env bash
# Matcher benchmarks: criterion (library) and the peer comparison against
# Redis GEOSEARCH and PostGIS on loopback, on the same synthetic data.
# Not part of CI. Installs and starts what it needs (Debian, run as root).
#
#   scripts/bench-matcher.sh                 # peers at 1M volunteers + criterion
#   scripts/bench-matcher.sh --peers-only    # skip criterion
#   VOLUNTEERS=100000 QUERIES=500 scripts/bench-matcher.sh --peers-only
set -euo pipefail
cd "$(dirname "$0")/.."

VOLUNTEERS="${VOLUNTEERS:-1000000}"
QUERIES="${QUERIES:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zhongdui-matcher-target}"
JOBS="${JOBS:-2}"
PEERS_ONLY=0
[[ "${1:-}" == "--peers-only" ]] && PEERS_ONLY=1

log() { printf '== %s\n' "$*" >&2; }

apt_install() {
  log "installing $*"
  if [[ ! -f /var/lib/apt/periodic/zd-updated ]]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/zd-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Redis -----------------------------------------------------------------
command -v redis-server >/dev/null || apt_install redis-server
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# --- PostgreSQL + PostGIS ----------------------------------------------------
command -v pg_ctlcluster >/dev/null || apt_install postgresql-15
pg_up() { psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; }
if ! pg_up; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 100); do pg_up && break; sleep 0.2; done
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, database test)" >&2; exit 1; }
postgis_ok() {
  psql -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=1 -qtAc \
    'BEGIN; CREATE EXTENSION IF NOT EXISTS postgis; ROLLBACK;' >/dev/null 2>&1
}
if ! postgis_ok; then
  apt_install postgresql-15-postgis-3
  postgis_ok || { echo "CREATE EXTENSION postgis still fails" >&2; exit 1; }
fi

# --- Runs --------------------------------------------------------------------
log "machine: $(nproc) cores, $(uname -srm); $(date -u +%FT%TZ)"
log "peer comparison: $VOLUNTEERS volunteers, $QUERIES queries per kind"
cargo run -q --release -j "$JOBS" -p zhongdui-bench --bin zhongdui-bench -- \
  --volunteers "$VOLUNTEERS" --queries "$QUERIES"

if [[ $PEERS_ONLY == 0 ]]; then
  log "criterion: cargo bench -p zhongdui-matcher"
  cargo bench -j "$JOBS" -p zhongdui-matcher
fi
