#!/usr/bin/env bash
# Go microbenchmarks with -benchmem for the data-plane packages (codec, ACLs
# and rules, balancers and pools, logging, the whole L7 pipeline), printed as
# a markdown table (ns/op, B/op, allocs/op). bench/run.sh includes it in
# bench/report.md as the `micro` scenario; run alone:
#
#   bench/micro.sh                     # all packages below
#   MICRO_BENCHTIME=2s bench/micro.sh ./internal/http1
#
# Environment: MICRO_BENCHTIME (500ms), MICRO_CPU (taskset CPU list; default
# none), MICRO_BENCH (-bench regexp, default .).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

PKGS=("$@")
[ "${#PKGS[@]}" -gt 0 ] || PKGS=(./internal/http1 ./internal/acl ./internal/upstream ./internal/app
	./internal/logging ./internal/counters ./internal/proxyproto ./internal/tlsconf ./internal/identity)
pin=()
[ -z "${MICRO_CPU:-}" ] || pin=(taskset -c "$MICRO_CPU")

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# -cpu 1: the proxies run on one core (GOMAXPROCS=1) in bench/run.sh too.
"${pin[@]}" go test -run '^$' -bench "${MICRO_BENCH:-.}" -benchmem -cpu 1 \
	-benchtime "${MICRO_BENCHTIME:-500ms}" -count 1 "${PKGS[@]}" >"$out" 2>&1 || {
	cat "$out" >&2
	exit 1
}

echo "Hot path: \`app.BenchmarkProxyKeepAlive\` is one keep-alive request through the whole pipeline; every row with"
echo "allocs/op > 0 is flagged. \`go test -bench . -benchmem -cpu 1 -benchtime ${MICRO_BENCHTIME:-500ms}\`, $(go version | awk '{ print $3 }')."
echo
echo "| package | benchmark | ns/op | B/op | allocs/op |"
echo "|---|---|---:|---:|---:|"
awk '
	/^pkg: / { pkg = $2; sub(/.*\/internal\//, "", pkg) }
	/^Benchmark/ {
		ns = b = a = "-"
		for (i = 3; i < NF; i++) {
			if ($(i + 1) == "ns/op") ns = $i
			if ($(i + 1) == "B/op") b = $i
			if ($(i + 1) == "allocs/op") a = $i
		}
		name = $1; sub(/-[0-9]+$/, "", name)
		flag = (a != "-" && a + 0 > 0) ? " (allocates)" : ""
		printf "| %s | %s | %s | %s | %s%s |\n", pkg, name, ns, b, a, flag
	}
' "$out"
