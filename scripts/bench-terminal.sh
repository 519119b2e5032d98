#!/usr/bin/env bash
# make bench-terminal: S concurrent terminal sessions on each of three paths,
# driven in ROUNDS interleaved rounds (so a load spike on a shared machine
# hits all of them alike), each session pushing RATE bytes/s with a
# timestamped probe every 100 ms:
#   ws-echo   client -> plain ws proxy -> ws echo server (no PTY), for reference
#   baseline  client -> plain ws proxy -> ws server -> PTY running `stty raw -echo; exec cat`
#   gateway   client -> /ws/terminal -> the agent's connection (yamux) -> a real
#             in-process agent (sim runtime) -> the same PTY command
# Prints sessions held, echoed bytes/s, the median over rounds of probe RTT
# p50/p99 per path, and the median of the per-round ratios gateway p99 /
# baseline p99 (and / ws-echo p99).
#   S=500 RATE=40960 DUR=20s ROUNDS=5 make bench-terminal
# The issue's target: S=500 RATE=40960 with the ratio <= 1.5.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export S=${S:-100} RATE=${RATE:-40960} DUR=${DUR:-15s} ROUNDS=${ROUNDS:-5}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
GPUAAS_BENCH_TERMINAL=1 go test -count=1 -run TestBenchTerminal -v -timeout 10m ./internal/terminal/termbench/
