#!/usr/bin/env bash
# make bench-apps: the app proxy against the same app reached directly, in
# one run. C clients (default 50) each send GETs of a small JSON page for
# DUR (default 5s), ROUNDS times (default 3), first directly to the app
# server, then through /apps/{id}/{port}/ (the control plane, the agent's
# connection, a real in-process agent); then a BYTES download (default
# 1 GiB) each way. Prints req/s and p50/p99 per path, medians over rounds,
# and the ratios proxy/direct (the issue's target: p99 <= 2x at 50 clients).
#   C=50 DUR=10s ROUNDS=5 make bench-apps
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export C=${C:-50} DUR=${DUR:-5s} ROUNDS=${ROUNDS:-3} BYTES=${BYTES:-1073741824}
ulimit -n 65536 2>/dev/null || true
GPUAAS_BENCH_APPS=1 go test -count=1 -run TestBenchApps -v -timeout 15m ./internal/apps/appbench/ 2>&1 |
	grep -v '^time=\|level=\|^=== RUN\|^--- \|^PASS\|^ok '
