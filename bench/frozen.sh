#!/usr/bin/env bash
# A frozen backend side by side: HAProxy and Gatehouse run the same config
# (two nginx servers, roundrobin, checks, retries 3, option redispatch) at
# the same time under open-loop load; one nginx is SIGSTOPped (it still
# completes TCP handshakes into its backlog but never answers), and each
# proxy's latency after the freeze is printed (bench/tools/frozenload).
#
#   bench/frozen.sh                       # rate 100/s per proxy, 20 s frozen
#   RATE=200 FROZEN=30s CHECK="option httpchk GET /" bench/frozen.sh
#
# Environment: RATE (100) FROZEN (20s) WARM (5s) CONNECT (1s, timeout
# connect) SERVER (2s, timeout server) INTER (1s) CHECK ("": TCP checks;
# e.g. "option httpchk GET /") GATEHOUSE_BIN (default: go build) KEEP=1
# keeps the work directory (configs, both proxies' httplog lines).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RATE="${RATE:-100}" FROZEN="${FROZEN:-20s}" WARM="${WARM:-5s}"
CONNECT="${CONNECT:-1s}" SERVER="${SERVER:-2s}" INTER="${INTER:-1s}" CHECK="${CHECK:-}"
WORK="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "work directory: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
(cd "$ROOT" && go build -o "$WORK/frozenload" ./bench/tools/frozenload)
GH="${GATEHOUSE_BIN:-}"
if [ -z "$GH" ]; then (cd "$ROOT" && go build -o "$WORK/gatehouse" ./cmd/gatehouse); GH="$WORK/gatehouse"; fi

PA=$(free_port) PB=$(free_port) PH=$(free_port) PG=$(free_port)
for n in a b; do
	port=$PA; [ $n = b ] && port=$PB
	d="$WORK/$n"; mkdir -p "$d/tmp" "$d/logs"
	cat >"$d/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; location / { return 200 "ok $n\n"; } }
}
NGINX
	nginx -p "$d" -c "$d/nginx.conf" & pids+=($!)
done
cfg() {
	cat <<CFG
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect $CONNECT
    timeout client 30s
    timeout server $SERVER
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:$1
    default_backend be
backend be
    balance roundrobin
    $CHECK
    server a 127.0.0.1:$PA check inter $INTER
    server b 127.0.0.1:$PB check inter $INTER
CFG
}
cfg "$PH" >"$WORK/haproxy.cfg"
cfg "$PG" >"$WORK/gatehouse.cfg"
sleep 0.5
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & pids+=($!)
"$GH" -f "$WORK/gatehouse.cfg" >"$WORK/gatehouse.log" 2>&1 & pids+=($!)
sleep 2
# Freeze nginx a whole: its master and its worker.
stop="$(pgrep -d, -P "${pids[0]}"),${pids[0]}"
"$WORK/frozenload" -targets "haproxy=http://127.0.0.1:$PH/,gatehouse=http://127.0.0.1:$PG/" \
	-rate "$RATE" -warm "$WARM" -d "$FROZEN" -stop "$stop"
for p in haproxy gatehouse; do
	echo "$p: $(grep -h 'is DOWN' "$WORK/$p.log" | head -1)"
	# Retries per request (%rc's last field): how often the frozen server was retried.
	echo "$p retries: $(grep '^127' "$WORK/$p.log" | awk '{split($11,r,"/"); print r[5]}' | sort | uniq -c | tr -s ' \n' ' ')"
done
