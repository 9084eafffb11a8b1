#!/usr/bin/env bash
# The whole suite, RUNS times in a row (default 3), beside a CPU hog
# (stress-ng --cpu 2, Debian's stress-ng): the suite must hold on a slow,
# busy machine, and this is how that is checked. Exits non-zero on the first
# failing run; each run's output is kept in $OUT_DIR/run-N.log.
#
# Environment:
#   RUNS=3           how many runs in a row
#   HOG="--cpu 2"    stress-ng's arguments
#   OUT_DIR          where the logs go (default: a new temporary directory)
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

runs=${RUNS:-3}
out=${OUT_DIR:-$(mktemp -d -t gatehouse-busy.XXXXXX)}
mkdir -p "$out"

ensure_packages stress-ng
# Packages, node modules and tools are installed before the hog starts; the runs reuse them.
PREPARE_ONLY=1 scripts/test.sh

# shellcheck disable=SC2086
stress-ng ${HOG:---cpu 2} --timeout 0 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT

for i in $(seq 1 "$runs"); do
	start=$(date +%s)
	if SKIP_INSTALL=1 scripts/test.sh >"$out/run-$i.log" 2>&1; then
		echo "test-busy: run $i of $runs beside stress-ng ${HOG:---cpu 2}: ok in $(($(date +%s) - start)) s" >&2
	else
		echo "test-busy: run $i of $runs FAILED after $(($(date +%s) - start)) s; see $out/run-$i.log:" >&2
		grep -E '^(--- FAIL|FAIL|panic:)' "$out/run-$i.log" | head -40 >&2 || true
		exit 1
	fi
done
echo "test-busy: $runs runs in a row passed beside the hog; logs in $out" >&2
