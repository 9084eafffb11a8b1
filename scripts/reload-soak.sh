#!/bin/bash
# reload-soak.sh [SECONDS]: issue 17's reload target, from outside. Gatehouse
# gets a SIGHUP every 100 ms for SECONDS (default 30) while wrk sends
# keep-alive requests (plain and TLS) and a new connection per request, and
# h2load sends HTTP/2 streams; every third SIGHUP replaces the certificate
# file first (written aside, renamed in). The backend is a frontend of the
# same process answering "http-request return", so it is reloaded too.
# Exits 1 if any request failed (wrk socket errors or non-2xx, h2load
# failed or errored streams) or a reload did not complete.
# Needs wrk, h2load (nghttp2-client) and openssl, which scripts/test.sh installs.
set -euo pipefail
secs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
newcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=site.example \
		-addext subjectAltName=DNS:site.example -keyout "$work/k.pem" -out "$work/c.pem" -days 2 2>/dev/null
	cat "$work/c.pem" "$work/k.pem" >"$work/rot.pem"
	mv "$work/rot.pem" "$work/certs/site.pem"
}

(cd "$root" && go build -o "$work/gatehouse" ./cmd/gatehouse)
mkdir "$work/certs"
newcert
plain=$(freeport) tls=$(freeport) origin=$(freeport)
cat >"$work/gh.cfg" <<EOF
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend plain
    bind 127.0.0.1:$plain
    default_backend origin
frontend secure
    bind 127.0.0.1:$tls ssl crt $work/certs alpn h2,http/1.1
    default_backend origin
backend origin
    server s1 127.0.0.1:$origin
frontend origin
    bind 127.0.0.1:$origin
    http-request return status 200 content-type text/plain string ok
EOF
"$work/gatehouse" -f "$work/gh.cfg" 2>"$work/gh.log" &
gh=$!
pids+=("$gh")
for _ in $(seq 100); do
	curl -fs -o /dev/null "http://127.0.0.1:$plain/" && break
	sleep 0.1
done

wrk -t1 -c20 -d"${secs}s" "http://127.0.0.1:$plain/" >"$work/wrk_plain.txt" 2>&1 &
pids+=($!)
wrk -t1 -c10 -d"${secs}s" "https://127.0.0.1:$tls/" >"$work/wrk_tls.txt" 2>&1 &
pids+=($!)
wrk -t1 -c4 -d"${secs}s" -H "Connection: close" "http://127.0.0.1:$plain/" >"$work/wrk_close.txt" 2>&1 &
pids+=($!)
h2load -c4 -m4 -D "$secs" "https://127.0.0.1:$tls/" >"$work/h2load.txt" 2>&1 &
pids+=($!)

end=$((SECONDS + secs))
n=0
while [ $SECONDS -lt $end ]; do
	n=$((n + 1))
	if [ $((n % 3)) -eq 0 ]; then newcert; fi
	kill -HUP "$gh"
	sleep 0.1
done
for p in "${pids[@]:1}"; do wait "$p" || true; done
sleep 1

fail=0
done_reloads=$(grep -c 'reload complete' "$work/gh.log" || true)
echo "SIGHUPs sent: $n, reloads completed: $done_reloads"
if grep -q 'reload failed' "$work/gh.log"; then
	echo "a reload failed:"; grep -B3 'reload failed' "$work/gh.log" | head -20; fail=1
fi
for f in wrk_plain wrk_tls wrk_close; do
	echo "== $f: $(grep 'requests in' "$work/$f.txt")"
	if grep -E 'Socket errors|Non-2xx' "$work/$f.txt"; then fail=1; fi
done
h2=$(grep '^requests:' "$work/h2load.txt" || echo "h2load printed no result")
echo "== h2load: $h2"
if ! [[ $h2 =~ " 0 failed, 0 errored" ]]; then fail=1; fi
exit $fail
