#!/usr/bin/env bash
# Signed status updates per second, group commit (docs/BENCHMARKS.md, "Registry server").
#
# Starts the release server with --demo on loopback on a fresh store (SQLite in a temporary
# data directory, or with DATABASE=postgres://... a fresh schema in that database), then runs
# the update_load generator: COUNT pre-signed distinct requests (signed before the timed
# part) from CONC keep-alive clients, at most SECONDS. Prints updates/s, p50, p99.
#
#   server/load/updates.sh                                               # SQLite
#   DATABASE=postgres://postgres@127.0.0.1:5432/test server/load/updates.sh
#   COUNT=100000 CONC=128 SECONDS=30 PORT=18490 server/load/updates.sh
set -euo pipefail

COUNT=${COUNT:-60000}
CONC=${CONC:-128}
SECONDS_MAX=${SECONDS:-30}
PORT=${PORT:-18490}
DATABASE=${DATABASE:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cd "$(dirname "$0")/../.."
cargo build --release -q -p cellproof-server --bin cellproof-server --example update_load
BIN="$CARGO_TARGET_DIR/release/cellproof-server"
DRIVER="$CARGO_TARGET_DIR/release/examples/update_load"

TMP=$(mktemp -d)
SERVER_PID=""
SCHEMA=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ -n "$SCHEMA" ]]; then
        psql -q "$DATABASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

ARGS=(--data "$TMP/data" --listen "127.0.0.1:$PORT" --demo)
STORE="SQLite (WAL, synchronous=FULL) in $TMP/data"
if [[ -n "$DATABASE" ]]; then
    SCHEMA="load_$(date +%s)_$$"
    psql -q "$DATABASE" -c "CREATE SCHEMA $SCHEMA" >/dev/null
    sep='?'
    [[ "$DATABASE" == *\?* ]] && sep='&'
    ARGS+=(--database "${DATABASE}${sep}options=-c%20search_path%3D${SCHEMA}")
    STORE="PostgreSQL $(psql -qtA "$DATABASE" -c 'SHOW server_version') (schema $SCHEMA, synchronous_commit=$(psql -qtA "$DATABASE" -c 'SHOW synchronous_commit'), fsync=$(psql -qtA "$DATABASE" -c 'SHOW fsync'))"
fi
RUST_LOG=warn "$BIN" "${ARGS[@]}" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "store: $STORE" >&2
SERVER_PID=$SERVER_PID "$DRIVER" "$TMP/data" "$COUNT" "$CONC" "$SECONDS_MAX"
