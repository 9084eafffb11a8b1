#!/usr/bin/env bash
# Two proxy binaries on one core at once (profile.md, "Measuring a 1% change
# on this VM"): both pinned to PROXY_CPU, one wrk (h2load for h2c) on each,
# nginx and the two load generators on the other CPUs. The scheduler gives each proxy half of the core,
# so the ratio of their request rates is the inverse ratio of their CPU cost
# per request, and the machine's drift hits both alike.
#
#   bench/ab.sh A_BIN B_BIN [plain|ratelimit|compress|large|h2c|h2c_1x100|h2c_256x1|h2up|h2c_h2up]
#   bench/ab.sh /tmp/gh-old /tmp/gh-new h2c_1x100   # h2load, 'bind ... proto h2'
#   ROUNDS=7 DURATION=5s bench/ab.sh /tmp/gh-old /tmp/gh-new plain
#   PROFILE_DIR=/tmp/p bench/ab.sh ...   # CPU profiles a.prof, b.prof (Gatehouse
#                                        # -cpuprofile) and the requests each served
#
# Prints each round's B/A ratio and their median. Either binary may be
# haproxy (both take -f CONFIG; the config says nbthread 1). B_SCN gives B
# another scenario: B_SCN=ratelimit bench/ab.sh BIN BIN plain is what the
# rate limit costs one build, both measured at once. h2up (wrk) and h2c_h2up
# (h2load, 32 x 10) send the requests on to nginx over HTTP/2 with prior
# knowledge (server ... proto h2).
set -euo pipefail
[ $# -ge 2 ] || {
	echo "usage: $0 A_BIN B_BIN [plain|ratelimit|compress|large|h2c|h2c_1x100|h2c_256x1|h2up|h2c_h2up]" >&2
	exit 2
}
A="$1" B="$2" SCN="${3:-plain}"
B_SCN="${B_SCN:-$SCN}"
ROUNDS="${ROUNDS:-5}" DURATION="${DURATION:-5s}" CONNS="${CONNS:-50}"
PROXY_CPU="${PROXY_CPU:-0}" LOAD_CPUS="${LOAD_CPUS:-1}"
WORK="$(mktemp -d /tmp/gatehouse-ab.XXXXXX)"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
die() {
	echo "ab: $*" >&2
	exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 20000))
		port_open "$p" || {
			echo "$p"
			return
		}
	done
}
wait_port() {
	local i
	for i in $(seq 1 200); do
		port_open "$1" && return 0
		kill -0 "$2" 2>/dev/null || die "$3 exited (see $WORK)"
		sleep 0.05
	done
	die "$3 not listening on $1"
}

BACK="$(free_port)"
BACK_H2C="$(free_port)"
while [ "$BACK_H2C" = "$BACK" ]; do BACK_H2C="$(free_port)"; done
mkdir -p "$WORK/nginx/tmp" "$WORK/nginx/bulk"
# compress: bench/run.sh's page, a 64 KiB HTML table whose rows vary.
awk 'BEGIN { print "<html><body><table>"; for (i = 1; i <= 900; i++) printf "<tr><td class=\"id\">%d</td><td>item-%08x</td><td>%s</td><td>%d.%02d</td></tr>\n", i, (i * 2654435761) % 4294967296, substr("alpha bravo charlie delta echo foxtrot golf hotel india juliet", (i * 7) % 40, 18), i % 97, (i * 13) % 100; print "</table></body></html>" }' >"$WORK/nginx/page.full"
head -c 65536 "$WORK/nginx/page.full" >"$WORK/nginx/bulk/page.html"
head -c 1048576 /dev/zero | tr '\0' x >"$WORK/nginx/bulk/bulk.bin" # large: 1 MiB
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
cat >"$WORK/nginx/nginx.conf" <<NGINX
$user
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$BACK default_server;
        location / { default_type text/plain; return 200 "hello\n"; }
        location = /page.html { root $WORK/nginx/bulk; default_type text/html; }
        location = /bulk.bin { root $WORK/nginx/bulk; }
    }
    server {
        listen 127.0.0.1:$BACK_H2C http2;
        location / { default_type text/plain; return 200 "hello\n"; }
    }
}
NGINX
taskset -c "$LOAD_CPUS" "$(command -v nginx)" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" -g 'daemon off;' >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)
wait_port "$BACK" "$!" nginx
wait_port "$BACK_H2C" "${PIDS[0]}" nginx

# cfg PORT SCENARIO: the scenario's config, as bench/run.sh writes it.
cfg() {
	local extra=""
	if [ "$2" = compress ]; then
		extra="    compression algo gzip
    compression type text/html text/plain"
	elif [ "$2" = ratelimit ]; then
		extra="    stick-table type ip size 100k expire 30s store http_req_rate(10s),conn_cur,gpc0
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }"
	fi
	local proto="" server="server s1 127.0.0.1:$BACK"
	case "$2" in h2c*) proto=" proto h2" ;; esac
	case "$2" in *h2up) server="server s1 127.0.0.1:$BACK_H2C proto h2" ;; esac
	cat <<CFG
global
    nbthread 1
    maxconn 8000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend fe
    bind 127.0.0.1:$1$proto
$extra
    default_backend be

backend be
    $server
CFG
}

PA="$(free_port)"
PB="$(free_port)"
while [ "$PB" = "$PA" ]; do PB="$(free_port)"; done
cfg "$PA" "$SCN" >"$WORK/a.cfg"
cfg "$PB" "$B_SCN" >"$WORK/b.cfg"
PA_ARGS=() PB_ARGS=()
if [ -n "${PROFILE_DIR:-}" ]; then
	mkdir -p "$PROFILE_DIR"
	PA_ARGS=(-cpuprofile "$PROFILE_DIR/a.prof")
	PB_ARGS=(-cpuprofile "$PROFILE_DIR/b.prof")
fi
env GOMAXPROCS=1 taskset -c "$PROXY_CPU" "$A" -f "$WORK/a.cfg" "${PA_ARGS[@]}" >"$WORK/a.log" 2>&1 &
PIDS+=($!)
wait_port "$PA" "$!" A
env GOMAXPROCS=1 taskset -c "$PROXY_CPU" "$B" -f "$WORK/b.cfg" "${PB_ARGS[@]}" >"$WORK/b.log" 2>&1 &
PIDS+=($!)
wait_port "$PB" "$!" B

URL_PATH=/ WRK_HDR=()
case "$SCN" in
compress) URL_PATH=/page.html WRK_HDR=(-H 'Accept-Encoding: gzip') ;;
large) URL_PATH=/bulk.bin ;;
esac
# The h2c scenarios load with h2load (32 connections x 10 streams, or
# their shape), the others with wrk.
H2SHAPE=""
case "$SCN" in
h2c | h2c_h2up) H2SHAPE="-c32 -m10" ;;
h2c_1x100) H2SHAPE="-c1 -m100" ;;
h2c_256x1) H2SHAPE="-c256 -m1" ;;
esac
case "$B_SCN" in h2c*) [ -n "$H2SHAPE" ] || die "B_SCN=$B_SCN needs an h2c scenario for A too" ;; esac
# load PORT DURATION OUT: one load generator run.
load() {
	if [ -n "$H2SHAPE" ]; then
		# shellcheck disable=SC2086
		taskset -c "$LOAD_CPUS" h2load $H2SHAPE -D"${2%s}" "http://127.0.0.1:$1$URL_PATH" >"$3" 2>&1
	else
		taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d"$2" "${WRK_HDR[@]}" "http://127.0.0.1:$1$URL_PATH" >"$3" 2>&1
	fi
}
rps() {
	awk '/^Requests\/sec:/ { print $2 }
		/^finished in / { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^req\/s/) print $i + 0 }' "$1"
}
# requests FILE...: requests served in these runs.
requests() {
	awk '/requests in/ { n += $1 }
		/^requests: / { for (i = 2; i < NF; i++) if ($(i + 1) ~ /^succeeded/) n += $i } END { print n + 0 }' "$@"
}
# failed FILE: the run's non-2xx (wrk) or failed (h2load) requests, if any.
failed() {
	grep -q 'Non-2xx' "$1" && return 0
	awk '/^requests: / { for (i = 2; i < NF; i++) if ($(i + 1) ~ /^failed/ && $i > 0) f = 1 } END { exit !f }' "$1"
}
# Warm both up together.
load "$PA" 2s "$WORK/wa.0" &
wa=$!
load "$PB" 2s "$WORK/wb.0" &
wb=$!
wait "$wa" "$wb"
cpu() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
PIDA="${PIDS[1]}" PIDB="${PIDS[2]}"
ca0="$(cpu "$PIDA")" cb0="$(cpu "$PIDB")"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
	load "$PA" "$DURATION" "$WORK/wa.$r" &
	wa=$!
	load "$PB" "$DURATION" "$WORK/wb.$r" &
	wb=$!
	wait "$wa" "$wb"
	a="$(rps "$WORK/wa.$r")" b="$(rps "$WORK/wb.$r")"
	[ -n "$a" ] && [ -n "$b" ] || die "load generator output: $(cat "$WORK/wa.$r" "$WORK/wb.$r")"
	if failed "$WORK/wa.$r" || failed "$WORK/wb.$r"; then die "failed requests: $(cat "$WORK/wa.$r" "$WORK/wb.$r")"; fi
	ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
	ratios+=("$ratio")
	printf 'round %d  A %9.0f  B %9.0f  B/A %s\n' "$r" "$a" "$b" "$ratio"
done
ca1="$(cpu "$PIDA")" cb1="$(cpu "$PIDB")"
# CPU per request over the measured rounds: user and system time (clock
# ticks, so only long runs say much).
per_req() {
	local n
	n="$(requests "$WORK"/w"$1".[1-9]*)"
	echo "$2 $3 $n" | awk -v hz="$(getconf CLK_TCK)" -v who="$1" '{ printf "%s: user %.2f us/req, system %.2f us/req\n", toupper(who), ($3 - $1) / hz * 1e6 / $5, ($4 - $2) / hz * 1e6 / $5 }'
}
per_req a "$ca0" "$ca1"
per_req b "$cb0" "$cb1"
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median B/A %.3f (%s .. %s, %d rounds, %s)\n", m, v[1], v[NR], NR, "'"$SCN / $B_SCN"'" }'
if [ -n "${PROFILE_DIR:-}" ]; then
	# The profiles are written as the proxies exit.
	for i in 1 2; do kill "${PIDS[$i]}" 2>/dev/null || true; wait "${PIDS[$i]}" 2>/dev/null || true; done
	requests "$WORK"/wa.* >"$PROFILE_DIR/a.requests"
	requests "$WORK"/wb.* >"$PROFILE_DIR/b.requests"
	echo "profiles: $PROFILE_DIR/a.prof ($(cat "$PROFILE_DIR/a.requests") requests), $PROFILE_DIR/b.prof ($(cat "$PROFILE_DIR/b.requests"))"
fi
echo "uptime: $(uptime)"
