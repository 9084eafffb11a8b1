#!/usr/bin/env bash
# Identity throughput: Gatehouse (a process) with node's oidc-provider, a
# minimal upstream, requests with a session (cookie sessions, then sessions
# in a redis-server: "session-store", then cookie sessions over HTTP/2 with
# h2load), with a bearer JWT, and unauthenticated requests to a public path,
# as a markdown table. bench/run.sh includes it
# in bench/report.md as the `identity` scenario; run alone:
#
#   bench/identity.sh                  # writes the table to stdout
#   IDENTITY_BENCHTIME=40000x bench/identity.sh
#
# Needs node's oidc-provider (scripts/test.sh runs npm ci for it), h2load and
# redis-server. Environment: IDENTITY_BENCHTIME (20000x: requests per
# connection round = N/8), IDENTITY_CPU (taskset CPU list; default none).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

pin=()
[ -z "${IDENTITY_CPU:-}" ] || pin=(taskset -c "$IDENTITY_CPU")
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"${pin[@]}" go test -run '^$' -bench 'IdentityThroughput' -benchtime "${IDENTITY_BENCHTIME:-20000x}" -count 1 \
	./internal/integration/ >"$out" 2>&1 || {
	cat "$out" >&2
	exit 1
}

echo "Requests/s are the best of 5 interleaved rounds (unauth, session, bearer), 8 keep-alive connections (HTTP/2: h2load, 32 connections x 10 streams); target: session/unauth >= 0.85."
echo "Store mode: one session per connection in a redis-server on loopback; store round trips per session request = the server's"
echo "session reads (script calls) during the session rounds / requests (target: none for a session verified within the last"
echo "second on the replica, one otherwise); a session in the store: its sealed value and MEMORY USAGE of its hash."
echo "\`go test -run '^\$' -bench IdentityThroughput -benchtime ${IDENTITY_BENCHTIME:-20000x} ./internal/integration/\`, $(go version | awk '{ print $3 }')."
echo
echo "| sessions | unauth req/s | session req/s | session/unauth | bearer req/s | bearer/unauth | cookie bytes | store round trips/req | session in store (sealed / hash bytes) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '
	/^BenchmarkIdentityThroughput/ {
		delete m
		for (i = 3; i < NF; i++) m[$(i + 1)] = $i
		mode = ($1 ~ /Store/) ? "redis (session-store)" : ($1 ~ /H2/) ? "cookie, HTTP/2 (TLS, h2load 32x10)" : "cookie"
		met = (m["session/unauth"] + 0 >= 0.85) ? " (met)" : " (not met)"
		rt = ("store_rt/req" in m) ? sprintf("%.4f", m["store_rt/req"]) : "-"
		sz = ("sealed_bytes" in m) ? m["sealed_bytes"] " / " m["store_bytes"] : "-"
		printf "| %s | %d | %d | %.2f%s | %d | %.2f | %d | %s | %s |\n", mode, m["unauth_req/s"], m["session_req/s"], m["session/unauth"], met,
			m["bearer_req/s"], m["bearer/unauth"], m["cookie_bytes"], rt, sz
	}
' "$out"
