#!/usr/bin/env bash
# make bench-agents: N simulated agents, each with its own real websocket+yamux
# connection, heartbeating at INTERVAL against an in-process control plane for
# SOAK; prints heartbeat handling p50/p99 (next to SELECT 1 and a one-row
# write transaction through the same pgx pool), CPU and RSS, write coalescing,
# false offline marks, the time to detect a killed agent, and the GPU
# telemetry written (sample rows/s, COPY batches) next to PostgreSQL's CPU.
# Issue 14's telemetry target is N=1000 GPUS=8 INTERVAL=10s.
#   N=1000 INTERVAL=10s SOAK=120s GPUS=2 make bench-agents
# The issue's target (5,000 agents at 10 s, p99 ≤ 50 ms, detection ≤ 40 s,
# no false offline marks over 10 minutes) is N=5000 SOAK=600s.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
N=${N:-1000}
INTERVAL=${INTERVAL:-10s}
SOAK=${SOAK:-120s}
GPUS=${GPUS:-2}

# Each agent holds a connection and the server its other end: two descriptors
# per agent in this one process, plus the database pool.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((2 * N + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	echo "bench-agents: open-file limit $(ulimit -n) is below the $need that N=$N needs; raise it or lower N" >&2
	exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "bench-agents: N=$N INTERVAL=$INTERVAL SOAK=$SOAK GPUS=$GPUS (open files $(ulimit -n))" >&2
status=0
GPUAAS_BENCH_AGENTS=1 GPUAAS_BENCH_N=$N GPUAAS_BENCH_INTERVAL=$INTERVAL GPUAAS_BENCH_SOAK=$SOAK GPUAAS_BENCH_GPUS=$GPUS \
	go test -count=1 -run '^TestBenchAgents$' -v -timeout 15m ./internal/agent/agentbench/ 2>&1 | tee "$out" >&2 || status=$?
echo
if grep -q '^=== bench-agents results ===' "$out"; then
	sed -n '/^=== bench-agents results ===/,/^=== bench-agents end ===/p' "$out" | sed '1d;$d'
else
	echo "bench-agents: no results (go test exited $status); see the output above" >&2
	exit 1
fi
exit "$status"
