#!/usr/bin/env bash
# Schemathesis against the running server's own OpenAPI document, as admin,
# coordinator and resident, on SQLite (and on PostgreSQL when reachable).
# Installs the pinned schemathesis into a virtualenv under $HOME/.cache.
#
#   scripts/fuzz-api.sh [--examples N] [--bin PATH]
#
# Exits non-zero if schemathesis reports any failure. Every built-in check
# runs except positive_data_acceptance, which scripts/fuzz_hooks.py replaces
# with the same check that also knows the few rules OpenAPI cannot state
# (across fields, roles or rows: each listed there with its reason).
# ZD_FUZZ_EXCLUDE overrides the excluded checks.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=10
EXCLUDE="${ZD_FUZZ_EXCLUDE-positive_data_acceptance}"
BIN="${ZHONGDUI_BIN:-${CARGO_TARGET_DIR:-target}/debug/zhongdui}"
while [ $# -gt 0 ]; do
  case "$1" in
    --examples) EXAMPLES="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
VENV="${ZD_FUZZ_VENV:-$HOME/.cache/zd-fuzz-venv}"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$(sed -n 's/^schemathesis==//p' scripts/fuzz-requirements.txt)"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r scripts/fuzz-requirements.txt
fi
ST="$VENV/bin/schemathesis"
export SCHEMATHESIS_HOOKS="$PWD/scripts/fuzz_hooks.py"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

json_field() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

fuzz_backend() {
  local name="$1" url="$2"
  local port; port="$(free_port)"
  local dir="$work/$name"; mkdir -p "$dir"
  (cd "$dir" && DATABASE_URL="$url" "$BIN" create-admin --phone 13800000000 --password admin-password >/dev/null)
  # Limits high enough for a fuzzer; the limits themselves are tested in tests/tests/abuse.rs.
  # `exec`, so that the pid kept is the server's own (killed at exit).
  (cd "$dir" && DATABASE_URL="$url" RUST_LOG=error ZD_AUTH__LOGIN_BURST=100000 ZD_AUTH__LOGIN_PER_MINUTE=1000000 \
     ZD_LIMITS__REGISTER_BURST=100000 ZD_LIMITS__ORDERS_BURST=100000 ZD_LIMITS__ORDERS_PER_ADDRESS_BURST=100000 \
     ZD_LIMITS__STAFF_ORDERS_BURST=100000 ZD_LIMITS__MAX_OPEN_ORDERS=0 ZD_LIMITS__DUPLICATE_WINDOW_SECS=0 \
     exec "$BIN" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1) &
  pids+=($!)
  local base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
  login() { curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
              -d "{\"phone\":\"$1\",\"password\":\"$2\"}" | json_field '["token"]'; }
  local admin; admin="$(login 13800000000 admin-password)"
  local team; team="$(curl -sf -X POST "$base/api/v1/teams" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
      -d '{"name":"模糊测试队","kind":"community_patrol"}' | json_field '["id"]')"
  curl -sf -X POST "$base/api/v1/coordinators" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
      -d "{\"phone\":\"13900000001\",\"display_name\":\"协调员\",\"password\":\"coord-pass\",\"team_ids\":[\"$team\"]}" >/dev/null
  curl -sf -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' \
      -d '{"phone":"13700000001","password":"resident-pw","display_name":"居民"}' >/dev/null
  local coord; coord="$(login 13900000001 coord-pass)"
  local resident; resident="$(login 13700000001 resident-pw)"
  local failed=0
  for role in admin coord resident; do
    local token="${!role}"
    echo "==> schemathesis: $name as $role ($EXAMPLES examples per operation)"
    local exclude=()
    [ -n "$EXCLUDE" ] && exclude=(--exclude-checks "$EXCLUDE")
    if ! "$ST" run "$base/api/openapi.json" --checks all "${exclude[@]}" --max-examples "$EXAMPLES" --workers 1 \
         --phases examples,coverage,fuzzing --seed 1 \
         -H "Authorization: Bearer $token" >"$dir/st-$role.log" 2>&1; then
      failed=1
      sed -n '/FAILURES/,$p' "$dir/st-$role.log" | head -200
    fi
    tail -3 "$dir/st-$role.log"
  done
  return $failed
}

status=0
fuzz_backend sqlite "sqlite://$work/fuzz.db?mode=rwc" || status=1
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  db="zd_t_fuzz_$$"
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $db" >/dev/null
  fuzz_backend postgres "postgres://postgres@127.0.0.1:5432/$db" || status=1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
fi
exit $status
