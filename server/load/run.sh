#!/usr/bin/env bash
# Load benchmark of the Cellproof registry (docs/server.md, "Figures").
#
# Starts the release server with --demo on loopback, measures with wrk GETs of a status list
# and of the bundle, measures signed status updates per second with the update_load driver
# (pre-signed distinct requests), and serves the same status-list bytes from nginx on another
# loopback port for comparison.
#
#   server/load/run.sh            # from the repository root
#   DURATION=20s CONNS=64 THREADS=2 PORT=18480 NGINX_PORT=18481 UPDATES=3000 server/load/run.sh
set -euo pipefail

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18480}
NGINX_PORT=${NGINX_PORT:-18481}
UPDATES=${UPDATES:-3000}
UPDATE_CONNS=${UPDATE_CONNS:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

missing=()
for tool in wrk nginx curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "missing: ${missing[*]}; install with: apt-get install -y wrk nginx curl" >&2
    exit 2
fi

cd "$(dirname "$0")/../.."
cargo build --release -q -p cellproof-server --bin cellproof-server --example update_load
BIN="$CARGO_TARGET_DIR/release/cellproof-server"
DRIVER="$CARGO_TARGET_DIR/release/examples/update_load"

TMP=$(mktemp -d)
SERVER_PID=""
NGINX_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

RUST_LOG=warn "$BIN" --data "$TMP/data" --listen "127.0.0.1:$PORT" --demo >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
URL="http://127.0.0.1:$PORT"

mkdir -p "$TMP/www"
curl -fsS "$URL/v1/status/acme/3" >"$TMP/www/status.jwt"
curl -fsS "$URL/v1/bundle" >"$TMP/www/bundle.json"
# nginx workers run as an unprivileged user: they must be able to read the files.
chmod 755 "$TMP"
chmod -R a+rX "$TMP/www"
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location / {
            default_type application/vc+jwt;
            add_header Cache-Control "public, max-age=300";
        }
    }
}
NGINX
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
NGINX_PID=$!
sleep 0.5

rps() { awk '/Requests\/sec/ {print $2}'; }
bench() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$1")
    echo "$out" >&2
    if echo "$out" | grep -q "Non-2xx"; then
        echo "error responses from $1: the figure would be meaningless" >&2
        exit 1
    fi
    echo "$out" | rps
}

echo "== cellproof-server: GET status list" >&2
status_rps=$(bench "$URL/v1/status/acme/3")
echo "== cellproof-server: GET bundle" >&2
bundle_rps=$(bench "$URL/v1/bundle")
echo "== nginx: GET the same status-list bytes from a file" >&2
nginx_rps=$(bench "http://127.0.0.1:$NGINX_PORT/status.jwt")
echo "== signed updates ($UPDATES pre-signed, $UPDATE_CONNS connections)" >&2
updates=$("$DRIVER" "$TMP/data" "$UPDATES" "$UPDATE_CONNS")
echo "$updates" >&2

ratio=$(awk -v a="$status_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
cat <<REPORT

Cellproof registry load figures ($(nproc) cores, wrk -t$THREADS -c$CONNS -d$DURATION, loopback)
  status list bytes:               $(wc -c <"$TMP/www/status.jwt")
  bundle bytes:                    $(wc -c <"$TMP/www/bundle.json")
  GET status list (server):        $status_rps req/s
  GET bundle (server):             $bundle_rps req/s
  GET status list (nginx, file):   $nginx_rps req/s
  server / nginx:                  $ratio
  $updates
REPORT
