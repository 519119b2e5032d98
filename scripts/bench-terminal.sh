#!/usr/bin/env bash
# make bench-terminal: S concurrent terminal sessions through the real gateway
# (/ws/terminal) to a real in-process agent (sim runtime, a PTY running
# `stty raw -echo; exec cat`), each pushing RATE bytes/s for DUR with a
# timestamped probe every 100 ms; next to a plain websocket proxy with the same
# hops (client -> ws proxy -> ws echo server, loopback) in the same run.
# Prints sessions held, echoed bytes/s, probe RTT p50/p99 for both, and the
# ratio gateway p99 / baseline p99.
#   S=100 RATE=40960 DUR=15s make bench-terminal
# The issue's target: S=500 RATE=40960 with the ratio <= 1.5.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export S=${S:-100} RATE=${RATE:-40960} DUR=${DUR:-15s}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
GPUAAS_BENCH_TERMINAL=1 go test -count=1 -run TestBenchTerminal -v -timeout 10m ./internal/terminal/termbench/
