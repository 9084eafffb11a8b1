#!/usr/bin/env bash
# The project's test command (`make test`, .ci/run).
# Installs what the integration tests need (Debian packages, a hosts entry), then
# runs go vet and go test on every package, and the race detector on RACE_PKGS.
# Exits non-zero on any failure.
#
# Environment:
#   SKIP_INSTALL=1   do not touch packages or /etc/hosts (machine already prepared)
#   GOTEST_FLAGS     extra flags for go test (e.g. "-run TestGateway -v")
#   PREPARE_ONLY=1   install and prepare, then exit without running anything
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# Packages whose code is concurrent enough to be worth a -race run.
RACE_PKGS=(
	./internal/upstream/
	./internal/sock/
	./internal/tlsconf/
	./internal/testenv/
	./internal/app/
	./internal/l4/
	./internal/identity/
	./internal/health/
	./internal/h2/
)

# The seed configs name their server by host name; tests map it to loopback.
TEST_HOSTS=(helloworld.zufardhiyaulhaq.tech)

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
	ensure_packages haproxy nginx wrk nghttp2-client ca-certificates openssl prometheus chromium dnsmasq-base redis-server redis-sentinel buildah busybox-static systemd pebble bind9 caddy
	stop_system_services
	for h in "${TEST_HOSTS[@]}"; do
		ensure_hosts_entry "$h"
	done
fi

# node's oidc-provider for the identity tests (node and npm are on the machine),
# pinned by its package-lock.json.
OP_DIR=internal/integration/testdata/oidc-provider
if [ ! -d "$OP_DIR/node_modules" ]; then
	npm ci --prefix "$OP_DIR" --no-audit --no-fund >&2
fi
[ -x "$(go env GOPATH)/bin/h2spec" ] || go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible >&2 # internal/h2 TestH2Spec; v2.2.1 is the newest the module proxy serves

if [ "${PREPARE_ONLY:-0}" = 1 ]; then
	exit 0
fi

status=0
step() {
	echo "==> $*" >&2
	if ! "$@"; then
		echo "FAILED: $*" >&2
		status=1
	fi
}

# shellcheck disable=SC2086
step go vet ./...
# shellcheck disable=SC2086
# The integration package runs real servers for minutes on a busy machine:
# past go test's 10-minute default there, not hung.
step go test -count=1 -timeout 30m ${GOTEST_FLAGS:-} ./...

race=()
for p in "${RACE_PKGS[@]}"; do
	# A package listed here but not written yet is not a failure of the tree.
	if [ -d "$p" ] && compgen -G "$p/*.go" >/dev/null; then
		race+=("$p")
	else
		echo "note: race package $p does not exist yet" >&2
	fi
done
if [ "${#race[@]}" -gt 0 ]; then
	# shellcheck disable=SC2086
	step go test -count=1 -race ${GOTEST_FLAGS:-} "${race[@]}"
fi

if [ "$status" -ne 0 ]; then
	echo "scripts/test.sh: FAILED" >&2
else
	echo "scripts/test.sh: ok" >&2
fi
exit "$status"
