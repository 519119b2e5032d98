#!/usr/bin/env bash
# make soak: a real `gpuaas server` (sim runtime, fresh database, own NATS
# namespace) under a steady mixed load for DURATION; prints heap, goroutines,
# open descriptors and PostgreSQL connections at intervals, start vs end, and
# a verdict against the bounds in internal/soak (and docs/operations.md).
#   DURATION=10m RATE=20 make soak
# The same test runs for about a minute in plain `go test ./...`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
DURATION=${DURATION:-10m}
RATE=${RATE:-20}

# go test's own deadline: the soak plus room for the build, setup and
# cleanup. Accepts what Go's durations do for h, m and s (e.g. 1h30m, 90s).
secs=$(awk -v d="$DURATION" 'BEGIN {
	t = 0; n = ""
	for (i = 1; i <= length(d); i++) {
		c = substr(d, i, 1)
		if (c ~ /[0-9.]/) { n = n c; continue }
		if (c == "h") t += n * 3600; else if (c == "m") t += n * 60; else if (c == "s") t += n; else { print -1; exit }
		n = ""
	}
	if (n != "") { print -1; exit }
	printf "%d", t
}')
if [ "$secs" -lt 30 ]; then
	echo "soak: DURATION=$DURATION: want a duration like 10m, 90s or 1h of at least 30s" >&2
	exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "soak: DURATION=$DURATION RATE=$RATE ops/s" >&2
status=0
GPUAAS_SOAK_DURATION=$DURATION GPUAAS_SOAK_RATE=$RATE \
	go test -count=1 -run '^TestSoak$' -v -timeout "$((secs + 900))s" ./internal/soak/ 2>&1 | tee "$out" >&2 || status=$?
echo
if grep -q '=== soak results ===' "$out"; then
	sed -n '/=== soak results ===/,/=== soak end ===/p' "$out" | sed '1d;$d' | sed 's/^        //'
else
	echo "soak: no results (go test exited $status); see the output above" >&2
	exit 1
fi
exit "$status"
