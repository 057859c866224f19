#!/usr/bin/env bash
# Published GETs of the registry beside nginx serving the same bytes from files, in one run
# (docs/BENCHMARKS.md, "Published GETs beside nginx").
#
# Starts the release server with --demo on loopback, downloads what it publishes (a status
# list, a trust list, the bundle, the compact status body), writes those exact bytes and
# gzip -9 copies to a directory nginx serves (gzip_static, the same validators off), and runs
# wrk against both with the same threads, connections and duration, alternating server and
# nginx ROUNDS times per route. Prints req/s of each and the ratio (best round of each), and
# the CPU time each spent per request (lowest round; from /proc, server process against
# nginx's master and workers): req/s depends on what else shares the cores, CPU per request
# much less.
#
#   scripts/bench-get.sh                      # from the repository root
#   DURATION=10s CONNS=64 THREADS=2 ROUNDS=2 GZIP=1 scripts/bench-get.sh
#   BIN=path/to/cellproof-server scripts/bench-get.sh   # a binary already built
#
# Needs wrk, nginx and curl (apt-get install -y wrk nginx curl).
set -euo pipefail

DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
GZIP=${GZIP:-0}
PORT=${PORT:-18580}
NGINX_PORT=${NGINX_PORT:-18581}
WORKERS=${WORKERS:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

for tool in wrk nginx curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool (apt-get install -y wrk nginx curl)" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
BIN=${BIN:-}
if [[ -z "$BIN" ]]; then
    cargo build --release -q -p cellproof-server --bin cellproof-server
    BIN="$CARGO_TARGET_DIR/release/cellproof-server"
fi

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

[[ -n "$WORKERS" ]] && export CELLPROOF_WORKERS="$WORKERS"
RUST_LOG=warn "$BIN" --data "$TMP/data" --listen "127.0.0.1:$PORT" --demo >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

ROUTES=(
    "/v1/status/acme/3|status.jwt|application/vc+jwt"
    "/v1/trust-list/catena-x|trust.jwt|application/trust-list+jwt"
    "/v1/bundle|bundle.json|application/json"
    "/v1/status-compact|compact.bin|application/vnd.cellproof.status-compact"
)
mkdir -p "$TMP/www"
for r in "${ROUTES[@]}"; do
    IFS='|' read -r path file _ <<<"$r"
    curl -fsS "$URL$path" -o "$TMP/www/$file"
    gzip -9 -k -n "$TMP/www/$file"
done
chmod 755 "$TMP"
chmod -R a+rX "$TMP/www"
mkdir -p "$TMP/nginx"
types=""
for r in "${ROUTES[@]}"; do
    IFS='|' read -r _ file ct <<<"$r"
    types+="location = /$file { default_type $ct; }"$'\n'
done
cat >"$TMP/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    # nginx as tuned for static files in production: open descriptors and stat results kept,
    # not an open() and fstat() per request.
    open_file_cache max=64 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    keepalive_requests 1000000;
    gzip_static on;
    etag on;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        add_header Cache-Control "public, max-age=300";
        $types
    }
}
NGINX
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
NGINX_PID=$!
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$NGINX_PORT/status.jwt" >/dev/null 2>&1 && break
    kill -0 "$NGINX_PID" 2>/dev/null || { echo "nginx did not start: $(cat "$TMP/nginx/error.log")" >&2; exit 1; }
    sleep 0.1
done

hdr=()
[[ "$GZIP" == 1 ]] && hdr=(-H "Accept-Encoding: gzip")
# CPU time (clock ticks) of processes, summed: the server, or nginx's master and workers.
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{t += $1} END {print t + 0}'; }
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }
HZ=$(getconf CLK_TCK)
# Prints "req/s cpu-us-per-request" for one wrk run against $1, whose CPU is that of the
# processes $2... (CPU per request does not depend on what else shares the cores; req/s does).
bench() {
    local out url=$1 before after total
    shift
    before=$(ticks "$@")
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" "$url")
    after=$(ticks "$@")
    if echo "$out" | grep -q "Non-2xx"; then
        echo "$out" >&2
        echo "error responses from $url: the figure would be meaningless" >&2
        exit 1
    fi
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
        "$(awk -v t=$((after - before)) -v n="$total" -v hz="$HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo
echo "Published GETs, $(nproc) cores, wrk -t$THREADS -c$CONNS -d$DURATION, loopback, best of $ROUNDS alternating rounds$([[ $GZIP == 1 ]] && echo ', Accept-Encoding: gzip')"
printf '%-26s %9s %12s %12s %7s %10s %10s\n' route bytes server nginx ratio srv-cpu-us ngx-cpu-us
for r in "${ROUTES[@]}"; do
    IFS='|' read -r path file _ <<<"$r"
    s=(); n=(); sc=(); nc=()
    for _ in $(seq "$ROUNDS"); do
        read -r rps cpu < <(bench "$URL$path" "$SERVER_PID")
        s+=("$rps"); sc+=("$cpu")
        read -r rps cpu < <(bench "http://127.0.0.1:$NGINX_PORT/$file" $(nginx_pids))
        n+=("$rps"); nc+=("$cpu")
    done
    sb=$(best "${s[@]}"); nb=$(best "${n[@]}")
    scb=$(printf '%s\n' "${sc[@]}" | sort -g | head -1); ncb=$(printf '%s\n' "${nc[@]}" | sort -g | head -1)
    size=$(wc -c <"$TMP/www/$file")
    [[ "$GZIP" == 1 ]] && size="$(wc -c <"$TMP/www/$file.gz")gz"
    printf '%-26s %9s %12s %12s %7s %10s %10s\n' "$path" "$size" "$sb" "$nb" \
        "$(awk -v a="$sb" -v b="$nb" 'BEGIN { printf "%.2f", a / b }')" "$scb" "$ncb"
    echo "  rounds: server ${s[*]} (cpu us/req ${sc[*]}); nginx ${n[*]} (cpu us/req ${nc[*]})" >&2
done
echo "server RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$SERVER_PID/status)"
