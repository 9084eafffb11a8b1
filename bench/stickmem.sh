#!/usr/bin/env bash
# Memory of a full stick table, side by side: HAProxy and Gatehouse each
# start on the same config (a `type ip` table with three counters,
# conn_cur, http_req_rate(10s), gpc0), VmRSS is read, N (1,000,000) distinct
# keys are created through the runtime API (`set table fe key <ip>
# data.gpc0 1` over one interactive connection, bench/tools/tablefill),
# `show table` must then say used:N, and VmRSS is read again after SETTLE.
# Prints each proxy's delta, bytes per entry and the ratio (issue 19:
# Gatehouse <= 2x HAProxy).
#
#   bench/stickmem.sh
#   N=200000 SETTLE=5 bench/stickmem.sh
#   GATEHOUSE_BIN=/path/to/gatehouse HAPROXY_BIN=/usr/sbin/haproxy bench/stickmem.sh
#
# Both run with one thread (HAProxy nbthread 1, Gatehouse GOMAXPROCS=1).
# Gatehouse's resident memory includes what its garbage collector has not
# returned yet (GOGC's headroom over the live heap): that is the memory the
# machine gives it, so it is what is compared.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N="${N:-1000000}"
SETTLE="${SETTLE:-3}"

die() { echo "stickmem: $*" >&2; exit 1; }
log() { echo "stickmem: $*" >&2; }

HAPROXY_BIN="${HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
[ -x "$HAPROXY_BIN" ] || die "haproxy not found"
WORK="$(mktemp -d /tmp/gatehouse-stickmem.XXXXXX)"
PID=""
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ "${KEEP:-0}" = 1 ] && log "work directory kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${GATEHOUSE_BIN:-}" ]; then
	log "building ./cmd/gatehouse"
	go build -o "$WORK/gatehouse" ./cmd/gatehouse || die "go build ./cmd/gatehouse failed"
	GATEHOUSE_BIN="$WORK/gatehouse"
fi
go build -o "$WORK/tablefill" ./bench/tools/tablefill || die "go build ./bench/tools/tablefill failed"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=$((20000 + RANDOM % 10000))
while port_open "$PORT"; do PORT=$((20000 + RANDOM % 10000)); done

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# measure LABEL BIN: prints "delta_kb before_kb after_kb seconds".
measure() {
	local label="$1" bin="$2" sock="$WORK/$1.sock" cfg="$WORK/$1.cfg" i
	cat >"$cfg" <<CFG
global
    nbthread 1
    stats socket $sock level admin

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend fe
    bind 127.0.0.1:$PORT
    stick-table type ip size $((N + N / 10)) expire 1h store conn_cur,http_req_rate(10s),gpc0
    http-request track-sc0 src
    default_backend be

backend be
    server s1 127.0.0.1:9
CFG
	"$HAPROXY_BIN" -c -f "$cfg" >"$WORK/$label.check" 2>&1 || die "haproxy -c rejects the config: $(cat "$WORK/$label.check")"
	env GOMAXPROCS=1 "$bin" -f "$cfg" >"$WORK/$label.log" 2>&1 &
	PID=$!
	for i in $(seq 1 600); do
		[ -S "$sock" ] && port_open "$PORT" && break
		kill -0 "$PID" 2>/dev/null || die "$label exited at start: $(cat "$WORK/$label.log")"
		sleep 0.05
	done
	[ -S "$sock" ] || die "$label: no runtime API socket after 30 s"
	sleep "$SETTLE"
	local before after t0 t1 used
	before="$(rss_kb "$PID")"
	t0="$(date +%s.%N)"
	"$WORK/tablefill" -sock "$sock" -table fe -n "$N" >"$WORK/$label.fill" || die "$label: filling the table failed: $(cat "$WORK/$label.fill")"
	t1="$(date +%s.%N)"
	# The header line: "# table: fe, type: ip, size:1100000, used:1000000"
	used="$(printf 'show table\n' | "$WORK/sockcat" "$sock" | awk -F'used:' '/table: fe,/ { print $2 + 0 }')"
	[ "$used" = "$N" ] || die "$label: show table says used:$used after $N set table commands"
	sleep "$SETTLE"
	after="$(rss_kb "$PID")"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=""
	log "$(printf '%-9s VmRSS %8d kB -> %8d kB (+%d kB) for %d entries; filled in %.1f s' "$label" "$before" "$after" "$((after - before))" "$N" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
	echo "$((after - before)) $before $after"
}

# sockcat SOCK: stdin to a unix socket, the answer to stdout (no socat needed).
cat >"$WORK/sockcat.go" <<'GO'
package main

import (
	"io"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	io.Copy(c, os.Stdin)
	io.Copy(os.Stdout, c)
}
GO
go build -o "$WORK/sockcat" "$WORK/sockcat.go" || die "cannot build sockcat"

read -r hd hb ha <<<"$(measure haproxy "$HAPROXY_BIN")"
read -r gd gb ga <<<"$(measure gatehouse "$GATEHOUSE_BIN")"
awk -v n="$N" -v hd="$hd" -v gd="$gd" -v hb="$hb" -v ha="$ha" -v gb="$gb" -v ga="$ga" 'BEGIN {
	r = (hd > 0) ? gd / hd : 0
	printf "| proxy | VmRSS before kB | VmRSS after kB | delta kB | bytes/entry |\n|---|---:|---:|---:|---:|\n"
	printf "| haproxy | %d | %d | %d | %.0f |\n", hb, ha, hd, hd * 1024 / n
	printf "| gatehouse | %d | %d | %d | %.0f |\n", gb, ga, gd, gd * 1024 / n
	printf "\n%d entries (type ip; conn_cur, http_req_rate(10s), gpc0): gatehouse/haproxy = %.2f (target <= 2.0: %s)\n", n, r, (r <= 2.0 && r > 0) ? "met" : "not met"
}'
