#!/usr/bin/env bash
# Short fuzz runs of every Fuzz* target under internal/ (the codecs and parsers).
# go test -fuzz takes one target at a time, so each is run on its own.
#
# Environment:
#   FUZZTIME   time per target (default 10s)
#   FUZZ_PKGS  space-separated package dirs to restrict to (default: all of internal/)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-10s}"
# shellcheck disable=SC2206
dirs=(${FUZZ_PKGS:-internal})

mapfile -t hits < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' "${dirs[@]}" | sort -u)
if [ "${#hits[@]}" -eq 0 ]; then
	echo "fuzz: no Fuzz targets found under ${dirs[*]}" >&2
	exit 0
fi

status=0
for h in "${hits[@]}"; do
	file="${h%%:*}"
	name="${h##*func }"
	pkg="./$(dirname "$file")"
	echo "==> fuzz $pkg $name ($FUZZTIME)" >&2
	if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"; then
		echo "FAILED: fuzz $pkg $name (a failing input is saved under $pkg/testdata/fuzz/$name; commit it)" >&2
		status=1
	fi
done
exit "$status"
