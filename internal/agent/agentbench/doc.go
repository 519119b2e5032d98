// Package agentbench holds `make bench-agents`: N real agents, each with its
// own websocket+yamux connection, against an in-process control plane. The
// benchmark is TestBenchAgents, which runs only with GPUAAS_BENCH_AGENTS=1
// (scripts/bench-agents.sh sets it); a plain `go test ./...` skips it.
package agentbench
